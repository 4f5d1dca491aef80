import { insertWebSubscriptionsBulk, purgeDeletedProject, snapshotSubscriberCounts } from '@pushcast/store';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeImportSubscriptionsProcessor } from '../apps/worker/src/processors/import-subscriptions.ts';
import { apnsToken, fcmToken } from './support/devices.ts';
import { createProject, scopedToken } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// The statistics the console reads (issue 17): subscriber counts kept by triggers as subscriptions
// come and go by every path (API, bulk insert, delete, re-import of the same endpoint), held here
// to a COUNT(*) of the rows; the daily snapshots; notifications of the last 24 hours; the audience
// of a filter before sending.

let s: TestServer;
let projectId: number;
let otherId: number;

beforeAll(async () => {
  s = await startTestServer('project_stats');
  ({ projectId } = await createProject(s, 'Stats'));
  ({ projectId: otherId } = await createProject(s, 'Other'));
});
afterAll(async () => s?.close());

const admin = (method: string, path: string, body?: unknown) => call(s.apiUrl, method, path, { token: s.adminToken, body });

/** What the rows say, counted the slow way. */
async function counted(id: number) {
  const { rows } = await s.db.query<{ platform: string; n: number }>(
    `SELECT platform, count(*)::bigint AS n FROM subscriptions WHERE project_id = $1 AND state = 'active' GROUP BY platform`,
    [id],
  );
  const c = { web: 0, apns: 0, fcm: 0 } as Record<string, number>;
  for (const r of rows) c[r.platform] = r.n;
  return { total: c.web! + c.apns! + c.fcm!, web: c.web, apns: c.apns, fcm: c.fcm };
}

const stats = async (id: number, query = '') => {
  const res = await admin('GET', `/projects/${id}/stats${query}`);
  expect(res.status).toBe(200);
  return res.body;
};

describe('subscriber statistics', () => {
  it('counts subscriptions per platform by every path that adds or removes them', async () => {
    expect((await stats(projectId)).subscribers).toEqual({ total: 0, web: 0, apns: 0, fcm: 0 });

    const endpoint = localEndpoint();
    const web = await admin('POST', `/projects/${projectId}/subscriptions`, { endpoint, ...browserKeys(), tags: ['news'] });
    expect(web.status).toBe(201);
    // The same endpoint again updates its row: still one.
    expect((await admin('POST', `/projects/${projectId}/subscriptions`, { endpoint, ...browserKeys(), tags: ['news', 'sport'] })).status).toBe(201);
    for (const [platform, token] of [
      ['apns', apnsToken('a1')],
      ['apns', apnsToken('a2')],
      ['fcm', fcmToken('f1')],
    ] as const) {
      expect((await admin('POST', `/projects/${projectId}/subscriptions`, { platform, token, tags: ['sport'] })).status).toBe(201);
    }
    // A bulk insert of 1,200 (one statement per batch), and one into another project.
    await insertWebSubscriptionsBulk(
      s.db,
      projectId,
      Array.from({ length: 1200 }, (_, i) => ({ endpoint: localEndpoint(), ...browserKeys(), uid: `u${i}`, tags: i % 3 === 0 ? ['news'] : [] })),
    );
    await insertWebSubscriptionsBulk(s.db, otherId, [{ endpoint: localEndpoint(), ...browserKeys(), uid: null, tags: [] }]);
    // A bulk import through the API (applied here as a worker would): one row already there, two new.
    const ndjson = [endpoint, localEndpoint(), localEndpoint()].map((e) => JSON.stringify({ endpoint: e, ...browserKeys() })).join('\n');
    const upload = await fetch(`${s.apiUrl}/projects/${projectId}/subscriptions/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.adminToken}`, 'content-type': 'application/x-ndjson' },
      body: ndjson,
    });
    expect(upload.status).toBe(202);
    const { id: importId } = (await upload.json()) as { id: number };
    // Applied here, by the worker's processor (this server runs no worker); two lanes, as in production.
    await makeImportSubscriptionsProcessor({ db: s.db, logger: pino({ level: 'silent' }) })({ importId }, { id: 'test', updateProgress: async () => {} } as any);
    expect((await admin('GET', `/imports/${importId}`)).body).toMatchObject({ status: 'completed', inserted: 2, updated: 1 });
    expect((await admin('DELETE', `/projects/${projectId}/subscriptions/${web.body.id}`)).status).toBe(204);
    // Many rows deleted in one statement.
    await s.db.query(`DELETE FROM subscriptions WHERE project_id = $1 AND uid IN ('u1', 'u2', 'u4', 'u5')`, [projectId]);

    const expected = await counted(projectId);
    expect(expected).toEqual({ total: 1201, web: 1198, apns: 2, fcm: 1 });
    expect((await stats(projectId)).subscribers).toEqual(expected);
    expect((await stats(otherId)).subscribers).toEqual(await counted(otherId));
  });

  it('lists every visible project with its subscribers and notifications of the last 24 hours', async () => {
    for (const body of ['one', 'two']) expect((await admin('POST', `/projects/${projectId}/notifications`, { body, tags: ['nobody'] })).status).toBe(201);
    // A notification created two days ago is not of the last 24 hours.
    const old = await admin('POST', `/projects/${projectId}/notifications`, { body: 'old', tags: ['nobody'] });
    await s.db.query(`UPDATE notifications SET created_at = now() - interval '2 days' WHERE id = $1`, [old.body.id]);

    const all = await admin('GET', '/stats/projects');
    expect(all.status).toBe(200);
    expect(all.body).toEqual([
      { project_id: projectId, subscribers: await counted(projectId), notifications_last_24h: 2 },
      { project_id: otherId, subscribers: { total: 1, web: 1, apns: 0, fcm: 0 }, notifications_last_24h: 0 },
    ]);
    expect((await stats(projectId)).notifications_last_24h).toBe(2);

    // A scoped token sees its own project only, and no other's statistics.
    const token = await scopedToken(s, [otherId]);
    const scoped = await call(s.apiUrl, 'GET', '/stats/projects', { token });
    expect(scoped.body.map((x: any) => x.project_id)).toEqual([otherId]);
    expect((await call(s.apiUrl, 'GET', `/projects/${projectId}/stats`, { token })).status).toBe(403);
    expect((await call(s.apiUrl, 'GET', `/projects/${projectId}/audience`, { token })).status).toBe(403);
  });

  it('answers subscribers over time from daily snapshots, today live', async () => {
    const today = new Date().toISOString().slice(0, 10);
    const day = (ago: number) => new Date(Date.now() - ago * 86_400_000).toISOString().slice(0, 10);
    // Set-up: what earlier days' snapshots would have left.
    await s.db.query(
      `INSERT INTO subscription_count_days (project_id, day, platform, n) VALUES
       ($1, $2, 'web', 10), ($1, $2, 'apns', 1), ($1, $3, 'web', 500), ($1, $4, 'web', 7)`,
      [projectId, day(3), day(1), day(40)],
    );
    const live = await counted(projectId);
    const { subscribers_over_time: series } = await stats(projectId);
    expect(series).toEqual([
      { day: day(3), subscribers: { total: 11, web: 10, apns: 1, fcm: 0 } },
      { day: day(1), subscribers: { total: 500, web: 500, apns: 0, fcm: 0 } },
      { day: today, subscribers: live },
    ]);
    expect((await stats(projectId, '?days=60')).subscribers_over_time[0]).toEqual({ day: day(40), subscribers: { total: 7, web: 7, apns: 0, fcm: 0 } });
    expect((await stats(projectId, '?days=1')).subscribers_over_time).toEqual([{ day: today, subscribers: live }]);
    for (const bad of ['0', '367', 'x', '1.5']) {
      const res = await admin('GET', `/projects/${projectId}/stats?days=${bad}`);
      expect(res.status).toBe(422);
      expect(res.body.field).toBe('days');
    }

    // The workers' snapshot writes today's counts (and again, replacing them).
    await snapshotSubscriberCounts(s.db);
    await snapshotSubscriberCounts(s.db);
    const { rows } = await s.db.query(
      `SELECT platform, n FROM subscription_count_days WHERE project_id = $1 AND day = $2::date ORDER BY platform`,
      [projectId, today],
    );
    expect(rows).toEqual([
      { platform: 'apns', n: live.apns },
      { platform: 'fcm', n: live.fcm },
      { platform: 'web', n: live.web },
    ]);
  });

  it('counts the audience of a filter before a notification is sent', async () => {
    const audience = async (query: string) => {
      const res = await admin('GET', `/projects/${projectId}/audience${query}`);
      return res;
    };
    const rows = async (where: string) =>
      Number((await s.db.query(`SELECT count(*) AS n FROM subscriptions WHERE project_id = $1 AND state = 'active' AND ${where}`, [projectId])).rows[0].n);
    expect((await audience('')).body).toEqual({ count: (await counted(projectId)).total, exact: true });
    expect((await audience('?platform=apns')).body).toEqual({ count: 2, exact: true });
    const news = await audience(`?tags[]=${encodeURIComponent('news && !sport')}`);
    expect(news.body).toEqual({ count: await rows(`'news' = ANY(tags) AND NOT 'sport' = ANY(tags)`), exact: true });
    expect(news.body.count).toBeGreaterThan(300);
    expect((await audience('?tags[]=sport')).body).toEqual({ count: 3, exact: true });
    expect((await audience('?uids[]=u0&uids[]=u3&uids[]=u1&uids[]=nobody')).body).toEqual({ count: 2, exact: true });
    // An expression still being typed: a 400 naming the field, which a form shows as it is typed.
    const broken = await audience(`?tags[]=${encodeURIComponent('news && (')}`);
    expect(broken.status).toBe(400);
    expect(broken.body).toMatchObject({ field: 'tags.0' });
    expect((await audience('?platform=pigeon')).status).toBe(422);
    expect((await admin('GET', '/projects/999999/audience')).status).toBe(404);
  });

  it('previews an audience of more than 10,000 as an estimate, and says so', async () => {
    const { projectId: big } = await createProject(s, 'Crowd');
    await insertWebSubscriptionsBulk(
      s.db,
      big,
      Array.from({ length: 12_000 }, (_, i) => ({ endpoint: localEndpoint(), ...browserKeys(), uid: null, tags: i % 4 === 0 ? ['crowd', 'few'] : ['crowd'] })),
    );
    await s.db.query('ANALYZE subscriptions');
    const preview = async (tags: string) => (await admin('GET', `/projects/${big}/audience?tags[]=${encodeURIComponent(tags)}`)).body;
    const crowd = await preview('crowd');
    expect(crowd.exact).toBe(false);
    // PostgreSQL's estimate: never below the 10,001 counted before giving up, near the truth.
    expect(crowd.count).toBeGreaterThan(10_000);
    expect(crowd.count).toBeLessThan(12_000 * 3);
    expect(await preview('few')).toEqual({ count: 3_000, exact: true });
  });

  it("forgets a purged project's statistics", async () => {
    const { projectId: doomed } = await createProject(s, 'Doomed');
    await insertWebSubscriptionsBulk(s.db, doomed, [{ endpoint: localEndpoint(), ...browserKeys(), uid: null, tags: [] }]);
    await snapshotSubscriberCounts(s.db);
    expect((await admin('DELETE', `/projects/${doomed}`)).status).toBe(202);
    while (!(await purgeDeletedProject(s.db, doomed, 1000)));
    for (const table of ['subscription_counts', 'subscription_count_days']) {
      expect((await s.db.query(`SELECT 1 FROM ${table} WHERE project_id = $1`, [doomed])).rowCount).toBe(0);
    }
  });
});
