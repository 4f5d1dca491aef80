import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNames } from '@pushcast/queues';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// SIGTERM to a real worker process in the middle of a broadcast: it stops taking jobs, its chunks
// finish or hand back their unsent part within SHUTDOWN_GRACE_MS, nothing is left stalled, and no
// recipient receives the message twice.

let p: Pipeline;
let redis: Redis;
const children: Child[] = [];
beforeAll(async () => {
  // Who received a message and when, not what: the push service leaves the bodies encrypted
  // (test/broadcast.test.ts decrypts every one).
  p = await startPipeline('sigterm', {}, { push: { decrypt: false } });
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  redis?.disconnect();
  await p?.close();
});

function startWorkerProcess(graceMs: number): Child {
  const child = startProcess('apps/worker/src/main.ts', {
    DATABASE_URL: p.server.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PUSHCAST_QUEUE_PREFIX: p.server.queuePrefix,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    // The API's: senders' VAPID private keys are sealed under it.
    PUSHCAST_SECRET_KEY: p.secretKey,
    NODE_EXTRA_CA_CERTS: p.push.caFile,
    WORKER_CONCURRENCY: '4',
    SHUTDOWN_GRACE_MS: String(graceMs),
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  children.push(child);
  return child;
}

/** Jobs BullMQ holds as running, over every queue. */
async function activeJobs(): Promise<number> {
  let active = 0;
  for (const name of queueNames) {
    const queue = new Queue(name, { connection: redis, prefix: p.server.queuePrefix });
    active += (await queue.getJobCounts('active')).active ?? 0;
    await queue.close();
  }
  return active;
}

const deliveries = (ids: readonly string[]) => ids.map((id) => p.push.receivedFor(id).filter((m) => m.status === 201).length);

describe('SIGTERM during a broadcast', () => {
  it.each([
    ['a short grace period: running chunks hand back their unsent part', 300],
    ['a long grace period: running chunks finish', 30_000],
  ])('%s; nothing stalls; nobody gets it twice', { timeout: 120_000 }, async (_what, graceMs) => {
    const { projectId } = await createProject(p.server, `sigterm-${graceMs}`);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 6_000, { idPrefix: `t${graceMs}-` });
    // Slow answers: a chunk of 500 (5 slices) takes two seconds or more, so the signal lands
    // mid-chunk even when the machine is loaded and the test notices the quarter late.
    for (const id of ids) p.push.script(id, [{ status: 201, delayMs: 400 }]);

    const first = startWorkerProcess(graceMs);
    const res = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      token: p.server.adminToken,
      body: { body: 'Graceful' },
    });
    expect(res.status).toBe(201);
    await waitFor('a third of the broadcast', () => (deliveries(ids).reduce((a, b) => a + b, 0) >= 2_000 ? true : undefined));
    const signalled = Date.now();
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const exitedAfter = Date.now() - signalled;
    const atExit = deliveries(ids).reduce((a, b) => a + b, 0);

    // Nothing is left locked to the dead process: what was running went back to the queue.
    expect(await activeJobs()).toBe(0);
    expect(atExit).toBeLessThan(ids.length);
    // Chunks are 500 subscribers in id order. With a short grace some chunk stopped half-way and
    // handed its rest back; with a long one every chunk it had started was finished.
    const perChunk = new Map<number, number>();
    deliveries(ids).forEach((c, i) => perChunk.set(Math.floor(i / 500), (perChunk.get(Math.floor(i / 500)) ?? 0) + c));
    const partial = [...perChunk.values()].filter((c) => c > 0 && c < 500);
    if (graceMs < 1000) {
      expect(partial.length).toBeGreaterThan(0);
      expect(exitedAfter).toBeLessThan(graceMs + 5_000);
    } else {
      expect(partial).toEqual([]);
    }

    const second = startWorkerProcess(graceMs);
    const n = await waitForNotification(p.server, res.body.id);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const perId = deliveries(ids);
    expect(perId.filter((c) => c !== 1)).toEqual([]);
    expect(n).toMatchObject({ status: 'sent', successfully_sent_count: ids.length, failed_count: 0 });
  });
});
