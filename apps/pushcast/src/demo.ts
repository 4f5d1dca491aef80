import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startApi } from '@pushcast/api';
import { loadConfig } from '@pushcast/config';
import { startLocalPushService } from '@pushcast/local-push-service';
import { createLogger } from '@pushcast/runtime';
import { createDb } from '@pushcast/store';
import { startWorker } from '@pushcast/worker';
import { apiClient } from './demo/api-client.ts';
import { fmt, seconds, watchBroadcast } from './demo/progress.ts';
import { broadcastMs, summary } from './demo/report.ts';
import {
  clearQueuePrefix,
  DEMO_QUEUE_PREFIX,
  demoDatabaseUrl,
  redactUrl,
  resetDemoDatabase,
  seedSubscribers,
} from './demo/setup.ts';

/**
 * `npm run demo [-- --subscribers N]`: a whole broadcast on one machine — API, worker and a local
 * Web Push service in this process, over a database and queue prefix of its own — so that a
 * newcomer sees Pushcast work end to end with nothing but PostgreSQL and Redis.
 */
const USAGE = 'usage: npm run demo [-- --subscribers N]   (default 10000)';
const WORKER_CONCURRENCY = '8';

const stop = new AbortController();
/** Undone in reverse order, whether the run succeeds, fails or is interrupted. */
const closers: (() => Promise<void>)[] = [];
const out = (text: string) => process.stdout.write(text);

async function run(subscribers: number, signal: AbortSignal): Promise<void> {
  // Validated like any Pushcast process, so a bad DATABASE_URL or REDIS_URL gets the usual message.
  const env = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL });
  const adminToken = randomBytes(24).toString('hex');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: demoDatabaseUrl(env.databaseUrl),
    REDIS_URL: env.redisUrl,
    PUSHCAST_QUEUE_PREFIX: DEMO_QUEUE_PREFIX,
    PUSHCAST_ADMIN_TOKEN: adminToken,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    WORKER_CONCURRENCY,
    LOG_LEVEL: 'warn',
  });

  out(`Pushcast demo: a broadcast to ${fmt(subscribers)} subscribers, all on this machine\n`);
  await clearQueuePrefix(config.redisUrl, config.queuePrefix);
  out(`  queues        ${redactUrl(config.redisUrl)} under ${config.queuePrefix}:* (cleared)\n`);
  await resetDemoDatabase(config.databaseUrl);
  out(`  database      ${redactUrl(config.databaseUrl)} (recreated)\n`);
  signal.throwIfAborted();

  const push = await startLocalPushService({ record: false, decrypt: false });
  closers.push(() => push.close());
  out(`  push service  ${push.origin} (local, in this process)\n`);

  const db = createDb(config.databaseUrl, config.databasePoolSize);
  closers.push(() => db.end());
  const logger = createLogger(config.logLevel, 'demo');
  const api = await startApi({ config, db, logger });
  closers.push(() => api.close());
  const worker = await startWorker({ config, db, logger }, { pushCa: push.caPem });
  closers.push(() => worker.close());
  out(`  API           ${api.url}/api/v1, with a worker (concurrency ${config.workerConcurrency})\n\n`);
  signal.throwIfAborted();

  const http = apiClient(`${api.url}/api/v1`, adminToken, signal);
  const sender = await http.post<{ id: number }>('/senders', { name: 'Demo sender' });
  const project = await http.post<{ id: number }>('/projects', {
    sender_id: sender.id,
    name: 'Demo',
    website: 'https://demo.example',
  });
  out(`POST /senders, /projects → sender ${sender.id} (a fresh VAPID key pair), project ${project.id}\n`);

  out(`seeding ${fmt(subscribers)} subscribers… `);
  const seedStart = performance.now();
  const faults = await seedSubscribers(db, push, project.id, subscribers, signal);
  out(`${seconds(performance.now() - seedStart)} (${fmt(faults.gone)} will answer 410, ${fmt(faults.throttled)} 429 once)\n`);

  const sentAt = performance.now();
  const created = await http.post<{ id: number; scheduled: number }>(`/projects/${project.id}/notifications`, {
    title: 'Hello from Pushcast',
    body: 'Your first broadcast, sent through a local Web Push service.',
    target_url: 'https://demo.example/welcome',
  });
  out(`POST /projects/${project.id}/notifications → ${JSON.stringify(created)}\n`);

  const final = await watchBroadcast(http, created.id, created.scheduled, signal);
  const elapsedMs = broadcastMs(final, performance.now() - sentAt);
  const left = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM subscriptions');
  out(summary(final, elapsedMs, faults, push.counters(), left.rows[0]?.n ?? 0));
}

function parseSubscribers(): number {
  const options = { subscribers: { type: 'string', short: 'n', default: '10000' }, help: { type: 'boolean', short: 'h' } } as const;
  let values;
  try {
    ({ values } = parseArgs({ options }));
  } catch (error) {
    throw new Error(`${describe(error)}\n${USAGE}`);
  }
  if (values.help) {
    out(`${USAGE}\n`);
    process.exit(0);
  }
  const n = Number(values.subscribers.replaceAll(/[_,]/g, ''));
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--subscribers must be a positive integer\n${USAGE}`);
  return n;
}

/** fetch and pg hide the useful part ("ECONNREFUSED …") in `cause` or in an AggregateError. */
function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return error.errors.map(describe).join('; ');
  if (!(error instanceof Error)) return String(error);
  const message = error.message || error.name;
  return error.cause === undefined || message.includes(describe(error.cause)) ? message : `${message}: ${describe(error.cause)}`;
}

async function closeAll(): Promise<void> {
  for (const close of closers.reverse()) {
    await close().catch((error: unknown) => process.stderr.write(`pushcast demo: while closing: ${describe(error)}\n`));
  }
}

process.on('SIGINT', () => {
  // A second Ctrl-C is for when closing itself hangs.
  if (stop.signal.aborted) process.exit(130);
  process.stderr.write('\ninterrupted: stopping (Ctrl-C again to quit at once)…\n');
  stop.abort();
});

let code = 0;
try {
  await run(parseSubscribers(), stop.signal);
} catch (error) {
  code = stop.signal.aborted ? 130 : 1;
  if (!stop.signal.aborted) process.stderr.write(`pushcast demo: ${describe(error)}\n`);
} finally {
  await closeAll();
}
// fetch's keep-alive sockets would hold the process for seconds after everything is closed.
process.exit(code);
