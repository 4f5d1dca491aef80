import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues, createRedis } from '@pushcast/queues';
import { insertDeliveryRecords, listDeliveryRecordPartitions } from '@pushcast/store';
import { createProject, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, type Pipeline } from './support/pipeline.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// Issue 14 §1: what did not get through, per notification, kept a retention long.

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('records');
});
afterAll(async () => p?.close());

const api = (method: string, path: string, body?: unknown, token = p.server.adminToken) =>
  call(p.server.apiUrl, method, path, { token, ...(body === undefined ? {} : { body }) });

const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Waits until `check` holds, polling (no timed assertion: the test's own timeout bounds it). */
async function until<T>(check: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('record_deliveries', () => {
  it('is failures by default, shown in the project answer, set with PATCH, and nothing else', async () => {
    const { projectId } = await createProject(p.server, 'setting');
    expect((await api('GET', `/projects/${projectId}`)).body.record_deliveries).toBe('failures');
    const patched = await api('PATCH', `/projects/${projectId}`, { record_deliveries: 'all' });
    expect(patched.status).toBe(200);
    expect(patched.body.record_deliveries).toBe('all');
    expect((await api('GET', `/projects/${projectId}`)).body.record_deliveries).toBe('all');
    const bad = await api('PATCH', `/projects/${projectId}`, { record_deliveries: 'some' });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ field: 'record_deliveries', rule: 'invalid_value' });
  });
});

describe('failures and deliveries of a notification', () => {
  it('lists records by cursor, keeps uid and platform after the subscription is deleted, filters, and drops days past the retention', async () => {
    const { projectId } = await createProject(p.server, 'retention');
    await seedSubscribers(p.server.db, p.push, projectId, 5, { idPrefix: 'ret', uid: (i) => `user-${i}` });
    const subs = (await api('GET', `/projects/${projectId}/subscriptions?per_page=100`)).body as { id: number; uid: string }[];
    const ids = subs.map((s) => s.id).sort((a, b) => a - b);

    // Two notifications: one of 40 days ago (past the default 30 days of retention), one of today.
    // Their records are written as the workers write them (the pipeline's own tests show which).
    const old = (await api('POST', `/projects/${projectId}/notifications`, { body: 'old', send_at: new Date(Date.now() + 3_600_000).toISOString() })).body.id;
    const recent = (await api('POST', `/projects/${projectId}/notifications`, { body: 'recent', send_at: new Date(Date.now() + 3_600_000).toISOString() })).body.id;
    await p.server.db.query(`UPDATE notifications SET send_at = now() - interval '40 days' WHERE id = $1`, [old]);
    await p.server.db.query(`UPDATE notifications SET send_at = now() WHERE id = $1`, [recent]);
    const oldDay = dayOf(Date.now() - 40 * DAY_MS);
    const records = (n: number) => [
      { subscriptionId: ids[0]!, outcome: 'pruned' as const, status: 410, reason: null },
      { subscriptionId: ids[1]!, outcome: 'failed' as const, status: 400, reason: 'http_400' },
      { subscriptionId: ids[2]!, outcome: 'expired' as const, status: null, reason: null },
      { subscriptionId: ids[3]!, outcome: 'delivered' as const, status: null, reason: null },
      { subscriptionId: ids[4]!, outcome: 'quota_expired' as const, status: null, reason: null },
    ].slice(0, n);
    await insertDeliveryRecords(p.server.db, { projectId, notificationId: old, day: oldDay, platform: 'web' }, records(3));
    await insertDeliveryRecords(p.server.db, { projectId, notificationId: recent, day: dayOf(Date.now()), platform: 'web' }, records(5));
    // Written again (a chunk run again): nobody twice.
    await insertDeliveryRecords(p.server.db, { projectId, notificationId: recent, day: dayOf(Date.now()), platform: 'web' }, records(5));
    // The pruned subscription's row is gone; its record is not.
    expect((await api('DELETE', `/projects/${projectId}/subscriptions/${ids[0]}`)).status).toBe(204);

    // Failures: everyone but the delivered one, two a page.
    const first = await api('GET', `/notifications/${recent}/failures?per_page=2`);
    expect(first.status).toBe(200);
    expect(first.body.data).toEqual([
      { subscription_id: ids[0], uid: 'user-0', platform: 'web', outcome: 'pruned', status: 410, reason: null, at: expect.any(String) },
      { subscription_id: ids[1], uid: 'user-1', platform: 'web', outcome: 'failed', status: 400, reason: 'http_400', at: expect.any(String) },
    ]);
    expect(first.body.next_cursor).toEqual(expect.any(String));
    const second = await api('GET', `/notifications/${recent}/failures?per_page=2&cursor=${first.body.next_cursor}`);
    expect(second.body.data.map((r: { outcome: string }) => r.outcome)).toEqual(['expired', 'quota_expired']);
    expect(second.body.next_cursor).toBeNull();
    expect((await api('GET', `/notifications/${recent}/failures?reason=http_400`)).body.data.map((r: { uid: string }) => r.uid)).toEqual(['user-1']);
    expect((await api('GET', `/notifications/${recent}/failures?outcome=pruned`)).body.data.map((r: { uid: string }) => r.uid)).toEqual(['user-0']);

    // Deliveries: every record, so "did user-3 get it?" is answered.
    const user3 = await api('GET', `/notifications/${recent}/deliveries?uid=user-3`);
    expect(user3.body).toEqual({
      data: [{ subscription_id: ids[3], uid: 'user-3', platform: 'web', outcome: 'delivered', status: null, reason: null, at: expect.any(String) }],
      next_cursor: null,
      record_deliveries: 'failures',
    });
    expect((await api('GET', `/notifications/${recent}/deliveries`)).body.data).toHaveLength(5);

    // Bad input, and another tenant.
    const badCursor = await api('GET', `/notifications/${recent}/failures?cursor=nope`);
    expect(badCursor.status).toBe(422);
    expect(badCursor.body).toMatchObject({ field: 'cursor', rule: 'cursor' });
    expect((await api('GET', `/notifications/${recent}/failures?outcome=delivered`)).status).toBe(422);
    const other = await createProject(p.server, 'other tenant');
    const foreign = await api('GET', `/notifications/${recent}/failures`, undefined, await scopedToken(p.server, [other.projectId]));
    expect(foreign.status).toBe(403);

    // Retention: the maintenance job drops the old day whole, keeps today's, and makes the next days.
    expect((await api('GET', `/notifications/${old}/failures`)).body.data).toHaveLength(3);
    await p.startWorker();
    const redis = createRedis(TEST_REDIS_URL, 'producer', false);
    const queues = createQueues(redis, p.server.queuePrefix);
    try {
      await queues.enqueue('maintain-delivery-records', {}, { jobId: 'maintain-now' });
      const days = await until(async () => {
        const d = await listDeliveryRecordPartitions(p.server.db);
        return !d.includes(oldDay) && d.includes(dayOf(Date.now() + 7 * DAY_MS)) && d;
      });
      expect(days).toContain(dayOf(Date.now()));
      expect(days).toContain(dayOf(Date.now() - DAY_MS));
    } finally {
      await queues.close();
      redis.disconnect();
    }
    expect((await api('GET', `/notifications/${old}/failures`)).body).toEqual({ data: [], next_cursor: null });
    expect((await api('GET', `/notifications/${recent}/failures`)).body.data).toHaveLength(4);
  });
});
