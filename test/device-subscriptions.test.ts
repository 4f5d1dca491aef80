import { randomBytes } from 'node:crypto';
import Pushpad from 'pushpad';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { createProject, scopedToken } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint, type ApiResponse } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// APNs and FCM devices through the subscriptions API: Pushcast's `platform` and `token` beside
// Pushpad's fields, while a body without `platform` stays the browser subscription it always was.

let server: TestServer;
let projectId: number;

beforeAll(async () => {
  server = await startTestServer('devices');
  ({ projectId } = await createProject(server, 'Devices'));
});
afterAll(async () => server?.close());

const admin = () => ({ token: server.adminToken });
/** A 32-byte APNs device token, as the app gets it from `didRegisterForRemoteNotifications`, in upper case. */
const apnsToken = (bytes = 32) => randomBytes(bytes).toString('hex').toUpperCase();
/** What FCM registration tokens look like: an instance id, a colon, a long URL-safe tail. */
const fcmToken = () => `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(105).toString('base64url')}`;

const subscribe = (body: Record<string, unknown>, project = projectId, token = server.adminToken) =>
  call(server.apiUrl, 'POST', `/projects/${project}/subscriptions`, { token, body });

function expectRefusal(res: ApiResponse, status: number, field: string, rule: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.body).toMatchObject({ code: status === 400 ? 'bad_request' : 'validation', field, rule, error: expect.stringContaining(field) });
}

describe('creating and upserting devices', () => {
  it('imports an APNs device: the token is answered and stored lower-case, web fields are null', async () => {
    const token = apnsToken();
    const res = await subscribe({ platform: 'apns', token, uid: 'alice', tags: ['ios', 'beta'] });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      project_id: projectId,
      endpoint: null,
      p256dh: null,
      auth: null,
      uid: 'alice',
      tags: ['ios', 'beta'],
      last_click_at: null,
      created_at: expect.any(String),
      platform: 'apns',
      token: token.toLowerCase(),
      user_email: null,
    });
    const found = await call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions/${res.body.id}`, admin());
    expect(found.body).toEqual(res.body);
    const { rows } = await server.db.query('SELECT platform, device_token FROM subscriptions WHERE id = $1', [res.body.id]);
    expect(rows[0]).toEqual({ platform: 'apns', device_token: token.toLowerCase() });
  });

  it('the same APNs token again (in either case) updates the row: 201, same id, new uid and tags', async () => {
    const token = apnsToken();
    const first = await subscribe({ platform: 'apns', token: token.toLowerCase(), uid: 'before', tags: ['a'] });
    const second = await subscribe({ platform: 'apns', token, uid: 'after', tags: ['b'] });
    expect(second.status).toBe(201);
    expect(second.body).toMatchObject({ id: first.body.id, uid: 'after', tags: ['b'], token: token.toLowerCase() });
    // No uid given the second time means none, as for web imports.
    const third = await subscribe({ platform: 'apns', token });
    expect(third.body).toMatchObject({ id: first.body.id, uid: null, tags: [] });
    const { rows } = await server.db.query('SELECT count(*)::int AS n FROM subscriptions WHERE device_token = $1', [token.toLowerCase()]);
    expect(rows[0].n).toBe(1);
  });

  it('imports and upserts an FCM device, token kept exactly as given', async () => {
    const token = fcmToken();
    const first = await subscribe({ platform: 'fcm', token, uid: 'bob' });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body).toMatchObject({ platform: 'fcm', token, uid: 'bob', tags: [], endpoint: null });
    const second = await subscribe({ platform: 'fcm', token, tags: ['android'] });
    expect(second.body).toMatchObject({ id: first.body.id, uid: null, tags: ['android'] });
  });

  it('the same token is another subscription on another platform or in another project', async () => {
    const token = randomBytes(32).toString('hex'); // valid both as an APNs and as an FCM token
    const apns = await subscribe({ platform: 'apns', token });
    const fcm = await subscribe({ platform: 'fcm', token });
    const other = await createProject(server, 'Other');
    const elsewhere = await subscribe({ platform: 'apns', token }, other.projectId);
    expect(new Set([apns.body.id, fcm.body.id, elsewhere.body.id]).size).toBe(3);
    expect(elsewhere.body.project_id).toBe(other.projectId);
  });

  it('accepts APNs tokens of 64 and 200 hex digits', async () => {
    for (const bytes of [32, 100]) {
      const res = await subscribe({ platform: 'apns', token: apnsToken(bytes) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
  });

  it('accepts an FCM token of 4,096 characters and one of one character', async () => {
    for (const token of ['x'.repeat(4096), 'y']) {
      const res = await subscribe({ platform: 'fcm', token });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.token).toBe(token);
    }
  });

  it('"platform": "web" with browser fields is a web subscription, as is a body without platform', async () => {
    const explicit = await subscribe({ platform: 'web', endpoint: localEndpoint(), ...browserKeys() });
    expect(explicit.status, JSON.stringify(explicit.body)).toBe(201);
    expect(explicit.body.platform).toBe('web');
    expect(explicit.body).not.toHaveProperty('token');
  });

  it('PATCH changes uid, tags and user_email of a device and DELETE removes it', async () => {
    const token = fcmToken();
    const created = await subscribe({ platform: 'fcm', token, uid: 'u1', user_email: 'u1@example.com' });
    expect(created.body.user_email).toBe('u1@example.com');
    // Registered again without user_email: the one it has is kept.
    expect((await subscribe({ platform: 'fcm', token, uid: 'u1' })).body.user_email).toBe('u1@example.com');
    const path = `/projects/${projectId}/subscriptions/${created.body.id}`;
    const patched = await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { uid: 'u2', tags: ['vip'], user_email: 'u2@example.com' } });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ ...created.body, uid: 'u2', tags: ['vip'], user_email: 'u2@example.com' });
    const badEmail = await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { user_email: 'no at sign' } });
    expect(badEmail.body).toMatchObject({ field: 'user_email', rule: 'email' });
    const cleared = await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { uid: null, user_email: null } });
    expect(cleared.body).toMatchObject({ uid: null, tags: ['vip'], token: created.body.token, user_email: null });
    expect((await call(server.apiUrl, 'DELETE', path, admin())).status).toBe(204);
    expect((await call(server.apiUrl, 'GET', path, admin())).status).toBe(404);
  });

  it('a token scoped to another project cannot add devices here (403)', async () => {
    const other = await createProject(server, 'Scoped');
    const token = await scopedToken(server, [other.projectId]);
    const res = await subscribe({ platform: 'apns', token: apnsToken() }, projectId, token);
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'forbidden', rule: 'project_scope' });
  });
});

describe('listing, counting and filtering by platform', () => {
  let listed: number;

  beforeAll(async () => {
    listed = (await createProject(server, 'Listing')).projectId;
    for (let i = 0; i < 2; i += 1) await subscribe({ endpoint: localEndpoint(), ...browserKeys(), tags: ['news'] }, listed);
    for (let i = 0; i < 3; i += 1) await subscribe({ platform: 'apns', token: apnsToken(), uid: `ios${i}`, tags: i === 0 ? ['news'] : [] }, listed);
    await subscribe({ platform: 'fcm', token: fcmToken(), uid: 'droid', tags: ['news'] }, listed);
  });

  const list = (query: string) => call(server.apiUrl, 'GET', `/projects/${listed}/subscriptions${query}`, admin());
  const head = (query: string) => call(server.apiUrl, 'HEAD', `/projects/${listed}/subscriptions${query}`, admin());

  it('lists every platform without a filter', async () => {
    const res = await list('');
    expect(res.headers.get('x-total-count')).toBe('6');
    expect(res.body.map((s: any) => s.platform)).toEqual(['web', 'web', 'apns', 'apns', 'apns', 'fcm']);
  });

  it.each([
    ['web', 2],
    ['apns', 3],
    ['fcm', 1],
  ])('?platform=%s lists and counts only that platform', async (platform, n) => {
    const res = await list(`?platform=${platform}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('x-total-count')).toBe(String(n));
    expect(res.body).toHaveLength(n);
    expect(res.body.every((s: any) => s.platform === platform)).toBe(true);
    const counted = await head(`?platform=${platform}`);
    expect(counted.status).toBe(200);
    expect(counted.headers.get('x-total-count')).toBe(String(n));
  });

  it('combines platform with tags, uids and pages', async () => {
    expect((await head('?platform=apns&tags[]=news')).headers.get('x-total-count')).toBe('1');
    expect((await head('?tags[]=news')).headers.get('x-total-count')).toBe('4');
    const byUid = await list('?platform=fcm&uids[]=droid&uids[]=ios0');
    expect(byUid.body.map((s: any) => s.uid)).toEqual(['droid']);
    const page2 = await list('?platform=apns&page=2&per_page=2');
    expect(page2.body).toHaveLength(1);
    expect(page2.body[0]).toMatchObject({ platform: 'apns', uid: 'ios2' });
  });

  it('refuses an unknown platform in the query', async () => {
    expectRefusal(await list('?platform=android'), 422, 'platform', 'invalid_value');
  });
});

describe('validation of device bodies names the field and the rule', () => {
  const apns = (fields: Record<string, unknown>) => ({ platform: 'apns', token: apnsToken(), ...fields });
  const fcm = (fields: Record<string, unknown>) => ({ platform: 'fcm', token: fcmToken(), ...fields });

  it.each([
    ['an unknown platform', { platform: 'android', token: fcmToken() }, 422, 'platform', 'invalid_value'],
    ['a platform that is not a string', { platform: 1, token: fcmToken() }, 422, 'platform', 'invalid_value'],
    ['APNs: 62 hex digits', apns({ token: 'ab'.repeat(31) }), 422, 'token', 'apns_token'],
    ['APNs: 202 hex digits', apns({ token: 'ab'.repeat(101) }), 422, 'token', 'apns_token'],
    ['APNs: an odd number of hex digits', apns({ token: `${'ab'.repeat(32)}a` }), 422, 'token', 'apns_token'],
    ['APNs: not hex', apns({ token: 'zz'.repeat(32) }), 422, 'token', 'apns_token'],
    ['APNs: base64 instead of hex', apns({ token: randomBytes(48).toString('base64') }), 422, 'token', 'apns_token'],
    ['APNs: empty', apns({ token: '' }), 422, 'token', 'apns_token'],
    ['APNs: a number', apns({ token: 12345 }), 422, 'token', 'invalid_type'],
    ['APNs: no token', { platform: 'apns' }, 400, 'token', 'required'],
    ['FCM: empty', fcm({ token: '' }), 422, 'token', 'fcm_token'],
    ['FCM: a space', fcm({ token: 'abc def' }), 422, 'token', 'fcm_token'],
    ['FCM: a slash', fcm({ token: 'abc/def' }), 422, 'token', 'fcm_token'],
    ['FCM: 4,097 characters', fcm({ token: 'x'.repeat(4097) }), 422, 'token', 'fcm_token'],
    ['FCM: no token', { platform: 'fcm', uid: 'x' }, 400, 'token', 'required'],
    ['APNs with an endpoint', apns({ endpoint: localEndpoint() }), 422, 'endpoint', 'not_allowed_for_platform'],
    ['APNs with p256dh', apns({ p256dh: browserKeys().p256dh }), 422, 'p256dh', 'not_allowed_for_platform'],
    ['FCM with auth', fcm({ auth: browserKeys().auth }), 422, 'auth', 'not_allowed_for_platform'],
    ['FCM with endpoint, p256dh and auth', fcm({ endpoint: localEndpoint(), ...browserKeys() }), 422, 'endpoint', 'not_allowed_for_platform'],
    ['web (implicit) with a token', { endpoint: localEndpoint(), ...browserKeys(), token: fcmToken() }, 422, 'token', 'not_allowed_for_platform'],
    ['web (explicit) with a token', { platform: 'web', endpoint: localEndpoint(), ...browserKeys(), token: 'abc' }, 422, 'token', 'not_allowed_for_platform'],
    ['a device with an unknown field', apns({ badge: 3 }), 422, 'badge', 'unknown_field'],
    ['a device with a bad tag', fcm({ tags: ['ok', 'not ok'] }), 422, 'tags.1', 'tag_characters'],
    ['a device with a 256-character uid', apns({ uid: 'u'.repeat(256) }), 422, 'uid', 'max_length'],
  ])('%s', async (_label, body, status, field, rule) => {
    expectRefusal(await subscribe(body), status, field, rule);
  });

  it('a refused device is not stored', async () => {
    const token = 'ab'.repeat(31);
    await subscribe({ platform: 'apns', token });
    const { rows } = await server.db.query('SELECT count(*)::int AS n FROM subscriptions WHERE device_token = $1', [token]);
    expect(rows[0].n).toBe(0);
  });
});

describe('bulk insert of devices (tests and the benchmark)', () => {
  it('writes a batch in one call; the API sees them with their uids and tags', async () => {
    const bulk = (await createProject(server, 'Bulk')).projectId;
    const rows = Array.from({ length: 1500 }, (_, i) => ({
      token: randomBytes(32).toString('hex'),
      uid: i % 3 === 0 ? `user${i}` : null,
      tags: i % 2 === 0 ? ['even'] : [],
    }));
    await insertDeviceSubscriptionsBulk(server.db, bulk, 'apns', rows);
    await insertDeviceSubscriptionsBulk(server.db, bulk, 'fcm', [{ token: fcmToken() }, { token: fcmToken(), tags: ['even'] }]);
    await insertDeviceSubscriptionsBulk(server.db, bulk, 'fcm', []);
    const count = (q: string) =>
      call(server.apiUrl, 'HEAD', `/projects/${bulk}/subscriptions${q}`, admin()).then((r) => r.headers.get('x-total-count'));
    expect(await count('?platform=apns')).toBe('1500');
    expect(await count('?platform=fcm')).toBe('2');
    expect(await count('?platform=apns&tags[]=even')).toBe('750');
    expect(await count('?tags[]=even')).toBe('751');
    const first = await call(server.apiUrl, 'GET', `/projects/${bulk}/subscriptions?per_page=1`, admin());
    expect(first.body[0]).toMatchObject({ platform: 'apns', token: rows[0]!.token, uid: 'user0', tags: ['even'] });
  });
});

describe('the official Pushpad client is unaffected', () => {
  it('creates, finds, updates and counts web subscriptions as before, in a project that also has devices', async () => {
    const mixed = (await createProject(server, 'Mixed')).projectId;
    await subscribe({ platform: 'apns', token: apnsToken(), uid: 'phone', tags: ['sports'] }, mixed);
    const pushpad = new Pushpad({ authToken: server.adminToken, projectId: mixed, baseUrl: server.apiUrl });
    const attributes = { endpoint: localEndpoint(), ...browserKeys(), uid: 'browser', tags: ['sports'] };
    const created = await pushpad.subscription.create(attributes);
    expect(created).toMatchObject({ ...attributes, id: expect.any(Number), project_id: mixed, last_click_at: null, platform: 'web' });
    expect(created).not.toHaveProperty('token');
    expect(await pushpad.subscription.find(created.id)).toEqual(created);
    const updated = await pushpad.subscription.update(created.id, { tags: ['sports', 'travel'] });
    expect(updated).toEqual({ ...created, tags: ['sports', 'travel'] });
    // Without a platform filter the audience is everyone, devices included.
    expect(await pushpad.subscription.count({ tags: ['sports'] })).toBe(2);
    expect(await pushpad.subscription.count({ uids: ['browser'] })).toBe(1);
    const all = await pushpad.subscription.findAll();
    expect(all.map((s) => (s as { platform?: string }).platform).sort()).toEqual(['apns', 'web']);
  });
});
