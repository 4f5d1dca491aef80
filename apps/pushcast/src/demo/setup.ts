import { once } from 'node:events';
import type { LocalPushService } from '@pushcast/local-push-service';
import { createRedis, deleteKeysWithPrefix } from '@pushcast/redis-state';
import { createDb, ensureDatabase, insertWebSubscriptionsBulk, migrate, quoteIdentifier, type Db } from '@pushcast/store';

export const DEMO_DATABASE = 'pushcast_demo';
export const DEMO_QUEUE_PREFIX = 'pushcast-demo';

/**
 * `PUSHCAST_DEMO_DATABASE` and `PUSHCAST_DEMO_QUEUE_PREFIX` let two demos (a test's and a developer's)
 * run side by side. Every run drops its database, so only names that start like the defaults are
 * taken: a slip cannot point the demo at a real installation's database or queues.
 */
export function demoNames(env: NodeJS.ProcessEnv): { database: string; queuePrefix: string } {
  const database = env.PUSHCAST_DEMO_DATABASE || DEMO_DATABASE;
  const queuePrefix = env.PUSHCAST_DEMO_QUEUE_PREFIX || DEMO_QUEUE_PREFIX;
  if (!/^pushcast_demo[a-z0-9_]{0,49}$/.test(database)) {
    throw new Error(`PUSHCAST_DEMO_DATABASE must be ${DEMO_DATABASE} followed by up to 49 of a-z 0-9 _ (it is dropped on every run)`);
  }
  if (!/^pushcast-demo[A-Za-z0-9_-]{0,49}$/.test(queuePrefix)) {
    throw new Error(`PUSHCAST_DEMO_QUEUE_PREFIX must be ${DEMO_QUEUE_PREFIX} followed by up to 49 of A-Z a-z 0-9 _ - (it is cleared on every run)`);
  }
  return { database, queuePrefix };
}

/** The same server as DATABASE_URL, another database: the demo must never touch a real installation's data. */
export function demoDatabaseUrl(databaseUrl: string, database: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Drops and recreates the demo database, so every run starts from the same empty state. */
export async function resetDemoDatabase(demoUrl: string): Promise<void> {
  const adminUrl = new URL(demoUrl);
  const database = decodeURIComponent(adminUrl.pathname.slice(1));
  adminUrl.pathname = '/postgres';
  const admin = createDb(adminUrl.toString(), 1);
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
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
 * The same on every platform: one recipient in a hundred is gone for good (pruned) and one in a
 * hundred is throttled once (429 with Retry-After: retried), so the summary shows those paths too.
 */
export function faultOf(i: number): keyof Faults | undefined {
  if (i % 100 === 0) return 'gone';
  return i % 100 === 50 ? 'throttled' : undefined;
}

/**
 * Seeds `count` recipients in batches of 5,000 — `make` builds recipient i's row and scripts its
 * fault at its local server — and counts the faults; `insert` writes a batch.
 */
export async function seedWithFaults<Row>(
  count: number,
  signal: AbortSignal,
  make: (i: number, fault: keyof Faults | undefined) => Row,
  insert: (rows: Row[]) => Promise<void>,
): Promise<Faults> {
  const BATCH = 5_000;
  const faults: Faults = { gone: 0, throttled: 0 };
  for (let start = 0; start < count; start += BATCH) {
    signal.throwIfAborted();
    const rows: Row[] = [];
    for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
      const fault = faultOf(i);
      rows.push(make(i, fault));
      if (fault !== undefined) faults[fault] += 1;
    }
    await insert(rows);
  }
  return faults;
}

/**
 * Subscribers whose keys the local push service derives from their id, written straight to
 * PostgreSQL: importing 10,000 over the API would measure the import, not the broadcast.
 */
export function seedSubscribers(db: Db, push: LocalPushService, projectId: number, count: number, signal: AbortSignal): Promise<Faults> {
  return seedWithFaults(
    count,
    signal,
    (i, fault) => {
      const id = `demo${i}`;
      if (fault === 'gone') push.script(id, [{ status: 410 }], { sticky: true });
      if (fault === 'throttled') push.script(id, [{ status: 429, retryAfterSeconds: 1 }]);
      return push.subscription(id);
    },
    (rows) => insertWebSubscriptionsBulk(db, projectId, rows),
  );
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
