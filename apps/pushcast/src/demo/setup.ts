import { once } from 'node:events';
import type { LocalPushService } from '@pushcast/local-push-service';
import { createRedis, deleteKeysWithPrefix } from '@pushcast/queues';
import { createDb, ensureDatabase, insertWebSubscriptionsBulk, migrate, quoteIdentifier, type Db } from '@pushcast/store';

export const DEMO_DATABASE = 'pushcast_demo';
export const DEMO_QUEUE_PREFIX = 'pushcast-demo';

/** The same server as DATABASE_URL, another database: the demo must never touch a real installation's data. */
export function demoDatabaseUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${DEMO_DATABASE}`;
  return url.toString();
}

/** Drops and recreates the demo database, so every run starts from the same empty state. */
export async function resetDemoDatabase(demoUrl: string): Promise<void> {
  const adminUrl = new URL(demoUrl);
  adminUrl.pathname = '/postgres';
  const admin = createDb(adminUrl.toString(), 1);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(DEMO_DATABASE)} WITH (FORCE)`);
  } catch (error) {
    // A refused connection's own message names no database server; a newcomer needs to know which one.
    throw new Error(`PostgreSQL at ${redactUrl(adminUrl.toString())}: ${describe(error)}`, { cause: error });
  } finally {
    await admin.end();
  }
  await ensureDatabase(demoUrl);
  const db = createDb(demoUrl, 1);
  try {
    await migrate(db);
  } finally {
    await db.end();
  }
}

/** Removes whatever an earlier (perhaps interrupted) run left queued under the demo's prefix. */
export async function clearQueuePrefix(redisUrl: string, prefix: string): Promise<void> {
  // A worker-style connection retries forever while Redis is down; the demo should say so instead.
  const redis = createRedis(redisUrl, 'worker');
  redis.on('error', () => {});
  try {
    try {
      // `once` rejects on the first 'error' event: a refused connection fails at once.
      await once(redis, 'ready', { signal: AbortSignal.timeout(5_000) });
    } catch (error) {
      throw new Error(`Redis at ${redactUrl(redisUrl)}: ${describe(error)}`, { cause: error });
    }
    await deleteKeysWithPrefix(redis, prefix);
  } finally {
    redis.disconnect();
  }
}

export interface Faults {
  gone: number;
  throttled: number;
}

/**
 * Subscribers whose keys the local push service derives from their id, written straight to
 * PostgreSQL: importing 10,000 over the API would measure the import, not the broadcast.
 * One in a hundred is gone for good (410: pruned) and one in a hundred is throttled once (429 with
 * Retry-After: retried), so the summary shows those paths too.
 */
export async function seedSubscribers(
  db: Db,
  push: LocalPushService,
  projectId: number,
  count: number,
  signal: AbortSignal,
): Promise<Faults> {
  const BATCH = 5_000;
  const faults: Faults = { gone: 0, throttled: 0 };
  for (let start = 0; start < count; start += BATCH) {
    signal.throwIfAborted();
    const rows = [];
    for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
      const id = `demo${i}`;
      rows.push(push.subscription(id));
      if (i % 100 === 0) {
        push.script(id, [{ status: 410 }], { sticky: true });
        faults.gone += 1;
      } else if (i % 100 === 50) {
        push.script(id, [{ status: 429, retryAfterSeconds: 1 }]);
        faults.throttled += 1;
      }
    }
    await insertWebSubscriptionsBulk(db, projectId, rows);
  }
  return faults;
}

export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describe).join('; ');
  return error instanceof Error ? error.message || error.name : String(error);
}
