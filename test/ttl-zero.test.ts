import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsToken, fcmToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// `ttl: 0` is "deliver now or drop": every platform gets the message at once with a TTL of 0 (Web
// Push `TTL: 0`, APNs `apns-expiration: 0`, FCM `android.ttl: "0s"`), as the local push services
// see it on the wire; what a push service cannot take at once is dropped, not tried again later.

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('ttl0');
  await p.startWorker();
});
afterAll(async () => p?.close());

const create = (projectId: number, body: Record<string, unknown>) =>
  call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: p.server.adminToken, body });

/** A project with one browser, one iPhone and one Android device; `label` keeps their ids apart. */
async function audience(label: string, projectFields: Record<string, unknown> = {}) {
  const { projectId } = await createProject(p.server, label);
  if (Object.keys(projectFields).length > 0) {
    const res = await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token: p.server.adminToken, body: projectFields });
    expect(res.status).toBe(200);
  }
  await giveProjectCredentials(p, projectId);
  const [browser] = await seedSubscribers(p.server.db, p.push, projectId, 1, { idPrefix: `${label}-web` });
  const iphone = apnsToken(`${label}-iphone`);
  const pixel = fcmToken(`${label}-pixel`);
  await subscribeDevice(p, projectId, 'apns', iphone);
  await subscribeDevice(p, projectId, 'fcm', pixel);
  return { projectId, browser: browser!, iphone, pixel };
}

/** What each local push service received for this audience, and with which TTL. */
function wire(a: { browser: string; iphone: string; pixel: string }) {
  return {
    web: p.push.receivedFor(a.browser).map((m) => ({ status: m.status, ttl: m.ttl })),
    apns: p.apns.receivedFor(a.iphone).map((m) => ({ status: m.status, expiration: m.headers.expiration })),
    fcm: p.fcm.receivedFor(a.pixel).map((m) => ({ status: m.status, ttl: (m.message as { android?: { ttl?: string } }).android?.ttl })),
  };
}

const delivered = { scheduled_count: 1, successfully_sent_count: 1, pruned_count: 0, expired_count: 0, failed_count: 0, failures: {} };

describe('ttl 0', () => {
  it("a notification's ttl 0 is sent at once on every platform with a TTL of 0", async () => {
    const a = await audience('n-ttl0');
    const res = await create(a.projectId, { title: 'Now', body: 'or never', ttl: 0 });
    expect(res.status).toBe(201);
    const n = await waitForNotification(p.server, res.body.id);

    expect(wire(a)).toEqual({
      web: [{ status: 201, ttl: 0 }],
      apns: [{ status: 200, expiration: '0' }],
      fcm: [{ status: 200, ttl: '0s' }],
    });
    expect(n).toMatchObject({ ttl: 0, successfully_sent_count: 3, expired_count: 0 });
    expect(n.platforms).toEqual({ web: delivered, apns: delivered, fcm: delivered });
  });

  it("a project's notifications_ttl 0 is the default of its notifications, sent the same way", async () => {
    const a = await audience('p-ttl0', { notifications_ttl: 0 });
    const res = await create(a.projectId, { body: 'project default' });
    expect(res.status).toBe(201);
    const n = await waitForNotification(p.server, res.body.id);

    expect(wire(a)).toEqual({
      web: [{ status: 201, ttl: 0 }],
      apns: [{ status: 200, expiration: '0' }],
      fcm: [{ status: 200, ttl: '0s' }],
    });
    expect(n).toMatchObject({ ttl: 0, successfully_sent_count: 3, expired_count: 0 });
  });

  it('what a push service cannot take at once is dropped as expired, never sent later', async () => {
    const a = await audience('busy-ttl0');
    p.push.script(a.browser, [{ status: 429, retryAfterSeconds: 1 }]);
    p.apns.script(a.iphone, [{ status: 503 }]);
    const res = await create(a.projectId, { body: 'busy', ttl: 0 });
    const n = await waitForNotification(p.server, res.body.id);

    const got = wire(a);
    expect(got.web).toEqual([{ status: 429, ttl: 0 }]);
    expect(got.apns).toEqual([{ status: 503, expiration: '0' }]);
    expect(got.fcm).toEqual([{ status: 200, ttl: '0s' }]);
    expect(n).toMatchObject({ successfully_sent_count: 1, expired_count: 2, failed_count: 0 });

    // A notification with a TTL, answered the same way, is tried again and delivered.
    const b = await audience('busy-ttl60');
    p.push.script(b.browser, [{ status: 429, retryAfterSeconds: 1 }]);
    const later = await waitForNotification(p.server, (await create(b.projectId, { body: 'busy', ttl: 60 })).body.id);
    expect(p.push.receivedFor(b.browser).map((m) => m.status)).toEqual([429, 201]);
    expect(later).toMatchObject({ successfully_sent_count: 3, expired_count: 0 });
  });
});
