import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// The `reject` policy and the quota endpoint, with the API and the workers on the real clock.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('quota-reject');
  await p.startWorker();
});
afterAll(async () => p?.close());

const admin = (method: string, path: string, body?: unknown) => call(p.server.apiUrl, method, path, { token: p.server.adminToken, body });
const delivered = (ids: readonly string[]) => ids.reduce((n, id) => n + p.push.receivedFor(id).filter((m) => m.status === 201).length, 0);

describe('the reject policy', () => {
  it('refuses with 429 QUOTA_EXCEEDED what the day cannot hold; the quota endpoint shows what was sent', async () => {
    const { projectId } = await createProject(p.server, 'reject');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_daily: 100, quota_policy: 'reject' })).status).toBe(200);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 150, { idPrefix: 'rj', uid: (i) => (i < 80 ? 'early' : 'late') });

    const tooMany = await admin('POST', `/projects/${projectId}/notifications`, { body: 'To all 150' });
    expect(tooMany.status).toBe(429);
    expect(tooMany.body).toMatchObject({ error: 'QUOTA_EXCEEDED', audience: 150, daily_limit: 100, daily_remaining: 100 });
    expect(Number(tooMany.headers.get('retry-after'))).toBeGreaterThan(0);

    const fits = await admin('POST', `/projects/${projectId}/notifications`, { body: 'To 80', uids: ['early'] });
    expect(fits.status).toBe(201);
    await waitForNotification(p.server, fits.body.id);
    expect(delivered(ids)).toBe(80);

    const quota = await admin('GET', `/projects/${projectId}/quota`);
    expect(quota.body).toMatchObject({ daily_limit: 100, daily_remaining: 20, daily_used: 80, hourly_limit: 0, hourly_remaining: null, policy: 'reject' });
    expect(Date.parse(quota.body.reset_daily_at) % DAY).toBe(0);
    expect(Date.parse(quota.body.reset_hourly_at) % HOUR).toBe(0);

    const over = await admin('POST', `/projects/${projectId}/notifications`, { body: 'To 70', uids: ['late'] });
    expect(over.status).toBe(429);
    expect(over.body).toMatchObject({ error: 'QUOTA_EXCEEDED', daily_remaining: 20, audience: 70 });
  });

  it('notifications created at the same moment never together pass the day: the check and the reservation are one step', async () => {
    const { projectId } = await createProject(p.server, 'race');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_daily: 100, quota_policy: 'reject' })).status).toBe(200);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 30, { idPrefix: 'race', uid: () => 'all' });

    // Five at once, 30 recipients each: three fit in 100, the other two must be refused.
    const answers = await Promise.all(Array.from({ length: 5 }, (_, i) => admin('POST', `/projects/${projectId}/notifications`, { body: `Race ${i}`, uids: ['all'] })));
    const accepted = answers.filter((a) => a.status === 201);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 429, 429]);
    for (const refused of answers.filter((a) => a.status === 429)) {
      expect(refused.body).toMatchObject({ error: 'QUOTA_EXCEEDED', audience: 30, daily_limit: 100 });
      expect(refused.body.daily_remaining).toBeLessThan(30);
    }
    for (const a of accepted) await waitForNotification(p.server, a.body.id);
    expect(delivered(ids)).toBe(90);
    expect((await admin('GET', `/projects/${projectId}/quota`)).body).toMatchObject({ daily_used: 90, daily_remaining: 10 });
  });

  it('what a notification holds goes back when it is cancelled or refused', async () => {
    const { projectId } = await createProject(p.server, 'hold');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_daily: 100, quota_policy: 'reject' })).status).toBe(200);
    await seedSubscribers(p.server.db, p.push, projectId, 90, { idPrefix: 'hold', uid: (i) => (i < 60 ? 'many' : 'few') });

    // Scheduled later today: its 60 are held from now, so 30 more do not fit beside them... (40 left)
    const sendAt = new Date(Date.now() + 60_000).toISOString();
    const scheduled = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Later', uids: ['many'], send_at: sendAt });
    expect(scheduled.status).toBe(201);
    const second = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Also later', uids: ['many'], send_at: sendAt });
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({ daily_remaining: 40, audience: 60 });

    // ...until it is cancelled.
    expect((await admin('DELETE', `/notifications/${scheduled.body.id}/cancel`)).status).toBe(204);
    const third = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Now it fits', uids: ['many'], send_at: sendAt });
    expect(third.status).toBe(201);
    expect((await admin('DELETE', `/notifications/${third.body.id}/cancel`)).status).toBe(204);
  });

  it('only an admin sets a quota', async () => {
    const { projectId } = await createProject(p.server, 'owner');
    const token = (await admin('POST', '/access_tokens', { name: 'owner', project_ids: [projectId] })).body.token;
    const res = await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token, body: { quota_daily: 0 } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ rule: 'admin_required' });
    expect((await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token, body: { name: 'Renamed' } })).status).toBe(200);
  });
});
