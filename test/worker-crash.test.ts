import { QueueEvents } from 'bullmq';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// Worker processes killed with SIGKILL mid-broadcast, and new ones started.

const CONCURRENCY = 4;
const SLICE = 100; // recipients of a web slice (apps/worker/src/channels/web.ts)

let p: Pipeline;
const children: Child[] = [];
beforeAll(async () => {
  // Who received a message and when, not what: the push service leaves the bodies encrypted
  // (test/broadcast.test.ts decrypts every one).
  p = await startPipeline('crash', {}, { push: { decrypt: false } });
});
afterEach(async () => {
  for (const c of children.splice(0)) {
    c.child.kill('SIGKILL');
    await c.exited;
  }
});
afterAll(async () => {
  await p?.close();
});

function startWorkerProcess(env: Record<string, string> = {}): Child {
  const child = startProcess('apps/worker/src/main.ts', {
    DATABASE_URL: p.server.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PUSHCAST_QUEUE_PREFIX: p.server.queuePrefix,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    // The API's: senders' VAPID private keys are sealed under it.
    PUSHCAST_SECRET_KEY: p.secretKey,
    NODE_EXTRA_CA_CERTS: p.push.caFile,
    WORKER_CONCURRENCY: String(CONCURRENCY),
    // Short, for a quick takeover, but not so short that a worker starved of CPU on a busy
    // machine loses its locks while alive (its chunks would then run twice at once).
    WORKER_LOCK_MS: '4000',
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
    ...env,
  });
  children.push(child);
  return child;
}

const delivered = () => p.push.counters().byStatus[201] ?? 0;

async function kill(child: Child): Promise<number> {
  child.child.kill('SIGKILL');
  await child.exited;
  return delivered();
}

/** Deliveries beyond the first, over every recipient; fails if anyone got nothing. */
function duplicatesOf(ids: readonly string[]): number {
  const perId = ids.map((id) => p.push.receivedFor(id).filter((m) => m.status === 201).length);
  expect(perId.filter((c) => c === 0)).toEqual([]);
  return perId.reduce((sum, c) => sum + (c - 1), 0);
}

describe('SIGKILL during a broadcast', () => {
  it('every recipient gets the message; duplicates are only what was in flight at the kill', async () => {
    const { projectId } = await createProject(p.server, 'crash');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 10_000, { idPrefix: 'k' });
    // Slow answers keep the first worker busy long enough to be killed half-way.
    for (const id of ids) p.push.script(id, [{ status: 201, delayMs: 30 }]);

    const first = startWorkerProcess();
    const res = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      token: p.server.adminToken,
      body: { body: 'survive a crash' },
    });
    expect(res.status).toBe(201);
    await waitFor('a third of the broadcast', () => (delivered() >= 3_000 ? true : undefined));
    const beforeRestart = await kill(first);
    expect(beforeRestart).toBeLessThan(ids.length);

    startWorkerProcess();
    const n = await waitForNotification(p.server, res.body.id);

    const duplicates = duplicatesOf(ids);
    console.log(`worker SIGKILLed after ${beforeRestart} deliveries: ${duplicates} duplicate deliveries (bound ${CONCURRENCY * SLICE})`);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY * SLICE);
    expect(n).toMatchObject({ status: 'sent', scheduled_count: ids.length, successfully_sent_count: ids.length });
  }, 180_000);

  it('chunks whose workers die twice are taken over again, never failed for stalling, and resend only what was in flight', async () => {
    // Requests a worker keeps in flight to the push service: all that a kill can leave unrecorded,
    // besides the answers of the last 10 ms that wait for their ledger write (at most IN_FLIGHT
    // here, since each answer takes ANSWER_MS > 10 ms). Outcomes recorded slice by slice left up
    // to a slice per chunk.
    const IN_FLIGHT = 8;
    const ANSWER_MS = 20;
    const events = new QueueEvents('web', { connection: { url: TEST_REDIS_URL }, prefix: p.server.queuePrefix });
    const stalled: string[] = [];
    const failed: string[] = [];
    events.on('stalled', ({ jobId }) => stalled.push(jobId));
    events.on('failed', ({ jobId, failedReason }) => failed.push(`${jobId}: ${failedReason}`));
    await events.waitUntilReady();
    try {
      const { projectId } = await createProject(p.server, 'crash twice');
      // Four web chunks of 500: the first worker runs all of them, and after its death so does the next.
      const ids = await seedSubscribers(p.server.db, p.push, projectId, 2_000, { idPrefix: 't' });
      for (const id of ids) p.push.script(id, [{ status: 201, delayMs: ANSWER_MS }]);
      const env = { PUSH_MAX_IN_FLIGHT_PER_ORIGIN: String(IN_FLIGHT) };
      const start = delivered();

      const first = startWorkerProcess(env);
      const res = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
        token: p.server.adminToken,
        body: { body: 'survive two crashes' },
      });
      expect(res.status).toBe(201);
      await waitFor('the first worker sending', () => (delivered() - start >= 300 ? true : undefined));
      const atFirstKill = (await kill(first)) - start;

      const second = startWorkerProcess(env);
      await waitFor('the second worker sending the same chunks', () => (delivered() - start >= atFirstKill + 300 ? true : undefined));
      const atSecondKill = (await kill(second)) - start;
      expect(atSecondKill).toBeLessThan(ids.length);

      startWorkerProcess(env);
      const n = await waitForNotification(p.server, res.body.id);

      const duplicates = duplicatesOf(ids);
      console.log(`two SIGKILLs (after ${atFirstKill} and ${atSecondKill} deliveries): ${duplicates} duplicate deliveries (bound ${2 * 2 * IN_FLIGHT})`);
      expect(failed).toEqual([]);
      // The chunks were taken over twice (each kill left them running)…
      const takeovers = new Map<string, number>();
      for (const id of stalled) takeovers.set(id, (takeovers.get(id) ?? 0) + 1);
      expect(Math.max(0, ...takeovers.values())).toBeGreaterThanOrEqual(2);
      // …and each kill resent at most what was in flight, plus the answers not yet written.
      expect(duplicates).toBeLessThanOrEqual(2 * 2 * IN_FLIGHT);
      expect(n).toMatchObject({ status: 'sent', scheduled_count: ids.length, successfully_sent_count: ids.length });
    } finally {
      await events.close();
    }
  }, 180_000);
});
