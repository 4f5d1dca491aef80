import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// A broadcast end to end: API → plan job → chunk jobs → Web Push (web-push encryption, VAPID,
// HTTP/2) → the local push service, which verifies and decrypts every message.

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('broadcast');
  await p.startWorker();
});
afterAll(async () => p?.close());

const create = (projectId: number, body: Record<string, unknown>) =>
  call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: p.server.adminToken, body });

/** What each id received with a 201, keyed by push id. */
function deliveredById(ids: readonly string[]): Map<string, number> {
  const map = new Map<string, number>();
  for (const id of ids) map.set(id, p.push.receivedFor(id).filter((m) => m.status === 201).length);
  return map;
}

describe('a 10,000-subscriber broadcast with failures', () => {
  const BIG = 10_000;
  it('reaches every live subscriber exactly once, prunes the gone, and counts exactly', { timeout: 240_000 }, async () => {
    const { projectId } = await createProject(p.server, 'big');
    // Ten thousand is many chunks at any chunk size a worker uses; the local push service decrypts
    // every message, so fifty thousand cost the suite ~85 s (twice: once per Node) and proved no more.
    const ids = await seedSubscribers(p.server.db, p.push, projectId, BIG, { idPrefix: 'big' });
    const gone = ids.filter((_, i) => i % 100 === 1);
    const throttled = ids.filter((_, i) => i % 100 === 2);
    const failing = ids.filter((_, i) => i % 100 === 3);
    for (const id of gone) p.push.script(id, [{ status: 410 }], { sticky: true });
    for (const id of throttled) p.push.script(id, [{ status: 429, retryAfterSeconds: 1 }]);
    for (const id of failing) p.push.script(id, [{ status: 500 }]);

    const res = await create(projectId, {
      title: 'Big news',
      body: 'Hello, ten thousand',
      target_url: 'https://example.com/news',
      icon_url: 'https://example.com/icon.png',
      ttl: 3600,
      urgent: true,
      custom_data: 'abc',
      actions: [{ title: 'Read', target_url: 'https://example.com/read', action: 'read' }],
      topic: 'big-news',
    });
    expect(res.status).toBe(201);
    expect(res.body.scheduled).toBe(BIG);
    const n = await waitForNotification(p.server, res.body.id);

    const live = ids.filter((_, i) => i % 100 !== 1);
    const counts = deliveredById(live);
    expect([...counts.values()].filter((c) => c !== 1)).toEqual([]);
    for (const id of gone) expect(p.push.receivedFor(id).filter((m) => m.status === 201)).toHaveLength(0);

    // Every delivered message decrypts to the expected payload under a valid VAPID JWT.
    const messages = p.push.received().filter((m) => m.status === 201 && m.id.startsWith('big'));
    expect(messages).toHaveLength(live.length);
    const expected = {
      id: res.body.id,
      title: 'Big news',
      body: 'Hello, ten thousand',
      icon: 'https://example.com/icon.png',
      target_url: 'https://example.com/news',
      actions: [{ title: 'Read', target_url: 'https://example.com/read', action: 'read' }],
      require_interaction: false,
      silent: false,
      custom_data: 'abc',
    };
    for (const m of messages) {
      expect(m.vapid.valid).toBe(true);
      // Each message carries its recipient's own open-tracking token (always 32 characters).
      expect(JSON.parse(m.plaintext!)).toEqual({ ...expected, open_token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/) });
      expect(m.ttl).toBeGreaterThan(0);
      expect(m.urgency).toBe('high');
      expect(m.topic).toBe('big-news');
    }
    expect(new Set(messages.map((m) => m.httpVersion))).toEqual(new Set(['2.0']));

    // Retries: exactly one 429 then one 201 for the throttled, one 500 then one 201 for the failing.
    for (const id of throttled) expect(p.push.receivedFor(id).map((m) => m.status)).toEqual([429, 201]);
    for (const id of failing) expect(p.push.receivedFor(id).map((m) => m.status)).toEqual([500, 201]);

    expect(n).toMatchObject({
      status: 'sent',
      scheduled_count: BIG,
      successfully_sent_count: live.length,
      pruned_count: gone.length,
      failed_count: 0,
      expired_count: 0,
    });
    const remaining = await call(p.server.apiUrl, 'HEAD', `/projects/${projectId}/subscriptions`, { token: p.server.adminToken });
    expect(remaining.headers.get('x-total-count')).toBe(String(live.length));
  });
});

describe('outcomes that are final failures', () => {
  it('400, 401/403 and 413 are failed with their reason, not retried and not pruned', async () => {
    const { projectId } = await createProject(p.server, 'failures');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 8, { idPrefix: 'fail' });
    p.push.script(ids[0]!, [{ status: 400 }], { sticky: true });
    p.push.script(ids[1]!, [{ status: 403 }], { sticky: true });
    p.push.script(ids[2]!, [{ status: 413 }], { sticky: true });
    p.push.script(ids[3]!, [{ status: 404 }], { sticky: true });
    const res = await create(projectId, { body: 'x' });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n).toMatchObject({ successfully_sent_count: 4, pruned_count: 1, failed_count: 3 });
    expect(n.failures).toEqual({ http_400: 1, vapid_rejected_403: 1, payload_too_large: 1 });
    for (const id of ids.slice(0, 3)) expect(p.push.receivedFor(id)).toHaveLength(1);
    const left = await call(p.server.apiUrl, 'HEAD', `/projects/${projectId}/subscriptions`, { token: p.server.adminToken });
    expect(left.headers.get('x-total-count')).toBe('7');
  });
});

describe('retries until the TTL runs out', () => {
  it('a recipient still throttled when the TTL ends is counted as expired, not sent late', async () => {
    const { projectId } = await createProject(p.server, 'expiry');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 3, { idPrefix: 'exp' });
    // Told to come back after the TTL (a TTL of seconds ran out on a loaded machine before anyone was sent to).
    p.push.script(ids[0]!, [{ status: 429, retryAfterSeconds: 3_600 }]);
    const res = await create(projectId, { body: 'short-lived', ttl: 600 });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n).toMatchObject({ successfully_sent_count: 2, expired_count: 1, failed_count: 0 });
    expect(p.push.receivedFor(ids[0]!).map((m) => m.status)).toEqual([429]);
  });
});

describe('targeting', () => {
  it('uids, tag expressions, uids and tags, and everyone reach exactly their audience', async () => {
    const { projectId } = await createProject(p.server, 'targeting');
    const tagsOf = (i: number) => [['sports'], ['sports', 'travel'], ['travel'], []][i % 4]!;
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 40, {
      idPrefix: 'tg',
      uid: (i) => (i % 5 === 0 ? null : `user${i % 5}`),
      tags: tagsOf,
    });
    const cases: [Record<string, unknown>, (i: number) => boolean, string[] | undefined][] = [
      [{ uids: ['user1', 'user2', 'ghost'] }, (i) => i % 5 === 1 || i % 5 === 2, ['user1', 'user2']],
      [{ tags: ['sports && !travel'] }, (i) => i % 4 === 0, undefined],
      [{ tags: ['travel', 'sports'] }, (i) => i % 4 !== 3, undefined],
      [{ uids: ['user3'], tags: ['sports'] }, (i) => i % 5 === 3 && i % 4 <= 1, ['user3']],
      [{}, () => true, undefined],
    ];
    for (const [target, expected, uids] of cases) {
      p.push.reset();
      const res = await create(projectId, { body: `to ${JSON.stringify(target)}`, ...target });
      const want = ids.filter((_, i) => expected(i));
      expect(res.body.scheduled).toBe(want.length);
      if (uids) expect(res.body.uids).toEqual(uids);
      else expect(res.body).not.toHaveProperty('uids');
      const n = await waitForNotification(p.server, res.body.id);
      expect(n.successfully_sent_count).toBe(want.length);
      expect(p.push.received().map((m) => m.id).sort()).toEqual([...want].sort());
    }
  });
});

describe('statistics per custom metric', () => {
  it('sums the outcomes of the notifications carrying each metric', async () => {
    const { projectId } = await createProject(p.server, 'metrics');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 3, { idPrefix: 'met' });
    p.push.script(ids[0]!, [{ status: 410 }], { sticky: true });
    const first = await create(projectId, { body: 'one', custom_metrics: ['welcome'] });
    await waitForNotification(p.server, first.body.id);
    const second = await create(projectId, { body: 'two', custom_metrics: ['welcome', 'promo'] });
    await waitForNotification(p.server, second.body.id);
    await create(projectId, { body: 'untagged' });
    const res = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/custom_metrics`, { token: p.server.adminToken });
    expect(res.body).toEqual([
      { name: 'promo', notifications_count: 1, scheduled_count: 2, successfully_sent_count: 2, opened_count: 0, pruned_count: 0, expired_count: 0, failed_count: 0 },
      { name: 'welcome', notifications_count: 2, scheduled_count: 5, successfully_sent_count: 4, opened_count: 0, pruned_count: 1, expired_count: 0, failed_count: 0 },
    ]);
  });
});

describe('scheduling and cancel', () => {
  it('a scheduled notification is sent at send_at', async () => {
    const { projectId } = await createProject(p.server, 'scheduled');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 5, { idPrefix: 'sch' });
    const sendAt = new Date(Date.now() + 1500);
    const res = await create(projectId, { body: 'later', send_at: sendAt.toISOString() });
    expect(res.body).toEqual({ id: expect.any(Number), send_at: sendAt.toISOString() });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n.successfully_sent_count).toBe(5);
    for (const id of ids) {
      const [m] = p.push.receivedFor(id);
      expect(m!.at).toBeGreaterThanOrEqual(sendAt.getTime() - 50);
    }
  });

  it('cancelled before it fires, nothing is sent', async () => {
    const { projectId } = await createProject(p.server, 'cancel-early');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 5, { idPrefix: 'cx' });
    const res = await create(projectId, { body: 'never', send_at: new Date(Date.now() + 1000).toISOString() });
    expect((await call(p.server.apiUrl, 'DELETE', `/notifications/${res.body.id}/cancel`, { token: p.server.adminToken })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 2500));
    for (const id of ids) expect(p.push.receivedFor(id)).toHaveLength(0);
    const n = await call(p.server.apiUrl, 'GET', `/notifications/${res.body.id}`, { token: p.server.adminToken });
    expect(n.body).toMatchObject({ cancelled: true, status: 'cancelled', successfully_sent_count: 0 });
  });

  it('cancelled during a broadcast, the chunks not yet sent are not sent', async () => {
    const { projectId } = await createProject(p.server, 'cancel-mid');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 5_000, { idPrefix: 'cm' });
    // Slow answers keep the broadcast going long enough to cancel it half-way.
    for (const id of ids) p.push.script(id, [{ status: 201, delayMs: 100 }]);
    const res = await create(projectId, { body: 'stop me' });
    const until = Date.now() + 30_000;
    while (ids.filter((id) => p.push.receivedFor(id).length > 0).length < 500 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
    }
    // Statistics are live: they move while the broadcast is still sending.
    const live = await waitForNotification(p.server, res.body.id, (n) => n.successfully_sent_count > 0, 30_000);
    expect(live.status).toBe('sending');
    expect(live.successfully_sent_count).toBeLessThan(ids.length);
    expect((await call(p.server.apiUrl, 'DELETE', `/notifications/${res.body.id}/cancel`, { token: p.server.adminToken })).status).toBe(204);
    await new Promise((r) => setTimeout(r, 3000));
    const reached = ids.filter((id) => p.push.receivedFor(id).length > 0).length;
    await new Promise((r) => setTimeout(r, 1000));
    expect(ids.filter((id) => p.push.receivedFor(id).length > 0).length).toBe(reached); // nothing more
    expect(reached).toBeLessThan(ids.length);
    const n = await call(p.server.apiUrl, 'GET', `/notifications/${res.body.id}`, { token: p.server.adminToken });
    expect(n.body).toMatchObject({ cancelled: true });
    // Every chunk that was running keeps the counts of what it sent, whenever the cancel reached it.
    expect(n.body.successfully_sent_count).toBe(reached);
  });
});
