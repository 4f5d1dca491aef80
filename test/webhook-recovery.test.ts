import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startPrivateRedis, startProcess, waitFor, type Child } from './support/processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

// Events are rows in PostgreSQL (an outbox), so neither Redis restarting empty nor a worker killed
// mid-broadcast loses one: every notification event reaches a receiver that verifies signatures.

let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let p: Pipeline;
let receiver: WebhookReceiver;
let caDir: string;
const children: Child[] = [];
beforeAll(async () => {
  redis = await startPrivateRedis();
  [p, receiver] = await Promise.all([startPipeline('webhookrecovery', { REDIS_URL: redis.url }), startWebhookReceiver()]);
  caDir = await mkdtemp(join(tmpdir(), 'pushcast-webhook-ca-'));
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await p?.close();
  await receiver?.close();
  await redis?.stop();
  if (caDir) await rm(caDir, { recursive: true, force: true });
});

const api = (method: string, path: string, body?: unknown) =>
  call(p.server.apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

const TYPES = ['notification.completed', 'notification.created', 'notification.sending'];

/** The notification's event types the receiver got, each verified with `secret` (repeats allowed: at least once). */
function typesReceived(secret: string, notificationId: number): string[] {
  return [...new Set(receiver.verified(secret).filter((e) => e.payload.data.notification_id === notificationId).map((e) => e.payload.type))].sort();
}

describe('webhook events survive', () => {
  it('Redis flushed while deliveries are queued and the receiver is down: every event arrives once it is back', async () => {
    const worker = await p.startWorker({
      webhookCa: receiver.caPem,
      reconcileEveryMs: 500,
      webhookRetryDelaysMs: Array(30).fill(300),
      webhookDispatch: { pollMs: 100, leaseMs: 1_000 },
    });
    const { projectId } = await createProject(p.server, 'flush');
    const secret = (await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url })).body.secret;
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 3_000, { idPrefix: 'f' });
    for (const id of ids) p.push.script(id, [{ status: 201, delayMs: 20 }]);
    await receiver.stop();

    const id: number = (await api('POST', `/projects/${projectId}/notifications`, { body: 'flush' })).body.id;
    // Deliveries cycle through the queue (claimed, refused, due again) while the broadcast runs.
    await waitFor('failed attempts', async () => {
      const { rows } = await p.server.db.query(`SELECT count(*)::int AS n FROM webhook_attempts`);
      return rows[0].n >= 4 ? true : undefined;
    });
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();
    await receiver.start();

    await waitForNotification(p.server, id);
    await waitFor('all three events', () => (typesReceived(secret, id).length === 3 ? true : undefined));
    expect(typesReceived(secret, id)).toEqual(TYPES);
    await worker.close();
  }, 180_000);

  it('a worker killed mid-broadcast, with webhook requests in flight: a new worker delivers every event', async () => {
    const caFile = join(caDir, 'ca.pem');
    await writeFile(caFile, p.push.caPem + receiver.caPem);
    const startWorkerProcess = () => {
      const child = startProcess('apps/worker/src/main.ts', {
        DATABASE_URL: p.server.databaseUrl,
        REDIS_URL: redis.url,
        PUSHCAST_QUEUE_PREFIX: p.server.queuePrefix,
        PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
        PUSHCAST_SECRET_KEY: p.secretKey,
        NODE_EXTRA_CA_CERTS: caFile,
        WORKER_LOCK_MS: '2000',
        METRICS_PORT: '0',
        LOG_LEVEL: 'warn',
      });
      children.push(child);
      return child;
    };
    const { projectId } = await createProject(p.server, 'kill');
    const secret = (await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url })).body.secret;
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 4_000, { idPrefix: 'k' });
    for (const id of ids) p.push.script(id, [{ status: 201, delayMs: 30 }]);
    // Slow answers: the first events' requests are still in flight when the worker dies.
    receiver.answer(204, 3_000);

    const first = startWorkerProcess();
    const id: number = (await api('POST', `/projects/${projectId}/notifications`, { body: 'kill' })).body.id;
    await waitFor('webhook requests in flight and part of the broadcast sent', () =>
      (p.push.counters().byStatus[201] ?? 0)   >= 1_000 ? true : undefined,
    );
    const inFlight = await p.server.db.query(`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'pending'`);
    first.child.kill('SIGKILL');
    await first.exited;
    receiver.answer(204);
    expect(typesReceived(secret, id)).not.toContain('notification.completed');

    startWorkerProcess();
    const n = await waitForNotification(p.server, id);
    expect(n).toMatchObject({ status: 'sent', successfully_sent_count: ids.length });
    await waitFor('all three events', () => (typesReceived(secret, id).length === 3 ? true : undefined));
    expect(typesReceived(secret, id)).toEqual(TYPES);
    console.log(`worker SIGKILLed with ${inFlight.rows[0].n} webhook deliveries pending; all three events delivered after`);
  }, 180_000);
});
