import { insertNotificationCountingAudience, estimateAudienceOver, insertWebSubscriptionsBulk } from '@pushcast/store';
import { afterAll, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let s: TestServer;
afterAll(async () => s?.close());
// The one-statement create (count, insert, event): above the exact limit it inserts nothing, so the
// create goes on with the estimate (issue 15); within it the row has the count.
it('over the exact limit inserts nothing; within it inserts with the count', async () => {
  s = await startTestServer('onestatement');
  const { projectId } = await createProject(s, 'P');
  const subs = [0, 1, 2].map((i) => ({ endpoint: `https://push.example/${i}`, p256dh: 'BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM', auth: 'tBHItJI5svbpez7KI4CCXg', uid: null, tags: ['t'] }));
  await insertWebSubscriptionsBulk(s.db, projectId, subs as any);
  const n = { projectId, title: 'x', body: 'y', targetUrl: null, iconUrl: null, badgeUrl: null, imageUrl: null, ttl: 60, requireInteraction: false, silent: false, urgent: false, customData: null, actions: [], starred: false, customMetrics: [], topic: null, targetUids: null, targetTags: ['t'], sendAt: null, scheduledCount: 0, overrides: {}, throttleRatePerMinute: null, payloads: null } as any;
  const filter = { projectId, tags: { kind: 'tag', tag: 't' } } as any;
  const before = (await s.db.query('SELECT count(*)::int AS n FROM notifications')).rows[0].n;
  expect(await insertNotificationCountingAudience(s.db, n, filter, 2)).toEqual({ id: null, counted: 3 });
  expect((await s.db.query('SELECT count(*)::int AS n FROM notifications')).rows[0].n).toBe(before);
  expect((await estimateAudienceOver(s.db, filter, 3)).count).toBeGreaterThanOrEqual(3);
  const ok = await insertNotificationCountingAudience(s.db, n, filter, 3);
  expect(ok.counted).toBe(3);
  const row = (await s.db.query('SELECT scheduled_count, status FROM notifications WHERE id = $1', [ok.id])).rows[0];
  expect(row).toEqual({ scheduled_count: 3, status: 'queued' });
});
