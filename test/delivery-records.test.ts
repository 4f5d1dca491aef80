import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createQueues } from '@pushcast/queues';
import { createRedis } from '@pushcast/redis-state';
import { insertDeliveryRecords, listDeliveryRecordPartitions } from '@pushcast/store';
import { apnsToken, fcmToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { TEST_REDIS_URL } from './support/server.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

// Issue 14 §1: what did not get through, per notification, kept a retention long.

let p: Pipeline;
let receiver: WebhookReceiver;
beforeAll(async () => {
  [p, receiver] = await Promise.all([startPipeline('records'), startWebhookReceiver()]);
  // A chunk held by a quota looks again every 300 ms.
  await p.startWorker({ webhookCa: receiver.caPem, webhookDispatch: { pollMs: 100, batchMaxAgeMs: 300 } }, { QUOTA_RECHECK_MS: '300' });
});
afterAll(async () => {
  await p?.close();
  await receiver?.close();
});

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

type Rec = { subscription_id: number; uid: string | null; platform: string; outcome: string; status: number | null; reason: string | null };
const brief = (r: Rec) => [r.uid, r.platform, r.outcome, r.status, r.reason];

describe('a broadcast tells who did not get it', () => {
  it('pruned (410, Unregistered, BadDeviceToken, UNREGISTERED; listed after the row is deleted), failed and expired, with subscription.pruned and delivery.failed events', async () => {
    const { projectId } = await createProject(p.server, 'failures');
    const hook = await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url, events: ['subscription.pruned', 'delivery.failed'] });
    const secret: string = hook.body.secret;
    await giveProjectCredentials(p, projectId);
    const web = await seedSubscribers(p.server.db, p.push, projectId, 20, { idPrefix: 'fl', uid: (i) => `web-${i}` });
    p.push.script(web[0]!, [{ status: 410 }], { sticky: true });
    p.push.script(web[1]!, [{ status: 404 }], { sticky: true });
    p.push.script(web[2]!, [{ status: 400 }], { sticky: true });
    // Asks to be tried again after the TTL is over: expired at once (was: 503s until a 3 s TTL ran
    // out, which on a loaded machine ran out before anyone was sent to).
    p.push.script(web[3]!, [{ status: 503, retryAfterSeconds: 3_600 }], { sticky: true });
    const a = (k: string) => apnsToken(`failures-${k}`);
    const f = (k: string) => fcmToken(`failures-${k}`);
    p.apns.script(a('gone'), [{ status: 410 }], { sticky: true });
    p.apns.script(a('bad'), [{ status: 400, reason: 'BadDeviceToken' }], { sticky: true });
    p.fcm.script(f('gone'), [{ status: 404, errorCode: 'UNREGISTERED' }], { sticky: true });
    await subscribeDevice(p, projectId, 'apns', a('gone'), { uid: 'iphone-gone' });
    await subscribeDevice(p, projectId, 'apns', a('bad'), { uid: 'iphone-bad' });
    await subscribeDevice(p, projectId, 'apns', a('ok'), { uid: 'iphone-ok' });
    await subscribeDevice(p, projectId, 'fcm', f('gone'), { uid: 'pixel-gone' });

    const created = await api('POST', `/projects/${projectId}/notifications`, { body: 'Who got it?', ttl: 600 });
    const id: number = created.body.id;
    const n = await waitForNotification(p.server, id);
    expect(n).toMatchObject({ scheduled_count: 24, pruned_count: 5, failed_count: 1, expired_count: 1, successfully_sent_count: 17 });

    const failures = await api('GET', `/notifications/${id}/failures`);
    expect(failures.status).toBe(200);
    expect(failures.body.next_cursor).toBeNull();
    expect(failures.body.data.map(brief).sort()).toEqual(
      [
        ['web-0', 'web', 'pruned', 410, null],
        ['web-1', 'web', 'pruned', 404, null],
        ['web-2', 'web', 'failed', 400, 'http_400'],
        ['web-3', 'web', 'expired', null, null],
        ['iphone-gone', 'apns', 'pruned', 410, 'Unregistered'],
        ['iphone-bad', 'apns', 'pruned', 400, 'BadDeviceToken'],
        ['pixel-gone', 'fcm', 'pruned', 404, 'UNREGISTERED'],
      ].sort(),
    );
    // The pruned are deleted, and still listed by their record.
    for (const r of failures.body.data.filter((x: Rec) => x.outcome === 'pruned')) {
      expect((await api('GET', `/projects/${projectId}/subscriptions/${r.subscription_id}`)).status).toBe(404);
    }
    expect((await api('GET', `/notifications/${id}/failures?reason=BadDeviceToken`)).body.data.map((r: Rec) => r.uid)).toEqual(['iphone-bad']);
    // With `failures`, nobody delivered has a record.
    expect((await api('GET', `/notifications/${id}/deliveries?uid=web-5`)).body).toEqual({ data: [], next_cursor: null, record_deliveries: 'failures' });

    // The same, told to the project's webhook, in batched events (a batch goes out when full or a few
    // seconds old, so the expired one, a few seconds later, may come in an event of its own).
    const listed = (type: string) =>
      receiver
        .verified(secret)
        .filter((x) => x.payload.data.notification_id === id && x.payload.type === type)
        .flatMap((x) => x.payload.data.subscriptions);
    await waitFor('every item of both events', () => (listed('subscription.pruned').length === 5 && listed('delivery.failed').length === 2 ? true : undefined));
    const events = receiver.verified(secret).filter((x) => x.payload.data.notification_id === id);
    expect(new Set(events.map((e) => e.payload.type))).toEqual(new Set(['subscription.pruned', 'delivery.failed']));
    expect(events.every((e) => e.payload.data.project_id === projectId)).toBe(true);
    expect(listed('subscription.pruned').map((s: { uid: string; platform: string; reason: string }) => [s.uid, s.platform, s.reason]).sort()).toEqual(
      [
        ['web-0', 'web', 'pruned'],
        ['web-1', 'web', 'pruned'],
        ['iphone-gone', 'apns', 'Unregistered'],
        ['iphone-bad', 'apns', 'BadDeviceToken'],
        ['pixel-gone', 'fcm', 'UNREGISTERED'],
      ].sort(),
    );
    expect(listed('delivery.failed').map((s: { uid: string; reason: string }) => [s.uid, s.reason]).sort()).toEqual([
      ['web-2', 'http_400'],
      ['web-3', 'expired'],
    ]);
  });

  it('with record_deliveries "all", deliveries?uid answers whether a user got the notification', async () => {
    const { projectId } = await createProject(p.server, 'all');
    expect((await api('PATCH', `/projects/${projectId}`, { record_deliveries: 'all' })).status).toBe(200);
    const web = await seedSubscribers(p.server.db, p.push, projectId, 600, { idPrefix: 'all', uid: (i) => `user-${i % 300}` });
    p.push.script(web[7]!, [{ status: 400 }], { sticky: true });
    const id: number = (await api('POST', `/projects/${projectId}/notifications`, { body: 'Did you get it?' })).body.id;
    await waitForNotification(p.server, id);

    // user-5 has two subscriptions, both delivered; user-7's second one failed.
    const five = await api('GET', `/notifications/${id}/deliveries?uid=user-5`);
    expect(five.body.record_deliveries).toBe('all');
    expect(five.body.data.map(brief)).toEqual([
      ['user-5', 'web', 'delivered', null, null],
      ['user-5', 'web', 'delivered', null, null],
    ]);
    expect((await api('GET', `/notifications/${id}/deliveries?uid=user-7`)).body.data.map((r: Rec) => r.outcome).sort()).toEqual(['delivered', 'failed']);
    expect((await api('GET', `/notifications/${id}/deliveries?uid=nobody`)).body.data).toEqual([]);
    // Every recipient has a record, once, read a page at a time.
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Rec[]; next_cursor: string | null } } = await api('GET', `/notifications/${id}/deliveries?per_page=250${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.body.data.map((r) => r.subscription_id));
      cursor = page.body.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(600);
    expect(new Set(seen).size).toBe(600);
    expect((await api('GET', `/notifications/${id}/failures`)).body.data.map((r: Rec) => r.uid)).toEqual(['user-7']);
  });
});

describe('a quota', () => {
  it('held past the TTL: quota_expired; the project hears quota.exhausted once', async () => {
    const { projectId } = await createProject(p.server, 'quota');
    const hook = await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url, events: ['quota.exhausted', 'delivery.failed'] });
    expect((await api('PATCH', `/projects/${projectId}`, { quota_hourly: 5 })).status).toBe(200);
    await seedSubscribers(p.server.db, p.push, projectId, 12, { idPrefix: 'q', uid: (i) => `q-${i}` });
    const id: number = (await api('POST', `/projects/${projectId}/notifications`, { body: 'limited', ttl: 2 })).body.id;
    const n = await waitForNotification(p.server, id);
    expect(n).toMatchObject({ successfully_sent_count: 5, expired_count: 7 });
    const failures = (await api('GET', `/notifications/${id}/failures`)).body.data as Rec[];
    expect(failures.map((r) => r.outcome)).toEqual(Array(7).fill('quota_expired'));
    const exhausted = await waitFor('quota.exhausted', () => {
      const e = receiver.verified(hook.body.secret).filter((x) => x.payload.type === 'quota.exhausted');
      return e.length > 0 ? e : undefined;
    });
    const resetsAt = new Date(Math.floor(Date.now() / 3_600_000 + 1) * 3_600_000).toISOString();
    expect(exhausted.map((e) => e.payload.data)).toEqual([{ project_id: projectId, window: 'hourly', limit: 5, resets_at: resetsAt }]);
    await waitFor('the failed batch', () =>
      receiver.verified(hook.body.secret).some((x) => x.payload.type === 'delivery.failed' && x.payload.data.notification_id === id) ? true : undefined,
    );
    expect(receiver.verified(hook.body.secret).filter((x) => x.payload.type === 'quota.exhausted')).toHaveLength(1);
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
