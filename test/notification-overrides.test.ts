import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Per-platform overrides on create (`web`, `apns`, `fcm`): what the API accepts, stores and refuses.
// Delivery of the merged payloads is tested in mobile-broadcast.test.ts.

let server: TestServer;
let projectId: number;
beforeAll(async () => {
  server = await startTestServer('overrides');
  ({ projectId } = await createProject(server, 'Overrides'));
});
afterAll(async () => server?.close());

const create = (body: Record<string, unknown>) =>
  call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: server.adminToken, body });

describe('overrides', () => {
  it('are stored as given and returned with the notification', async () => {
    const overrides = {
      web: { title: 'Web title', actions: [{ title: 'Open', target_url: 'https://example.com/o' }] },
      apns: { aps: { badge: 1, sound: { critical: 1, name: 'alarm.caf', volume: 0.5 } }, headers: { 'apns-collapse-id': 'c1' }, deep: { a: [1, 'x', null] } },
      fcm: { notification: { title: 'FCM title' }, data: { k: 'v' }, android: { ttl: 60, priority: 'high', notification: { color: '#112233' } } },
    };
    const res = await create({ body: 'Hello', ...overrides });
    expect(res.status).toBe(201);
    const got = await call(server.apiUrl, 'GET', `/notifications/${res.body.id}`, { token: server.adminToken });
    expect({ web: got.body.web, apns: got.body.apns, fcm: got.body.fcm }).toEqual(overrides);
    const plain = await create({ body: 'No overrides' });
    const none = await call(server.apiUrl, 'GET', `/notifications/${plain.body.id}`, { token: server.adminToken });
    expect({ web: none.body.web, apns: none.body.apns, fcm: none.body.fcm }).toEqual({ web: null, apns: null, fcm: null });
  });

  it('work in the wrapped form too', async () => {
    const res = await create({ notification: { body: 'Wrapped', apns: { aps: { badge: 2 } } } });
    expect(res.status).toBe(201);
  });

  it.each([
    [{ web: { title: 'x', colour: 'red' } }, 'web.colour', 'unknown_field'],
    [{ web: { target_url: 'ftp://example.com' } }, 'web.target_url', 'url'],
    [{ web: { actions: [{ title: 'a' }, { title: 'b' }, { title: 'c' }, { title: 'd' }, { title: 'e' }] } }, 'web.actions', 'max_items'],
    [{ apns: { aps: { badges: 1 } } }, 'apns.aps.badges', 'unknown_field'],
    [{ apns: { aps: { badge: -1 } } }, 'apns.aps.badge', 'min'],
    [{ apns: { aps: { 'interruption-level': 'loud' } } }, 'apns.aps.interruption-level', 'invalid_value'],
    [{ apns: { headers: { 'apns-priority': 7 } } }, 'apns.headers.apns-priority', 'invalid_union'],
    [{ apns: { headers: { 'apns-topic': 'com.other' } } }, 'apns.headers.apns-topic', 'unknown_field'],
    [{ apns: { headers: { 'apns-collapse-id': 'x'.repeat(65) } } }, 'apns.headers.apns-collapse-id', 'max_length'],
    [{ apns: { headers: { 'apns-push-type': 'background', 'apns-priority': 10 } } }, 'apns.headers.apns-priority', 'background_priority'],
    [{ fcm: { data: { n: 1 } } }, 'fcm.data.n', 'invalid_type'],
    [{ fcm: { data: { google_x: 'v' } } }, 'fcm.data.google_x', 'reserved_key'],
    [{ fcm: { android: { priority: 'urgent' } } }, 'fcm.android.priority', 'invalid_value'],
    [{ fcm: { android: { notification: { color: 'red' } } } }, 'fcm.android.notification.color', 'regex'],
    [{ fcm: { android: { notification: { sticky: true } } } }, 'fcm.android.notification.sticky', 'unknown_field'],
    [{ fcm: { webpush: {} } }, 'fcm.webpush', 'unknown_field'],
  ])('%j is refused naming %s (%s)', async (override, field, rule) => {
    const res = await create({ body: 'Hello', ...override });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation', field, rule });
  });

  it('a payload one platform could not carry is refused, naming that platform', async () => {
    const big = 'x'.repeat(3500);
    const apns = await create({ body: 'Hello', apns: { blob: big, more: big } });
    expect(apns.status).toBe(422);
    expect(apns.body).toMatchObject({ field: 'apns', rule: 'payload_too_large', limit: 4096 });
    expect(apns.body.size).toBeGreaterThan(4096);
    const fcm = await create({ body: 'Hello', fcm: { data: { a: big, b: big } } });
    expect(fcm.status).toBe(422);
    expect(fcm.body).toMatchObject({ field: 'fcm', rule: 'payload_too_large', limit: 4096 });
    const web = await create({ body: 'Hello', web: { custom_data: 'y'.repeat(2000), body: 'z'.repeat(2500) } });
    expect(web.status).toBe(422);
    expect(web.body).toMatchObject({ field: 'payload', rule: 'payload_too_large' });
  });
});
