import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startPrivateRedis, waitFor } from './support/processes.ts';

// Redis flushed (as a Redis restarted empty would be) while one notification is scheduled and
// another is being sent. PostgreSQL is the truth: reconciliation brings both back.

let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let p: Pipeline;
beforeAll(async () => {
  redis = await startPrivateRedis();
  p = await startPipeline('redisloss', { REDIS_URL: redis.url });
  await p.startWorker({ reconcileEveryMs: 500 });
});
afterAll(async () => {
  await p?.close();
  await redis?.stop();
});

describe('Redis flushed mid-way', () => {
  it('a scheduled and a running broadcast both complete; finished chunks are not sent again', async () => {
    const { projectId } = await createProject(p.server, 'loss');
    const running = await seedSubscribers(p.server.db, p.push, projectId, 6_000, { idPrefix: 'run', tags: () => ['run'] });
    const later = await seedSubscribers(p.server.db, p.push, projectId, 50, { idPrefix: 'later', tags: () => ['later'] });
    for (const id of running) p.push.script(id, [{ status: 201, delayMs: 30 }]);

    const create = (body: Record<string, unknown>) =>
      call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: p.server.adminToken, body });
    const sending = await create({ body: 'running', tags: ['run'] });

    // Chunks that PostgreSQL records as done before the flush.
    const doneBefore = await waitFor('some chunks done', async () => {
      const { rows } = await p.server.db.query(
        `SELECT first_id, last_id FROM notification_chunks WHERE notification_id = $1 AND status = 'done'`,
        [sending.body.id],
      );
      return rows.length >= 2 ? rows : undefined;
    });
    // Created just before the flush so that it is still waiting for its send_at when Redis is lost,
    // however long the running broadcast took to finish its first chunks (on a busy machine that
    // outlasted a send_at set at the start, and the flush then caught the scheduled one mid-send).
    const scheduled = await create({ body: 'scheduled', tags: ['later'], send_at: new Date(Date.now() + 3000).toISOString() });
    const flusher = new Redis(redis.url);
    await flusher.flushall();
    flusher.disconnect();

    const n1 = await waitForNotification(p.server, sending.body.id);
    const n2 = await waitForNotification(p.server, scheduled.body.id);
    expect(n1).toMatchObject({ status: 'sent', scheduled_count: running.length, successfully_sent_count: running.length });
    expect(n2).toMatchObject({ status: 'sent', scheduled_count: later.length, successfully_sent_count: later.length });

    for (const id of [...running, ...later]) expect(p.push.receivedFor(id).filter((m) => m.status === 201).length).toBeGreaterThanOrEqual(1);
    for (const id of later) expect(p.push.receivedFor(id)).toHaveLength(1);

    // Subscription ids of the chunks finished before the flush: each of them received exactly once.
    const { rows } = await p.server.db.query(`SELECT id, endpoint FROM subscriptions WHERE project_id = $1`, [projectId]);
    const pushIdOf = new Map(rows.map((r: { id: number; endpoint: string }) => [r.id, r.endpoint.split('/').pop()!]));
    let checked = 0;
    for (const chunk of doneBefore) {
      for (let sid = Number(chunk.first_id); sid <= Number(chunk.last_id); sid += 1) {
        const pushId = pushIdOf.get(sid);
        if (!pushId) continue;
        expect(p.push.receivedFor(pushId).filter((m) => m.status === 201), pushId).toHaveLength(1);
        checked += 1;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(1000);
  }, 90_000); // 6,000 sends of 30 ms each and a reconcile round: past 30 s on a machine running other suites
});
