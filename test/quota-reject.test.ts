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

  it('only an admin sets a quota', async () => {
    const { projectId } = await createProject(p.server, 'owner');
    const token = (await admin('POST', '/access_tokens', { name: 'owner', project_ids: [projectId] })).body.token;
    const res = await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token, body: { quota_daily: 0 } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ rule: 'admin_required' });
    expect((await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token, body: { name: 'Renamed' } })).status).toBe(200);
  });
});
