import { loadConfig } from '@pushcast/config';
import { randomBytes } from 'node:crypto';
import { startLocalApnsService, type LocalApnsService } from '@pushcast/local-apns-service';
import { startLocalFcmService, type LocalFcmService } from '@pushcast/local-fcm-service';
import { startLocalPushService, type LocalPushService, type LocalPushServiceOptions } from '@pushcast/local-push-service';
import { createLogger } from '@pushcast/runtime';
import { insertWebSubscriptionsBulk, type Db } from '@pushcast/store';
import { startWorker, type RunningWorker, type WorkerOptions } from '@pushcast/worker';
import { call } from './http.ts';
import { startTestServer, TEST_REDIS_URL, type TestServer } from './server.ts';

export interface Pipeline {
  readonly server: TestServer;
  readonly push: LocalPushService;
  /** A local APNs provider API and FCM HTTP v1 server, which the workers' APNs and FCM requests go to. */
  readonly apns: LocalApnsService;
  readonly fcm: LocalFcmService;
  /** PUSHCAST_SECRET_KEY of the API and the workers (credentials are sealed with it). */
  readonly secretKey: string;
  startWorker(opts?: WorkerOptions, env?: Record<string, string>): Promise<RunningWorker>;
  close(): Promise<void>;
}

/**
 * API, a local push service and in-process workers, over a fresh database and Redis prefix.
 * `push`: the local push service's options, e.g. `decrypt: false` for a test of tens of thousands of
 * messages that asserts who received them and when, not what (decrypting is most of its CPU).
 */
export async function startPipeline(
  label: string,
  env: Record<string, string> = {},
  opts: { push?: LocalPushServiceOptions } = {},
): Promise<Pipeline> {
  const [push, apns, fcm] = await Promise.all([startLocalPushService(opts.push), startLocalApnsService(), startLocalFcmService()]);
  const secretKey = env.PUSHCAST_SECRET_KEY ?? randomBytes(32).toString('base64');
  const server = await startTestServer(label, { PUSHCAST_SECRET_KEY: secretKey, ...env });
  const workers: RunningWorker[] = [];
  return {
    server,
    push,
    apns,
    fcm,
    secretKey,
    async startWorker(opts = {}, workerEnv = {}) {
      const config = loadConfig({
        DATABASE_URL: server.databaseUrl,
        REDIS_URL: env.REDIS_URL ?? TEST_REDIS_URL,
        PUSHCAST_QUEUE_PREFIX: server.queuePrefix,
        PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
        PUSHCAST_SECRET_KEY: secretKey,
        PUSHCAST_APNS_URL: apns.origin,
        PUSHCAST_FCM_URL: fcm.origin,
        // Tests close workers mid-broadcast: running chunks hand back quickly instead of finishing.
        SHUTDOWN_GRACE_MS: '500',
        // Several workers share this process: each serves /metrics on a free port of its own (RunningWorker.metricsPort).
        METRICS_PORT: '0',
        ...workerEnv,
      });
      const worker = await startWorker(
        { config, db: server.db, logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'worker') },
        { pushCa: push.caPem, apnsCa: apns.caPem, fcmCa: fcm.caPem, reconcileEveryMs: 3_600_000, ...opts },
      );
      workers.push(worker);
      return worker;
    },
    async close() {
      for (const w of workers) await w.close().catch(() => {});
      try {
        await server.close(); // fails when an answer was not as the OpenAPI document says
      } finally {
        await Promise.all([push.close(), apns.close(), fcm.close()]);
      }
    },
  };
}

/**
 * Subscribers whose keys the local push service derives, written straight to PostgreSQL (set-up
 * only: what is asserted goes through the API and the push service). Returns their push ids.
 */
export async function seedSubscribers(
  db: Db,
  push: LocalPushService,
  projectId: number,
  count: number,
  opts: { idPrefix?: string; uid?: (i: number) => string | null; tags?: (i: number) => string[] } = {},
): Promise<string[]> {
  const ids: string[] = [];
  const BATCH = 5_000;
  for (let start = 0; start < count; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + BATCH); i += 1) {
      const id = `${opts.idPrefix ?? 's'}${i}`;
      ids.push(id);
      rows.push({ ...push.subscription(id), uid: opts.uid?.(i) ?? null, tags: opts.tags?.(i) ?? [] });
    }
    await insertWebSubscriptionsBulk(db, projectId, rows);
  }
  return ids;
}

/** Polls the notification over the API until `done` holds. */
export async function waitForNotification(
  server: TestServer,
  id: number,
  done: (n: any) => boolean = (n) => n.status === 'sent',
  timeoutMs = 120_000,
): Promise<any> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const res = await call(server.apiUrl, 'GET', `/notifications/${id}`, { token: server.adminToken });
    if (done(res.body)) return res.body;
    if (Date.now() > until) throw new Error(`notification ${id} not done: ${JSON.stringify(res.body)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
