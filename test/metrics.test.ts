import { queueNames } from '@pushcast/queues';
import type { RunningWorker } from '@pushcast/worker';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apnsToken, fcmToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { samplesOf, sampleValue, scrape, type Exposition } from './support/prometheus.ts';

// Prometheus metrics: a worker's on its own port, the API's on the API's, parsed strictly, and
// counters that move by exactly what a broadcast did.

const HOUR = 3_600_000;
/** The worker's clock: real time plus an offset the quota test moves (BullMQ's delays stay real). */
let offset = 0;
const now = () => Date.now() + offset;

let p: Pipeline;
let worker: RunningWorker;
let workerMetrics: string;
let apiMetrics: string;
beforeAll(async () => {
  p = await startPipeline('metrics');
  worker = await p.startWorker({ now }, { QUOTA_RECHECK_MS: '100' });
  workerMetrics = `http://127.0.0.1:${worker.metricsPort}/metrics`;
  apiMetrics = `${p.server.url}/metrics`;
});
afterAll(async () => p?.close());
beforeEach(() => {
  offset = 0;
});

const admin = (method: string, path: string, body?: unknown) => call(p.server.apiUrl, method, path, { token: p.server.adminToken, body });

/** How much every series of `name` with these labels moved between two scrapes. */
const delta = (before: Exposition, after: Exposition, name: string, labels: Record<string, string> = {}) =>
  sampleValue(after, name, labels) - sampleValue(before, name, labels);

const OUTCOMES = ['delivered', 'pruned', 'retry', 'failed', 'expired'] as const;
const sends = (before: Exposition, after: Exposition, provider: string) =>
  Object.fromEntries(OUTCOMES.map((outcome) => [outcome, delta(before, after, 'pushcast_sends_total', { provider, outcome })]));

describe('metrics', () => {
  it('a worker serves its own registry on METRICS_PORT, with queue depth for every queue and state, every name prefixed', async () => {
    expect(worker.metricsPort).toBeGreaterThan(0);
    expect(worker.metricsPort).not.toBe(9464); // METRICS_PORT=0: a free port, so workers in one process do not collide
    const [w, a] = await Promise.all([scrape(workerMetrics), scrape(apiMetrics)]);
    for (const e of [w, a]) {
      for (const name of e.types.keys()) expect(name).toMatch(/^pushcast_/);
      for (const queue of queueNames) {
        for (const state of ['waiting', 'prioritized', 'delayed', 'active', 'failed']) {
          expect(samplesOf(e, 'pushcast_queue_jobs', { queue, state })).toHaveLength(1);
        }
      }
      expect(samplesOf(e, 'pushcast_queue_jobs')).toHaveLength(queueNames.length * 5);
    }
    // The API does not send; the worker does not answer HTTP requests of the API.
    expect(w.types.get('pushcast_sends_total')).toBe('counter');
    expect(a.types.has('pushcast_sends_total')).toBe(false);
    expect(a.types.get('pushcast_http_request_duration_seconds')).toBe('histogram');
    expect(w.types.has('pushcast_http_requests_total')).toBe(false);
  });

  it('queue depth follows the queue: a delayed job is counted, then gone', async () => {
    const { projectId } = await createProject(p.server, 'scheduled');
    await seedSubscribers(p.server.db, p.push, projectId, 1, { idPrefix: 'sched' });
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const before = await scrape(workerMetrics);
    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'later', send_at: sendAt });
    expect(res.status).toBe(201);
    const during = await scrape(apiMetrics);
    expect(sampleValue(during, 'pushcast_queue_jobs', { queue: 'plan', state: 'delayed' })).toBe(
      sampleValue(before, 'pushcast_queue_jobs', { queue: 'plan', state: 'delayed' }) + 1,
    );
    expect((await admin('DELETE', `/notifications/${res.body.id}/cancel`)).status).toBe(204);
    const after = await scrape(workerMetrics);
    expect(sampleValue(after, 'pushcast_queue_jobs', { queue: 'plan', state: 'delayed' })).toBe(
      sampleValue(before, 'pushcast_queue_jobs', { queue: 'plan', state: 'delayed' }),
    );
  });

  it('a Web Push broadcast moves the worker’s counters by exactly its sends (410/404 pruned, 429 once retried, 400 failed)', async () => {
    const { projectId } = await createProject(p.server, 'web');
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 40, { idPrefix: 'metrics-web' });
    const gone = ids.slice(0, 5);
    const throttled = ids.slice(5, 8);
    const refused = ids.slice(8, 10);
    gone.forEach((id, i) => p.push.script(id, [{ status: i === 0 ? 404 : 410 }], { sticky: true }));
    for (const id of throttled) p.push.script(id, [{ status: 429, retryAfterSeconds: 1 }]);
    for (const id of refused) p.push.script(id, [{ status: 400 }], { sticky: true });

    const [before, apiBefore] = await Promise.all([scrape(workerMetrics), scrape(apiMetrics)]);
    const accepted = p.push.counters().byStatus[201] ?? 0;
    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Counted' });
    expect(res.status).toBe(201);
    const n = await waitForNotification(p.server, res.body.id);
    expect(n).toMatchObject({ successfully_sent_count: 33, pruned_count: 5, failed_count: 2 });
    const [after, apiAfter] = await Promise.all([scrape(workerMetrics), scrape(apiMetrics)]);

    expect(sends(before, after, 'web')).toEqual({ delivered: 33, pruned: 5, retry: 3, failed: 2, expired: 0 });
    expect((p.push.counters().byStatus[201] ?? 0) - accepted).toBe(33); // what the push service accepted, seen from its side
    expect(delta(before, after, 'pushcast_subscriptions_pruned_total', { provider: 'web' })).toBe(5);
    expect(delta(before, after, 'pushcast_chunk_retries_total', { provider: 'web' })).toBe(1); // one chunk, one round
    expect(samplesOf(after, 'pushcast_chunk_deferrals_total')).toEqual([]);
    for (const provider of ['apns', 'fcm']) expect(Object.values(sends(before, after, provider))).toEqual([0, 0, 0, 0, 0]);

    // One request per recipient, plus the three sent again; none left in flight, under the push service's origin.
    expect(delta(before, after, 'pushcast_provider_request_duration_seconds_count', { provider: 'web' })).toBe(43);
    expect(delta(before, after, 'pushcast_provider_request_duration_seconds_bucket', { provider: 'web', le: '+Inf' })).toBe(43);
    expect(samplesOf(after, 'pushcast_provider_requests_in_flight', { provider: 'web' })).toEqual([
      { name: 'pushcast_provider_requests_in_flight', labels: { provider: 'web', origin: p.push.origin }, value: 0 },
    ]);

    // The API counted the create under its route pattern, never the raw URL.
    const created = { method: 'POST', route: '/api/v1/projects/:projectId/notifications', status: '201' };
    expect(delta(apiBefore, apiAfter, 'pushcast_http_requests_total', created)).toBe(1);
    expect(delta(apiBefore, apiAfter, 'pushcast_http_request_duration_seconds_count', created)).toBe(1);
    expect(sampleValue(apiAfter, 'pushcast_http_requests_total', { method: 'GET', route: '/api/v1/notifications/:id', status: '200' })).toBeGreaterThan(0);
    expect((await fetch(`${p.server.url}/no/such/route/${projectId}`)).status).toBe(404);
    const apiLast = await scrape(apiMetrics);
    expect(sampleValue(apiLast, 'pushcast_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    for (const s of samplesOf(apiLast, 'pushcast_http_requests_total')) expect(s.labels.route).not.toMatch(/\/\d+(\/|$)/);
  });

  it('APNs and FCM count per provider, with requests under their own origins', async () => {
    const { projectId } = await createProject(p.server, 'devices');
    await giveProjectCredentials(p, projectId);
    const iphones = ['a', 'b', 'c'].map((l) => apnsToken(`metrics-${l}`));
    const pixels = ['a', 'b', 'c'].map((l) => fcmToken(`metrics-${l}`));
    for (const t of iphones) await subscribeDevice(p, projectId, 'apns', t);
    for (const t of pixels) await subscribeDevice(p, projectId, 'fcm', t);
    p.apns.script(iphones[0]!, [{ status: 410 }], { sticky: true });
    p.fcm.script(pixels[0]!, [{ status: 404 }], { sticky: true });

    const before = await scrape(workerMetrics);
    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Devices' });
    expect(res.status).toBe(201);
    await waitForNotification(p.server, res.body.id);
    const after = await scrape(workerMetrics);

    for (const provider of ['apns', 'fcm']) {
      expect(sends(before, after, provider)).toEqual({ delivered: 2, pruned: 1, retry: 0, failed: 0, expired: 0 });
      expect(delta(before, after, 'pushcast_subscriptions_pruned_total', { provider })).toBe(1);
    }
    expect(Object.values(sends(before, after, 'web'))).toEqual([0, 0, 0, 0, 0]);
    // One request per device on either.
    expect(delta(before, after, 'pushcast_provider_request_duration_seconds_count', { provider: 'apns' })).toBe(3);
    expect(delta(before, after, 'pushcast_provider_request_duration_seconds_count', { provider: 'fcm' })).toBe(3);
    expect(samplesOf(after, 'pushcast_provider_requests_in_flight', { provider: 'apns' })).toEqual([
      { name: 'pushcast_provider_requests_in_flight', labels: { provider: 'apns', origin: p.apns.origin }, value: 0 },
    ]);
    expect(samplesOf(after, 'pushcast_provider_requests_in_flight', { provider: 'fcm' })).toEqual([
      { name: 'pushcast_provider_requests_in_flight', labels: { provider: 'fcm', origin: 'https://fcm.googleapis.com' }, value: 0 },
    ]);
  });

  it('a chunk held by the project’s quota counts its deferrals, and its sends once the window resets', async () => {
    // 00:01 past the next full hour: the quota window cannot reset by itself during the test.
    offset = Math.floor(Date.now() / HOUR) * HOUR + HOUR + 60_000 - Date.now();
    const { projectId } = await createProject(p.server, 'quota');
    expect((await admin('PATCH', `/projects/${projectId}`, { quota_hourly: 10 })).status).toBe(200);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 15, { idPrefix: 'metrics-quota' });
    const delivered = () => ids.reduce((sum, id) => sum + p.push.receivedFor(id).filter((m) => m.status === 201).length, 0);

    const before = await scrape(workerMetrics);
    const res = await admin('POST', `/projects/${projectId}/notifications`, { body: 'Metered' });
    expect(res.status).toBe(201);
    // Ten go out, then the chunk keeps coming back every QUOTA_RECHECK_MS (100 ms) while the hour is used up.
    let held: Exposition | undefined;
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 100))) {
      const e = await scrape(workerMetrics);
      if (delta(before, e, 'pushcast_chunk_deferrals_total', { provider: 'web', reason: 'quota' }) >= 3) {
        held = e;
        break;
      }
    }
    expect(held).toBeDefined();
    expect(delivered()).toBe(10);
    expect(sends(before, held!, 'web')).toEqual({ delivered: 10, pruned: 0, retry: 0, failed: 0, expired: 0 });

    offset += HOUR; // the next window
    await waitForNotification(p.server, res.body.id);
    const after = await scrape(workerMetrics);
    expect(delivered()).toBe(15);
    expect(sends(before, after, 'web')).toEqual({ delivered: 15, pruned: 0, retry: 0, failed: 0, expired: 0 });
    expect(delta(before, after, 'pushcast_chunk_deferrals_total', { provider: 'web', reason: 'throttle' })).toBe(0);
    expect(delta(before, after, 'pushcast_chunk_retries_total', { provider: 'web' })).toBe(0);
  });
});
