import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// Per-project quotas, enforced by workers racing over Redis, on a clock the test moves.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The workers' clock: real time plus an offset the test moves forward by whole hours and days. */
let offset = 0;
const now = () => Date.now() + offset;

let p: Pipeline;
beforeAll(async () => {
  // 01:01 UTC tomorrow: the test then stays inside each hour it moves to for its real duration, and
  // the hours it walks through belong to one day.
  offset = Math.floor(Date.now() / DAY) * DAY + DAY + HOUR + 60_000 - Date.now();
  p = await startPipeline('quotas');
  for (let i = 0; i < 8; i += 1) await p.startWorker({ now }, { QUOTA_RECHECK_MS: '100', WORKER_CONCURRENCY: '4' });
});
afterAll(async () => p?.close());

const admin = (method: string, path: string, body?: unknown) => call(p.server.apiUrl, method, path, { token: p.server.adminToken, body });

/** Deliveries (201s) among these ids at the local push service. */
const delivered = (ids: readonly string[]) => ids.reduce((n, id) => n + p.push.receivedFor(id).filter((m) => m.status === 201).length, 0);

/**
 * Waits until the count stops moving for `quietMs` (every chunk deferred or done), and returns it.
 * With `grows`, the quiet only counts once the count has moved: on a busy machine the workers may
 * take longer than `quietMs` to start on a new window, and that pause is not the end of it.
 */
async function settled(count: () => number, { grows = true, quietMs = 1500, timeoutMs = 60_000 } = {}): Promise<number> {
  const until = Date.now() + timeoutMs;
  const start = count();
  let last = start;
  let since = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, 100));
    const c = count();
    if (c !== last) {
      last = c;
      since = Date.now();
    } else if (Date.now() - since >= quietMs && (!grows || c !== start)) return c;
    if (Date.now() > until) throw new Error(c === start ? `no move from ${c} within ${timeoutMs} ms` : `still moving after ${timeoutMs} ms: ${c}`);
  }
}

describe('hourly and daily quotas', () => {
  it('eight workers never pass the hour’s or the day’s limit; the rest follows window by window; unused reservations are reused', { timeout: 180_000 }, async () => {
    const { projectId } = await createProject(p.server, 'quota');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_hourly: 1000, quota_daily: 2500 })).status).toBe(200);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 5000, { idPrefix: 'q' });
    // 100 recipients the push service refuses: their reservations go back and are used by others.
    const gone = ids.filter((_, i) => i % 100 === 7);
    const failing = ids.filter((_, i) => i % 100 === 8);
    for (const id of gone) p.push.script(id, [{ status: 410 }], { sticky: true });
    for (const id of failing) p.push.script(id, [{ status: 400 }], { sticky: true });
    const deliverable = ids.length - gone.length - failing.length;

    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Metered', ttl: 2_419_200 });
    expect(res.status).toBe(201);

    // Hour 1: exactly 1,000 delivered, whatever the 410s and 400s took along the way.
    expect(await settled(() => delivered(ids))).toBe(1000);
    const quota = await admin('GET', `/projects/${projectId}/quota`);
    expect(quota.body).toMatchObject({ hourly_limit: 1000, daily_limit: 2500 });

    offset += HOUR; // hour 2
    expect(await settled(() => delivered(ids))).toBe(2000);
    offset += HOUR; // hour 3: the day's 2,500 caps it
    expect(await settled(() => delivered(ids))).toBe(2500);
    offset += HOUR; // hour 4: still the same day, nothing more
    expect(await settled(() => delivered(ids), { grows: false })).toBe(2500);

    // The next day: 1,000 an hour again until everyone has it.
    offset = Math.floor(now() / DAY) * DAY + DAY + 60_000 - Date.now();
    expect(await settled(() => delivered(ids))).toBe(3500);
    offset += HOUR;
    expect(await settled(() => delivered(ids))).toBe(4500);
    offset += HOUR;
    expect(await settled(() => delivered(ids))).toBe(deliverable);

    const n = await waitForNotification(p.server, res.body.id);
    expect(n).toMatchObject({ successfully_sent_count: deliverable, pruned_count: 50, failed_count: 50, expired_count: 0 });
    // Nobody received it twice.
    for (const id of ids) expect(p.push.receivedFor(id).filter((m) => m.status === 201).length).toBeLessThanOrEqual(1);
  });

  it('a notification whose TTL runs out while deferred is counted expired, not sent late', { timeout: 60_000 }, async () => {
    const { projectId } = await createProject(p.server, 'quota-ttl');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_hourly: 10 })).status).toBe(200);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 25, { idPrefix: 'qt' });
    // The TTL counts from the (real) creation time; the workers' clock is already hours ahead, so
    // give it room for that, then move past it within the same hour.
    const ttl = Math.ceil(offset / 1000) + 600;
    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Soon stale', ttl });
    expect(await settled(() => delivered(ids))).toBe(10);
    offset += 20 * 60_000;
    const n = await waitForNotification(p.server, res.body.id);
    expect(n).toMatchObject({ successfully_sent_count: 10, expired_count: 15, failed_count: 0 });
    expect(delivered(ids)).toBe(10);
  });
});
