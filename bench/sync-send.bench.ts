/**
 * The latency of a synchronous send (issue 16): `POST /v2/push/send` to one Web Push recipient,
 * answered once the push service has taken the message, with idle workers: the request creates
 * the notification, a worker plans it and sends its one chunk to the local push service (HTTP/2,
 * TLS, VAPID, aes128gcm), records the outcome, completes the notification, and PostgreSQL's notice
 * ends the wait. Beside it, in the same run and alternating, the same send with `async_mode: true`
 * (the API's own part: validate, count, insert, enqueue, answer) as the baseline. Sends are made
 * one at a time, so the workers are idle when each arrives. API and worker run in this process,
 * as `npm start` runs them.
 *
 *   npm run bench:sync                    # 300 sends of each, after 30 of each to warm up
 *   npm run bench:sync -- 1000            # sends of each
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startApi } from '@pushcast/api';
import { loadConfig } from '@pushcast/config';
import { startLocalPushService } from '@pushcast/local-push-service';
import { createRedis, deleteKeysWithPrefix } from '@pushcast/redis-state';
import { createLogger } from '@pushcast/runtime';
import { createDb, migrate } from '@pushcast/store';
import { startWorker } from '@pushcast/worker';
import { fmt, gitLine, loadLine, log, machineLine, progress, REDIS_URL, resetDatabase } from './common.ts';

const SENDS = Number(process.argv[2] ?? 300);
const WARMUP = 30;
const DATABASE = 'pushcast_bench_sync';

const url = await resetDatabase(DATABASE);
const push = await startLocalPushService({ decrypt: false, record: false });
const prefix = `pushcast-bench-sync-${randomBytes(4).toString('hex')}`;
const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  DATABASE_URL: url,
  REDIS_URL,
  PUSHCAST_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
  PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
  PUSHCAST_QUEUE_PREFIX: prefix,
  PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
  METRICS_PORT: '0',
  LOG_LEVEL: 'silent',
});
const db = createDb(url, 10);
await migrate(db);
const logger = createLogger('silent', 'bench');
const api = await startApi({ config, db, logger });
const worker = await startWorker({ config, db, logger }, { pushCa: push.caPem });

const admin = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${api.url}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${config.adminToken}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as any;
};

try {
  const sender = await admin('POST', '/senders', { name: 'bench' });
  const project = await admin('POST', '/projects', { sender_id: sender.id, name: 'bench', website: 'https://bench.example' });
  const { secret_key: secretKey } = await admin('POST', `/projects/${project.id}/secret_keys`);
  const subscription = await admin('POST', `/projects/${project.id}/subscriptions`, { ...push.subscription('bench-1'), user_email: 'one@example.com' });

  const send = async (asyncMode: boolean): Promise<number> => {
    const t0 = performance.now();
    const res = await fetch(`${api.url}/v2/push/send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-secret-key': secretKey },
      body: JSON.stringify({ title: 'Password reset', body: 'Click to reset your password', target_registration_ids: [String(subscription.id)], ...(asyncMode ? { async_mode: true } : {}) }),
    });
    const answer = (await res.json()) as { status: string; successful_sends: number };
    const ms = performance.now() - t0;
    const expected = asyncMode ? 'queued' : 'completed';
    if (res.status !== 200 || answer.status !== expected || (!asyncMode && answer.successful_sends !== 1)) {
      throw new Error(`unexpected answer ${res.status} ${JSON.stringify(answer)}`);
    }
    return ms;
  };
  /** Until the notification of an async send is over, so that the next measurement starts with idle workers. */
  const settle = async () => {
    for (;;) {
      const { rows } = await db.query(`SELECT count(*)::int AS n FROM notifications WHERE status NOT IN ('sent', 'cancelled')`);
      if (rows[0].n === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  progress(`warming up (${WARMUP} of each)…`);
  for (let i = 0; i < WARMUP; i += 1) {
    await send(false);
    await send(true);
    await settle();
  }
  const sync: number[] = [];
  const base: number[] = [];
  const load0 = loadLine();
  for (let i = 0; i < SENDS; i += 1) {
    sync.push(await send(false));
    base.push(await send(true));
    await settle();
    if ((i + 1) % 100 === 0) progress(`${i + 1} of ${SENDS}`);
  }
  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
  const row = (name: string, xs: number[]) => `| ${name} | ${fmt(q(xs, 50), 1)} | ${fmt(q(xs, 95), 1)} | ${fmt(q(xs, 99), 1)} | ${fmt(Math.max(...xs), 1)} |`;

  log('# Synchronous send to one Web Push recipient, idle workers');
  log(machineLine());
  log(`command: npm run bench:sync -- ${SENDS}`);
  log(`${gitLine()}; before: ${load0}; after: ${loadLine()}`);
  log(`\n${SENDS} sends of each, alternating, one at a time (after ${WARMUP} of each to warm up); ms from request to answer:\n`);
  log('| send | p50 | p95 | p99 | max |');
  log('|---|---|---|---|---|');
  log(row('synchronous (`completed`: delivered, recorded, notified)', sync));
  log(row('baseline: the same with `async_mode` (`queued`: created and enqueued)', base));
  log(`\nmessages the local push service accepted: ${push.counters().byStatus[201] ?? 0}`);
} finally {
  await worker.close();
  await api.close();
  await db.end();
  await push.close();
  const redis = createRedis(REDIS_URL, 'worker', false);
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
}
