import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';

// A worker process killed with SIGKILL mid-broadcast, and a new one started.

const CONCURRENCY = 4;
const SLICE = 100; // recipients a chunk sends before it records their outcomes (the web channel, apps/worker/src/channels/web.ts)

let p: Pipeline;
const children: Child[] = [];
beforeAll(async () => {
  p = await startPipeline('crash');
});
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await p?.close();
});

function startWorkerProcess(): Child {
  const child = startProcess('apps/worker/src/main.ts', {
    DATABASE_URL: p.server.databaseUrl,
    REDIS_URL: process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379',
    PUSHCAST_QUEUE_PREFIX: p.server.queuePrefix,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    NODE_EXTRA_CA_CERTS: p.push.caFile,
    WORKER_CONCURRENCY: String(CONCURRENCY),
    WORKER_LOCK_MS: '2000',
    METRICS_PORT: '0',
    LOG_LEVEL: 'warn',
  });
  children.push(child);
  return child;
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
    await waitFor('a third of the broadcast', () => (p.push.counters().byStatus[201] ?? 0) >= 3_000 ? true : undefined);
    first.child.kill('SIGKILL');
    await first.exited;
    const beforeRestart = p.push.counters().byStatus[201] ?? 0;
    expect(beforeRestart).toBeLessThan(ids.length);

    startWorkerProcess();
    const n = await waitForNotification(p.server, res.body.id);

    const perId = ids.map((id) => p.push.receivedFor(id).filter((m) => m.status === 201).length);
    expect(perId.filter((c) => c === 0)).toEqual([]);
    const duplicates = perId.reduce((sum, c) => sum + (c - 1), 0);
    console.log(`worker SIGKILLed after ${beforeRestart} deliveries: ${duplicates} duplicate deliveries (bound ${CONCURRENCY * SLICE})`);
    expect(duplicates).toBeLessThanOrEqual(CONCURRENCY * SLICE);
    expect(n).toMatchObject({ status: 'sent', scheduled_count: ids.length, successfully_sent_count: ids.length });
  });
});
