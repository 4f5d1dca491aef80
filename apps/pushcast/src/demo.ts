import { loadConfig } from '@pushcast/config';
import { startLocalApnsService } from '@pushcast/local-apns-service';
import { startLocalFcmService } from '@pushcast/local-fcm-service';
import { startLocalPushService } from '@pushcast/local-push-service';
import { apiClient, type Platform } from './demo/api-client.ts';
import { DEMO_APNS_TOPIC, demoCredentials } from './demo/devices.ts';
import { audience, parseDemoOptions, USAGE } from './demo/options.ts';
import { fmt, seconds, watchBroadcast } from './demo/progress.ts';
import { broadcastMs, summary } from './demo/report.ts';
import { startDemoProcesses } from './demo/processes.ts';
import { seedAll } from './demo/seed.ts';
import { runBrowserDemo } from './demo/browser.ts';
import { clearQueuePrefix, demoDatabaseUrl, demoNames, redactUrl, resetDemoDatabase } from './demo/setup.ts';

/**
 * `npm run demo [-- --subscribers N --apns N --fcm N]`: a whole broadcast on one machine — API,
 * worker and local Web Push, APNs and FCM services in this process, over a database and queue prefix
 * of its own — so that a newcomer sees Pushcast work end to end with nothing but PostgreSQL and Redis.
 */
const WORKER_CONCURRENCY = '8';

const stop = new AbortController();
/** Undone in reverse order, whether the run succeeds, fails or is interrupted. */
const closers: (() => Promise<void>)[] = [];
const out = (text: string) => process.stdout.write(text);

async function run(counts: Record<Platform, number>, signal: AbortSignal): Promise<void> {
  // Validated like any Pushcast process, so a bad DATABASE_URL or REDIS_URL gets the usual message.
  const env = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL });
  const names = demoNames(process.env);
  const base = {
    DATABASE_URL: demoDatabaseUrl(env.databaseUrl, names.database),
    REDIS_URL: env.redisUrl,
    PUSHCAST_QUEUE_PREFIX: names.queuePrefix,
  };
  out(`Pushcast demo: a broadcast to ${audience(counts)}, all on this machine\n`);
  await clearQueuePrefix(env.redisUrl, names.queuePrefix);
  out(`  queues        ${redactUrl(env.redisUrl)} under ${names.queuePrefix}:* (cleared)\n`);
  await resetDemoDatabase(base.DATABASE_URL);
  out(`  database      ${redactUrl(base.DATABASE_URL)} (recreated)\n`);
  signal.throwIfAborted();

  const push = await startLocalPushService({ record: false, decrypt: false });
  closers.push(() => push.close());
  out(`  push service  ${push.origin} (local, in this process)\n`);
  const apns = await startLocalApnsService({ record: false });
  closers.push(() => apns.close());
  out(`  APNs          ${apns.origin} (local, in this process)\n`);
  const fcm = await startLocalFcmService({ record: false });
  closers.push(() => fcm.close());
  out(`  FCM           ${fcm.origin} (local, with Google's OAuth token endpoint, in this process)\n`);

  const { config, db, apiUrl, adminToken } = await startDemoProcesses(
    {
      ...base,
      PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
      PUSHCAST_APNS_URL: apns.origin,
      PUSHCAST_FCM_URL: fcm.origin,
      WORKER_CONCURRENCY,
    },
    closers,
    { pushCa: push.caPem, apnsCa: apns.caPem, fcmCa: fcm.caPem },
  );
  out(`  API           ${apiUrl}/api/v1, with a worker (concurrency ${config.workerConcurrency} per platform)\n\n`);
  signal.throwIfAborted();

  const http = apiClient(`${apiUrl}/api/v1`, adminToken, signal);
  const sender = await http.post<{ id: number }>('/senders', { name: 'Demo sender' });
  const project = await http.post<{ id: number }>('/projects', {
    sender_id: sender.id,
    name: 'Demo',
    website: 'https://demo.example',
  });
  out(`POST /senders, /projects → sender ${sender.id} (a fresh VAPID key pair), project ${project.id}\n`);
  const credentials = demoCredentials(apns, fcm);
  await http.patch(`/projects/${project.id}`, credentials.body);
  out(`PATCH /projects/${project.id} → APNs key ${credentials.apnsKeyId} for ${DEMO_APNS_TOPIC}, FCM service account ${credentials.fcmClientEmail} (stored encrypted)\n`);

  const faults = await seedAll(db, { push, apns, fcm }, project.id, counts, signal, out);

  const sentAt = performance.now();
  // The overrides show what each platform can add on top of the one notification.
  const overrides = {
    apns: { aps: { badge: 1, 'thread-id': 'demo' } },
    fcm: { android: { notification: { channel_id: 'demo', color: '#3366ff' } } },
  };
  const created = await http.post<{ id: number; scheduled: number }>(`/projects/${project.id}/notifications`, {
    title: 'Hello from Pushcast',
    body: 'Your first broadcast, sent through local Web Push, APNs and FCM services.',
    target_url: 'https://demo.example/welcome',
    ...overrides,
  });
  out(`POST /projects/${project.id}/notifications (overrides: apns ${JSON.stringify(overrides.apns)}, fcm ${JSON.stringify(overrides.fcm)})\n`);
  out(`  → ${JSON.stringify(created)}\n`);

  const final = await watchBroadcast(http, created.id, created.scheduled, signal);
  const elapsedMs = broadcastMs(final, performance.now() - sentAt);
  const left = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM subscriptions WHERE state = 'active'");
  const servers = { push: push.counters(), apns: apns.counters(), fcm: fcm.counters() };
  out(summary(final, elapsedMs, faults, servers, left.rows[0]?.n ?? 0));
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
  const options = parseDemoOptions();
  if (options === 'help') out(`${USAGE}\n`);
  else if (options === 'browser') await runBrowserDemo(stop.signal, out, closers);
  else await run(options, stop.signal);
} catch (error) {
  code = stop.signal.aborted ? 130 : 1;
  if (!stop.signal.aborted) process.stderr.write(`pushcast demo: ${describe(error)}\n`);
} finally {
  await closeAll();
}
// fetch's keep-alive sockets would hold the process for seconds after everything is closed.
process.exit(code);
