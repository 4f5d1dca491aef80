import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { startApi, type BuildAppOptions, type CheckedAnswer } from '@pushcast/api';
import { deleteKeysWithPrefix } from '@pushcast/redis-state';
import { loadConfig } from '@pushcast/config';
import { createLogger } from '@pushcast/runtime';
import { createDb, ensureDatabase, migrate, type Db } from '@pushcast/store';
import { freshDatabaseUrl } from './database.ts';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestServer {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** `${url}/api/v1`: what the official clients take as `baseUrl`. */
  readonly apiUrl: string;
  readonly adminToken: string;
  readonly db: Db;
  readonly queuePrefix: string;
  readonly databaseUrl: string;
  /** Every answer, held to the OpenAPI document the API serves; close() fails if one had problems. */
  readonly answers: readonly CheckedAnswer[];
  close(): Promise<void>;
}

/**
 * The real API on a free port, over a fresh database and its own Redis key prefix. It has a
 * PUSHCAST_SECRET_KEY of its own unless `env` gives one (`''` = none: a deployment without a key).
 * Every answer is held to the OpenAPI document the API serves (the contract check): close() fails
 * the test file when one was not as documented, so every HTTP test keeps the document true.
 */
export async function startTestServer(
  label: string,
  env: Record<string, string> = {},
  options: Pick<BuildAppOptions, 'onRoute'> = {},
): Promise<TestServer> {
  const database = freshDatabaseUrl(label);
  const adminToken = `admin-${randomBytes(16).toString('hex')}`;
  const queuePrefix = `pushcast-test-${label}-${randomBytes(4).toString('hex')}`;
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PUSHCAST_ADMIN_TOKEN: adminToken,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    PUSHCAST_QUEUE_PREFIX: queuePrefix,
    PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, 5);
  await migrate(db);
  const answers: CheckedAnswer[] = [];
  const api = await startApi({ config, db, logger: createLogger(config.logLevel, 'test') }, { ...options, checkAnswers: (a) => answers.push(a) });
  return {
    url: api.url,
    apiUrl: `${api.url}/api/v1`,
    adminToken,
    db,
    queuePrefix,
    databaseUrl: database.url,
    answers,
    async close() {
      await api.close();
      await db.end();
      await database.drop();
      await deleteRedisPrefix(queuePrefix);
      const broken = answers.flatMap((a) => a.problems.map((problem) => `${a.method} ${a.route} ${a.status}: ${problem}`));
      if (broken.length > 0) {
        throw new Error(`answers the OpenAPI document does not describe (apps/api/src/openapi):\n${[...new Set(broken)].join('\n')}`);
      }
    },
  };
}

/** Removes what a test left in the shared Redis under its own prefix. */
export async function deleteRedisPrefix(prefix: string): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL);
  try {
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
