import { createHmac } from 'node:crypto';
import PushNotifications from '@pusher/push-notifications-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsToken, fcmToken, giveProjectCredentials } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// Pusher Beams' Device API and user APIs (issue 15): the requests Beams' web, Android and iOS SDKs
// make (paths and bodies from their sources), user binding with tokens from the official server
// SDK's generateToken, and deleteUser; deliveries read at the local push, APNs and FCM services.

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('beamsdevices');
  await p.startWorker();
});
afterAll(async () => p?.close());

interface Instance {
  readonly projectId: number;
  readonly instanceId: string;
  readonly secretKey: string;
  readonly beams: PushNotifications;
}

async function newInstance(name: string): Promise<Instance> {
  const { projectId } = await createProject(p.server, name);
  await giveProjectCredentials(p, projectId);
  const project = await call(p.server.apiUrl, 'GET', `/projects/${projectId}`, { token: p.server.adminToken });
  const key = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: p.server.adminToken });
  const instanceId: string = project.body.beams_instance_id;
  return { projectId, instanceId, secretKey: key.body.secret_key, beams: beamsClient(instanceId, key.body.secret_key) };
}

function beamsClient(instanceId: string, secretKey: string): PushNotifications {
  const { hostname, port } = new URL(p.server.url);
  return new PushNotifications({ instanceId, secretKey, endpoint: hostname, port: Number(port) } as ConstructorParameters<typeof PushNotifications>[0]);
}

/** A Device API call as the SDKs make it (no secret; JSON bodies). */
const deviceApi = (i: Pick<Instance, 'instanceId'>, method: string, path: string, opts: Parameters<typeof call>[3] = {}) =>
  call(p.server.url, method, `/device_api/v1/instances/${i.instanceId}${path}`, opts);

/** What Beams' web SDK sends as a web device's token: base64 of PushSubscription.toJSON(). */
function webToken(id: string): string {
  const s = p.push.subscription(id);
  return btoa(JSON.stringify({ endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } }));
}

async function published(i: Instance, publish: Promise<{ publishId: string }>) {
  const { publishId } = await publish;
  const list = await call(p.server.apiUrl, 'GET', `/projects/${i.projectId}/notifications`, { token: p.server.adminToken });
  return { publishId, notification: await waitForNotification(p.server, list.body[0].id) };
}

describe('a web device, as Beams web SDK registers it', () => {
  it('gets the VAPID key, registers, takes an interest and receives a publish to it', async () => {
    const i = await newInstance('web');
    const key = await deviceApi(i, 'GET', '/web-vapid-public-key', { authorization: undefined });
    expect(key.status).toBe(200);
    const pushpads = await call(p.server.apiUrl, 'GET', `/projects/${i.projectId}/vapid_public_key`);
    expect(key.body).toEqual({ vapidPublicKey: pushpads.body.vapid_public_key });
    expect(key.headers.get('access-control-allow-origin')).toBe('*');

    const registered = await deviceApi(i, 'POST', '/devices/web', { body: { token: webToken('beams-web-1'), metadata: { sdkVersion: '2.1.0' } } });
    expect(registered.status).toBe(200);
    const deviceId: string = registered.body.id;
    expect(deviceId).toMatch(/^[0-9a-f-]{36}$/);

    // A browser's preflight for the PUTs the SDK makes with a JSON body or an Authorization header.
    const preflight = await fetch(`${p.server.url}/device_api/v1/instances/${i.instanceId}/devices/web/${deviceId}/user`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'PUT', 'access-control-request-headers': 'authorization' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/i);

    expect((await deviceApi(i, 'POST', `/devices/web/${deviceId}/interests/donuts`)).status).toBe(200);
    expect((await deviceApi(i, 'GET', `/devices/web/${deviceId}/interests`)).body).toEqual({ interests: ['donuts'], responseMetadata: {} });

    const { publishId, notification } = await published(
      i,
      i.beams.publishToInterests(['donuts'], { web: { notification: { title: 'Hi', body: 'Donuts!' } } }),
    );
    expect(notification).toMatchObject({ scheduled_count: 1, successfully_sent_count: 1 });
    const [message] = p.push.receivedFor('beams-web-1');
    expect(JSON.parse(message!.plaintext!)).toEqual({
      notification: { title: 'Hi', body: 'Donuts!' },
      data: { pusher: { instanceId: i.instanceId, publishId, hasDisplayableContent: true, hasData: false } },
    });

    // stop(): the SDK deletes its device; a publish then reaches no one.
    expect((await deviceApi(i, 'DELETE', `/devices/web/${deviceId}`)).status).toBe(200);
    expect((await deviceApi(i, 'DELETE', `/devices/web/${deviceId}`)).status).toBe(200);
    const after = await published(i, i.beams.publishToInterests(['donuts'], { web: { notification: { title: 'Hi' } } }));
    expect(after.notification.scheduled_count).toBe(0);
  });
});

describe('an FCM device, as Beams Android SDK drives it', () => {
  it('registers, sets interests and metadata, binds its user, refreshes its token, and is deleted with its user', async () => {
    const i = await newInstance('android');
    const firstToken = fcmToken('android-1');
    const registered = await deviceApi(i, 'POST', '/devices/fcm', {
      body: { token: firstToken, knownPreviousClientIds: [], metadata: { sdkVersion: '1.9.2', androidVersion: '14' } },
    });
    expect(registered).toMatchObject({ status: 200, body: { initialInterestSet: [] } });
    const deviceId: string = registered.body.id;

    expect((await deviceApi(i, 'PUT', `/devices/fcm/${deviceId}/interests`, { body: { interests: ['b', 'a', 'a'] } })).status).toBe(200);
    expect((await deviceApi(i, 'PUT', `/devices/fcm/${deviceId}/metadata`, { body: { sdkVersion: '1.9.3', androidVersion: '15' } })).status).toBe(200);
    expect((await deviceApi(i, 'GET', `/devices/fcm/${deviceId}/interests`)).body.interests).toEqual(['a', 'b']);

    const { token } = i.beams.generateToken('alice');
    expect((await deviceApi(i, 'PUT', `/devices/fcm/${deviceId}/user`, { authorization: `Bearer ${token}` })).status).toBe(200);
    // The same user again is fine.
    expect((await deviceApi(i, 'PUT', `/devices/fcm/${deviceId}/user`, { authorization: `Bearer ${token}` })).status).toBe(200);
    expect((await deviceApi(i, 'GET', `/devices/fcm/${deviceId}`)).body).toEqual({
      id: deviceId,
      userId: 'alice',
      metadata: { sdkVersion: '1.9.3', androidVersion: '15' },
    });

    const first = await published(i, i.beams.publishToUsers(['alice'], { fcm: { notification: { title: 'For Alice' } } }));
    expect(first.notification.successfully_sent_count).toBe(1);
    const [toFirst] = p.fcm.receivedFor(firstToken);
    expect(JSON.parse((toFirst!.message as { data: { pusher: string } }).data.pusher)).toMatchObject({ publishId: first.publishId });

    // FCM handed the app a new token: the device keeps its id, interests and user.
    const secondToken = fcmToken('android-2');
    expect((await deviceApi(i, 'PUT', `/devices/fcm/${deviceId}/token`, { body: { token: secondToken } })).status).toBe(200);
    await published(i, i.beams.publishToInterests(['a'], { fcm: { notification: { title: 'To a' } } }));
    expect(p.fcm.receivedFor(secondToken)).toHaveLength(1);
    expect(p.fcm.receivedFor(firstToken)).toHaveLength(1);

    // deleteUser (the Node SDK's /user_api path): the user's devices go.
    await expect(i.beams.deleteUser('alice')).resolves.toBeUndefined();
    expect(await deviceApi(i, 'GET', `/devices/fcm/${deviceId}`)).toMatchObject({
      status: 404,
      body: { error: 'Device not found', description: 'Could not find the device' },
    });
    const gone = await published(i, i.beams.publishToUsers(['alice'], { fcm: { notification: { title: 'Anyone?' } } }));
    expect(gone.notification.scheduled_count).toBe(0);
  });
});

describe('an APNs device, as Beams iOS SDK registers it', () => {
  it('registers with its bundle identifier, binds its user and receives a publish to that user', async () => {
    const i = await newInstance('ios');
    const token = apnsToken('ios-1').toUpperCase();
    const registered = await deviceApi(i, 'POST', '/devices/apns', {
      body: { token, bundleIdentifier: 'com.example.app', metadata: { sdkVersion: '4.0.0', iosVersion: '17.4', macosVersion: null } },
    });
    expect(registered.status).toBe(200);
    const deviceId = registered.body.id;
    const jwt = i.beams.generateToken('bob').token;
    expect((await deviceApi(i, 'PUT', `/devices/apns/${deviceId}/user`, { authorization: `Bearer ${jwt}` })).status).toBe(200);

    // The customer_api path of deleteUser, for another user: bob keeps his device.
    const other = await call(p.server.url, 'DELETE', `/customer_api/v1/instances/${i.instanceId}/users/carol`, { authorization: `Bearer ${i.secretKey}` });
    expect(other.status).toBe(200);

    const { publishId } = await published(i, i.beams.publishToUsers(['bob'], { apns: { aps: { alert: 'Hi Bob' } } }));
    const [received] = p.apns.receivedFor(token);
    expect(received!.payload).toEqual({
      aps: { alert: 'Hi Bob' },
      data: { pusher: { instanceId: i.instanceId, publishId, hasDisplayableContent: true, hasData: false } },
    });

    expect((await deviceApi(i, 'POST', '/devices/apns', { body: { token } })).body).toEqual({ error: 'Bad request', description: 'Missing App Bundle Identifier' });
    expect(await deviceApi(i, 'POST', '/devices/apns', { body: { token: 'zz', bundleIdentifier: 'com.example.app' } })).toMatchObject({
      status: 401,
      body: { error: 'Unauthorized', description: 'Incorrect APNs token supplied' },
    });
  });
});

describe('user tokens, as Beams checks them', () => {
  let i: Instance;
  let deviceId: string;
  beforeAll(async () => {
    i = await newInstance('tokens');
    deviceId = (await deviceApi(i, 'POST', '/devices/fcm', { body: { token: fcmToken('tokens-1'), knownPreviousClientIds: [] } })).body.id;
  });
  const bind = (authorization: string | undefined, id = deviceId) => deviceApi(i, 'PUT', `/devices/fcm/${id}/user`, { authorization });
  const sign = (claims: object, key: string) => {
    const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signed = `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(claims)}`;
    return `${signed}.${createHmac('sha256', key).update(signed).digest('base64url')}`;
  };
  const issuer = () => `https://${i.instanceId}.pushnotifications.pusher.com`;
  const exp = () => Math.floor(Date.now() / 1000) + 60;

  it.each([
    ['no Authorization header', () => undefined, 401, 'Unauthorized', '`Authorization` header token is missing'],
    ['not a Bearer', () => 'Basic abc', 401, 'Unauthorized', '`Authorization` header token is malformed'],
    ['not a JWT', () => 'Bearer abc', 401, 'Unauthorized', '`Authorization` header token is malformed'],
    ["another instance's key", () => `Bearer ${beamsClient(i.instanceId, 'sk_other').generateToken('u').token}`, 401, 'Unauthorized', 'Invalid JWT signature'],
    ['another issuer', () => `Bearer ${beamsClient('another-instance', i.secretKey).generateToken('u').token}`, 403, 'Forbidden', 'Invalid JWT issuer'],
    ['expired', () => `Bearer ${sign({ sub: 'u', iss: issuer(), exp: 1 }, i.secretKey)}`, 401, 'Unauthorized', 'JWT has expired'],
    ['no exp', () => `Bearer ${sign({ sub: 'u', iss: issuer() }, i.secretKey)}`, 400, 'Bad request', 'Missing expiration (exp) field in JWT'],
    ['no sub', () => `Bearer ${sign({ iss: issuer(), exp: exp() }, i.secretKey)}`, 400, 'Bad request', 'Missing subject (sub) field in JWT'],
    ['no iss', () => `Bearer ${sign({ sub: 'u', exp: exp() }, i.secretKey)}`, 400, 'Bad request', 'Missing issuer (iss) field in JWT'],
  ])('%s: %i', async (_, authorization, status, error, description) => {
    expect(await bind(authorization())).toMatchObject({ status, body: { error, description } });
  });

  it('a device of another user, an unknown device, and a user with 100 devices already', async () => {
    const token = (user: string) => `Bearer ${i.beams.generateToken(user).token}`;
    expect((await bind(token('dave'))).status).toBe(200);
    expect(await bind(token('erin'))).toMatchObject({ status: 400, body: { description: 'A User Id is already associated with this device' } });
    expect(await bind(token('dave'), '00000000-0000-4000-8000-000000000000')).toMatchObject({ status: 404, body: { error: 'Device not found' } });

    // A key made later verifies too (several live keys: rotation).
    const second = await call(p.server.apiUrl, 'POST', `/projects/${i.projectId}/secret_keys`, { token: p.server.adminToken });
    const frank = `Bearer ${beamsClient(i.instanceId, second.body.secret_key).generateToken('frank').token}`;
    for (let n = 0; n < 100; n += 1) {
      const d = await deviceApi(i, 'POST', '/devices/fcm', { body: { token: fcmToken(`frank-${n}`), knownPreviousClientIds: [] } });
      expect((await bind(frank, d.body.id)).status).toBe(200);
    }
    const extra = await deviceApi(i, 'POST', '/devices/fcm', { body: { token: fcmToken('frank-100'), knownPreviousClientIds: [] } });
    expect(await bind(frank, extra.body.id)).toMatchObject({
      status: 422,
      body: { error: 'Unprocessable Entity', description: 'User already has reached the maximum of 100 devices' },
    });
    // Per platform: an iPhone of frank's still binds.
    const iphone = await deviceApi(i, 'POST', '/devices/apns', { body: { token: apnsToken('frank-iphone'), bundleIdentifier: 'com.example.app' } });
    expect((await deviceApi(i, 'PUT', `/devices/apns/${iphone.body.id}/user`, { authorization: frank })).status).toBe(200);
  });
});

describe('interests and errors of the Device API', () => {
  it('pages interests with a cursor, takes 164-character names, refuses bad names and sets over 5,000', async () => {
    const i = await newInstance('interests');
    const id = (await deviceApi(i, 'POST', '/devices/fcm', { body: { token: fcmToken('interests-1'), knownPreviousClientIds: [] } })).body.id;
    const names = Array.from({ length: 250 }, (_, n) => `i-${String(n).padStart(3, '0')}`);
    expect((await deviceApi(i, 'PUT', `/devices/fcm/${id}/interests`, { body: { interests: names } })).status).toBe(200);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await deviceApi(i, 'GET', `/devices/fcm/${id}/interests?limit=100${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.interests);
      cursor = page.body.responseMetadata.nextCursor;
      if (!cursor) break;
    }
    expect(seen).toEqual(names);

    const long = 'x'.repeat(164);
    expect((await deviceApi(i, 'POST', `/devices/fcm/${id}/interests/${long}`)).status).toBe(200);
    expect((await deviceApi(i, 'DELETE', `/devices/fcm/${id}/interests/i-000`)).status).toBe(200);
    // As the web SDK sends names: encodeURIComponent.
    expect((await deviceApi(i, 'POST', `/devices/fcm/${id}/interests/${encodeURIComponent('a=1,b;c@d')}`)).status).toBe(200);
    expect((await deviceApi(i, 'GET', `/devices/fcm/${id}/interests?limit=1`)).body.interests).toEqual(['a=1,b;c@d']);
    const after = await deviceApi(i, 'GET', `/devices/fcm/${id}/interests?limit=2&cursor=${Buffer.from('a=1,b;c@d').toString('base64url')}`);
    expect(after.body.interests).toEqual(['i-001', 'i-002']);

    expect(await deviceApi(i, 'POST', `/devices/fcm/${id}/interests/${'x'.repeat(165)}`)).toMatchObject({ status: 400, body: { error: 'Invalid interest name' } });
    expect(await deviceApi(i, 'POST', `/devices/fcm/${id}/interests/a%20b`)).toMatchObject({ status: 400, body: { error: 'Invalid interest name' } });
    expect(await deviceApi(i, 'PUT', `/devices/fcm/${id}/interests`, { body: { interests: ['ok', 'not ok'] } })).toMatchObject({
      status: 400,
      body: { error: 'Invalid interest name' },
    });
    const tooMany = Array.from({ length: 5001 }, (_, n) => `t${n}`);
    expect(await deviceApi(i, 'PUT', `/devices/fcm/${id}/interests`, { body: { interests: tooMany } })).toMatchObject({
      status: 400,
      body: { error: 'Interest set too large' },
    });
    expect((await deviceApi(i, 'GET', `/devices/fcm/${id}/interests?limit=0`)).status).toBe(400);
    expect(await deviceApi(i, 'GET', `/devices/fcm/nobody/interests`)).toMatchObject({ status: 404, body: { error: 'Device not found' } });
    expect(await deviceApi(i, 'GET', `/devices/web/${id}`)).toMatchObject({ status: 404, body: { error: 'Device not found' } });
    expect(await deviceApi({ instanceId: '7b5c1b1e-0000-4000-8000-000000000000' }, 'GET', '/web-vapid-public-key')).toMatchObject({
      status: 404,
      body: { error: 'Instance not found' },
    });
    expect(await deviceApi(i, 'POST', '/devices/web', { body: { token: btoa(JSON.stringify({ endpoint: 'https://evil.example/x', keys: {} })) } })).toMatchObject({
      status: 422,
    });
  });

  it('deleteUser needs a secret key of the instance', async () => {
    const i = await newInstance('delete user');
    const res = await call(p.server.url, 'DELETE', `/user_api/v1/instances/${i.instanceId}/users/alice`, { authorization: 'Bearer sk_nope' });
    expect(res).toMatchObject({ status: 401, body: { error: 'Unauthorized', description: 'Incorrect API Key' } });
    const long = await call(p.server.url, 'DELETE', `/user_api/v1/instances/${i.instanceId}/users/${'u'.repeat(164)}`, { authorization: `Bearer ${i.secretKey}` });
    expect(long.status).toBe(200);
  });
});

describe('the Reporting API, as Beams service worker reports', () => {
  it('counts an open once on the notification, acknowledges deliveries, answers a preflight', async () => {
    const i = await newInstance('reporting');
    const deviceId = (await deviceApi(i, 'POST', '/devices/web', { body: { token: webToken('reporting-web'), metadata: { sdkVersion: '2.1.0' } } })).body.id;
    await deviceApi(i, 'POST', `/devices/web/${deviceId}/interests/news`);
    const { publishId, notification } = await published(i, i.beams.publishToInterests(['news'], { web: { notification: { title: 'News' } } }));
    // Beams' service worker: reportEvent({eventType, state}) → POST {publishId, event, deviceId, userId, timestampSecs, …}.
    const report = (event: string, overrides: Record<string, unknown> = {}) =>
      call(p.server.url, 'POST', `/reporting_api/v2/instances/${i.instanceId}/events`, {
        body: {
          publishId,
          event,
          deviceId,
          userId: null,
          timestampSecs: Math.floor(Date.now() / 1000),
          appInBackground: true,
          hasDisplayableContent: true,
          hasData: false,
          ...overrides,
        },
      });
    const preflight = await fetch(`${p.server.url}/reporting_api/v2/instances/${i.instanceId}/events`, {
      method: 'OPTIONS',
      headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');

    const stats = async () => (await call(p.server.apiUrl, 'GET', `/notifications/${notification.id}`, { token: p.server.adminToken })).body;
    expect((await report('delivery')).status).toBe(200);
    expect((await stats()).opened_count).toBe(0);
    const opened = await report('open');
    expect(opened.status).toBe(200);
    expect(opened.headers.get('access-control-allow-origin')).toBe('*');
    expect((await report('open')).status).toBe(200);
    const after = await stats();
    expect(after.opened_count).toBe(1);
    // The subscription's last click, as for a Pushpad notification.
    const subs = await call(p.server.apiUrl, 'GET', `/projects/${i.projectId}/subscriptions`, { token: p.server.adminToken });
    expect(subs.body[0].last_click_at).not.toBeNull();

    expect(await report('open', { publishId: 'pubid-unknown' })).toMatchObject({ status: 404, body: { error: 'Not Found' } });
    expect(await report('seen')).toMatchObject({ status: 400, body: { error: 'Bad request' } });
    // A device deleted since: nothing to count, nothing refused.
    expect((await report('open', { deviceId: 'gone' })).status).toBe(200);
    expect((await stats()).opened_count).toBe(1);
  });
});

describe("Beams' web SDK scripts, served by Pushcast", () => {
  it("serves Beams' service worker pointed at Pushcast, and it shows a delivered publish as Beams' does", async () => {
    const i = await newInstance('service worker');
    const deviceId = (await deviceApi(i, 'POST', '/devices/web', { body: { token: webToken('sw-web'), metadata: { sdkVersion: '2.1.0' } } })).body.id;
    await deviceApi(i, 'POST', `/devices/web/${deviceId}/interests/sw`);
    const { publishId } = await published(
      i,
      i.beams.publishToInterests(['sw'], { web: { notification: { title: 'From Pushcast', body: 'Hello', deep_link: 'https://shop.example/o/1' }, data: { order: 1 } } }),
    );
    const [message] = p.push.receivedFor('sw-web');

    const res = await fetch(`${p.server.url}/beams/service-worker.js`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/);
    const etag = res.headers.get('etag')!;
    expect((await fetch(`${p.server.url}/beams/service-worker.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const source = await res.text();
    expect(source).toContain('@pusher/push-notifications-web 2.1.0');

    // The script in a service worker's global scope, as importScripts runs it.
    const listeners = new Map<string, (e: unknown) => void>();
    const shown: { title: string; options: { body: string; data: { pusher: { customerPayload: unknown; pusherMetadata: unknown } } } }[] = [];
    const self: Record<string, any> = {
      addEventListener: (type: string, listener: (e: unknown) => void) => listeners.set(type, listener),
      registration: { showNotification: async (title: string, options: any) => void shown.push({ title, options }) },
      clients: { matchAll: async () => [] },
    };
    new (await import('node:vm')).Script(source).runInNewContext({ self, clients: self.clients, console });
    expect(self.PusherPushNotifications.endpointOverride).toBe(p.server.url);
    const reported: unknown[] = [];
    // Reports go to Pushcast's Reporting API; their device state lives in IndexedDB, which Node lacks.
    self.PusherPushNotifications._getState = async (metadata: unknown) => metadata;
    self.PusherPushNotifications.reportEvent = async (event: unknown) => void reported.push(event);

    const waits: Promise<unknown>[] = [];
    listeners.get('push')!({ data: { json: () => JSON.parse(message!.plaintext!) }, waitUntil: (w: Promise<unknown>) => waits.push(w) });
    await Promise.all(waits);
    expect(shown).toHaveLength(1);
    expect(shown[0]!.title).toBe('From Pushcast');
    expect(shown[0]!.options.body).toBe('Hello');
    expect(shown[0]!.options.data.pusher.pusherMetadata).toEqual({ instanceId: i.instanceId, publishId, hasDisplayableContent: true, hasData: true });
    expect(shown[0]!.options.data.pusher.customerPayload).toMatchObject({ data: { order: 1 } });
    await new Promise((r) => setImmediate(r));
    expect(reported).toMatchObject([{ eventType: 'delivery', state: { publishId } }]);

    const page = await fetch(`${p.server.url}/beams/push-notifications-cdn.js`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('PusherPushNotifications');
  });
});
