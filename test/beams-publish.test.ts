import PushNotifications from '@pusher/push-notifications-server';
import { BEAMS_REQUESTS_PER_SECOND, rateLimitKey } from '@pushcast/api';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsToken, fcmToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// Pusher Beams' Publish API (issue 15), driven by Beams' official Node server SDK as its users call
// it, pointed at Pushcast over HTTP; deliveries are read at the local push, APNs and FCM services.

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('beamspublish');
  await p.startWorker();
});
afterAll(async () => p?.close());

interface Instance {
  readonly projectId: number;
  readonly instanceId: string;
  readonly secretKey: string;
}

/** A project, its Beams instance id and a secret key, as a Beams user moving over would get them. */
async function newInstance(name: string): Promise<Instance> {
  const { projectId } = await createProject(p.server, name);
  await giveProjectCredentials(p, projectId);
  const project = await call(p.server.apiUrl, 'GET', `/projects/${projectId}`, { token: p.server.adminToken });
  const key = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: p.server.adminToken });
  return { projectId, instanceId: project.body.beams_instance_id, secretKey: key.body.secret_key };
}

/** Beams' Node SDK pointed at Pushcast: `endpoint` (a host) switches it to plain HTTP, `port` beside it. */
function beamsClient(i: Pick<Instance, 'instanceId' | 'secretKey'>): PushNotifications {
  const { hostname, port } = new URL(p.server.url);
  return new PushNotifications({ instanceId: i.instanceId, secretKey: i.secretKey, endpoint: hostname, port: Number(port) } as ConstructorParameters<
    typeof PushNotifications
  >[0]);
}

/** The notification a publish became, through Pushcast's own API (newest first). */
async function lastNotification(projectId: number): Promise<{ id: number }> {
  const list = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/notifications`, { token: p.server.adminToken });
  return list.body[0];
}

const webPayloads = (id: string) => p.push.receivedFor(id).filter((m) => m.status === 201).map((m) => ({ ttl: m.ttl, payload: JSON.parse(m.plaintext!) }));

const sections = {
  web: {
    time_to_live: 3600,
    notification: { title: 'Hello', body: 'Hello, world!', deep_link: 'https://www.pusher.com', icon: 'https://example.com/i.png' },
    data: { order: 42 },
  },
  apns: { aps: { alert: { title: 'Hello', body: 'Hello, world!' }, badge: 2 }, data: { order: 42 }, collapse_id: 'order-42' },
  fcm: { notification: { title: 'Hello', body: 'Hello, world!', color: '#112233', android_channel_id: 'orders' }, data: { order: 42, note: 'hi' } },
};

describe('publishToInterests', () => {
  it('reaches every device with any of the interests, once, each platform with its own section as given', async () => {
    const i = await newInstance('interests');
    const [both, donuts, none] = await seedSubscribers(p.server.db, p.push, i.projectId, 3, {
      idPrefix: 'interests-web',
      tags: (n) => [['donuts', 'cakes'], ['donuts'], ['bagels']][n]!,
    });
    const iphone = apnsToken('interests-iphone');
    const pixel = fcmToken('interests-pixel');
    await subscribeDevice(p, i.projectId, 'apns', iphone, { tags: ['cakes'] });
    await subscribeDevice(p, i.projectId, 'fcm', pixel, { tags: ['donuts', 'x=y,z;w'] });

    const published = await beamsClient(i).publishToInterests(['donuts', 'cakes'], sections);
    expect(published.publishId).toMatch(/^pubid-[0-9a-f-]{36}$/);
    const n = await waitForNotification(p.server, (await lastNotification(i.projectId)).id);
    expect(n).toMatchObject({ scheduled_count: 4, successfully_sent_count: 4 });
    const pusher = (hasData: boolean) => ({ instanceId: i.instanceId, publishId: published.publishId, hasDisplayableContent: true, hasData });

    // Web: Beams' web section, its `data` completed with `pusher`, its time_to_live as the TTL; once for two interests.
    expect(webPayloads(both!)).toEqual([
      { ttl: expect.any(Number), payload: { notification: sections.web.notification, data: { order: 42, pusher: pusher(true) } } },
    ]);
    // What is left of the hour when it leaves.
    expect(webPayloads(both!)[0]!.ttl).toBeGreaterThan(3500);
    expect(webPayloads(both!)[0]!.ttl).toBeLessThanOrEqual(3600);
    expect(webPayloads(donuts!)).toHaveLength(1);
    expect(p.push.receivedFor(none!)).toHaveLength(0);

    // APNs: the section as the body, `data.pusher` where Beams' iOS SDK reads it.
    const [toIphone, ...moreIphone] = p.apns.receivedFor(iphone);
    expect(moreIphone).toHaveLength(0);
    expect(toIphone!.status).toBe(200);
    // Beams' own keys beside the payload (collapse_id, priority, expiration) are request headers.
    expect(toIphone!.payload).toEqual({ aps: sections.apns.aps, data: { order: 42, pusher: pusher(true) } });
    expect(toIphone!.headers).toMatchObject({ pushType: 'alert', priority: '10', collapseId: 'order-42' });

    // FCM: legacy fields as FCM v1's, data values as strings, `pusher` a JSON string (Beams' Android SDK parses it).
    const [toPixel, ...morePixel] = p.fcm.receivedFor(pixel);
    expect(morePixel).toHaveLength(0);
    expect(toPixel!.status).toBe(200);
    const message = toPixel!.message as { notification: unknown; data: Record<string, string>; android: Record<string, unknown> };
    expect(message.notification).toEqual({ title: 'Hello', body: 'Hello, world!' });
    expect(message.data).toEqual({ order: '42', note: 'hi', pusher: JSON.stringify(pusher(true)) });
    expect(message.android).toMatchObject({ ttl: expect.stringMatching(/^24\d{5}(\.\d+)?s$/), notification: { color: '#112233', channel_id: 'orders' } });
  });

  it('skips the platforms without a section', async () => {
    const i = await newInstance('apns only');
    const [web] = await seedSubscribers(p.server.db, p.push, i.projectId, 1, { idPrefix: 'apnsonly-web', tags: () => ['news'] });
    const iphone = apnsToken('apnsonly-iphone');
    const pixel = fcmToken('apnsonly-pixel');
    await subscribeDevice(p, i.projectId, 'apns', iphone, { tags: ['news'] });
    await subscribeDevice(p, i.projectId, 'fcm', pixel, { tags: ['news'] });

    // Apple wants the number 1 (the SDK's types say string).
    const published = await beamsClient(i).publishToInterests(['news'], { apns: { aps: { 'content-available': 1 as unknown as string } } });
    const n = await waitForNotification(p.server, (await lastNotification(i.projectId)).id);
    expect(n).toMatchObject({ scheduled_count: 1, successfully_sent_count: 1 });
    const [toIphone] = p.apns.receivedFor(iphone);
    expect(toIphone!.payload).toEqual({
      aps: { 'content-available': 1 },
      data: { pusher: { instanceId: i.instanceId, publishId: published.publishId, hasDisplayableContent: false, hasData: false } },
    });
    expect(toIphone!.headers).toMatchObject({ pushType: 'background', priority: '5' });
    expect(p.push.receivedFor(web!)).toHaveLength(0);
    expect(p.fcm.receivedFor(pixel)).toHaveLength(0);
  });
});

describe('publishToUsers', () => {
  it("reaches every device of those users and no one else's", async () => {
    const i = await newInstance('users');
    const [alicesBrowser, bobsBrowser] = await seedSubscribers(p.server.db, p.push, i.projectId, 2, {
      idPrefix: 'users-web',
      uid: (n) => ['alice', 'bob'][n]!,
    });
    const alicesPhone = fcmToken('users-alice');
    const carolsPhone = apnsToken('users-carol');
    await subscribeDevice(p, i.projectId, 'fcm', alicesPhone, { uid: 'alice' });
    await subscribeDevice(p, i.projectId, 'apns', carolsPhone, { uid: 'carol' });

    const published = await beamsClient(i).publishToUsers(['alice', 'carol'], { web: sections.web, fcm: sections.fcm });
    const n = await waitForNotification(p.server, (await lastNotification(i.projectId)).id);
    expect(n).toMatchObject({ scheduled_count: 2, successfully_sent_count: 2 });
    expect(webPayloads(alicesBrowser!)[0]!.payload.data.pusher.publishId).toBe(published.publishId);
    expect(p.fcm.receivedFor(alicesPhone)).toHaveLength(1);
    expect(p.push.receivedFor(bobsBrowser!)).toHaveLength(0);
    // Carol has only an iPhone, and the publish has no apns section.
    expect(p.apns.receivedFor(carolsPhone)).toHaveLength(0);
  });
});

describe('errors, as Beams answers them', () => {
  let i: Instance;
  beforeAll(async () => {
    i = await newInstance('errors');
  });

  const raw = (path: string, opts: Parameters<typeof call>[3]) => call(p.server.url, 'POST', `/publish_api/v1/instances/${i.instanceId}${path}`, opts);
  const withKey = (body: unknown) => ({ authorization: `Bearer ${i.secretKey}`, body });

  it('a wrong secret key, or another instance', async () => {
    await expect(beamsClient({ ...i, secretKey: 'sk_wrong' }).publishToInterests(['a'], sections)).rejects.toThrow('401 Unauthorized - Incorrect API Key');
    const other = await newInstance('other');
    await expect(beamsClient({ instanceId: other.instanceId, secretKey: i.secretKey }).publishToUsers(['a'], sections)).rejects.toThrow(
      '401 Unauthorized - Incorrect API Key',
    );
    await expect(beamsClient({ instanceId: '7b5c1b1e-0000-4000-8000-000000000000', secretKey: i.secretKey }).publishToInterests(['a'], sections)).rejects.toThrow(
      '404 Instance not found - Could not find the instance',
    );
  });

  it.each([
    ['no section', { interests: ['a'] }, 'body: must have at least one of apns, fcm or web'],
    ['no interests', { web: sections.web }, 'interests'],
    ['101 interests', { interests: Array.from({ length: 101 }, (_, n) => `i${n}`), web: sections.web }, 'interests'],
    ['an interest with a space', { interests: ['a b'], web: sections.web }, 'interests.0'],
    ['an interest of 165 characters', { interests: ['x'.repeat(165)], web: sections.web }, 'interests.0'],
    ['web data with "pusher"', { interests: ['a'], web: { notification: { title: 't' }, data: { pusher: 1 } } }, 'web.data'],
    ['an FCM data key FCM reserves', { interests: ['a'], fcm: { data: { 'google.x': 'y' } } }, 'fcm.data.google.x'],
    ['a web TTL over four weeks', { interests: ['a'], web: { time_to_live: 2_419_201 } }, 'web.time_to_live'],
    ['an APNs payload over 4 KB', { interests: ['a'], apns: { aps: { alert: 'x' }, blob: 'y'.repeat(4100) } }, 'apns'],
  ])('%s: 422', async (_, body, field) => {
    const res = await raw('/publishes/interests', withKey(body));
    expect(res.status).toBe(422);
    expect(res.body.error).toBe('Unprocessable Entity');
    expect(res.body.description).toContain(field);
    expect(Object.keys(res.body).sort()).toEqual(['description', 'error']);
  });

  it('1,001 users, or a user id over 164 bytes: 422', async () => {
    const many = await raw('/publishes/users', withKey({ users: Array.from({ length: 1001 }, (_, n) => `u${n}`), web: sections.web }));
    expect(many.status).toBe(422);
    const long = await raw('/publishes/users', withKey({ users: ['é'.repeat(83)], web: sections.web }));
    expect(long).toMatchObject({ status: 422, body: { error: 'Unprocessable Entity' } });
    expect((await raw('/publishes/users', withKey({ users: ['é'.repeat(82)], web: sections.web }))).status).toBe(200);
  });

  it('400s: no Authorization, not JSON, not an object, over the body limit', async () => {
    expect(await raw('/publishes/interests', { body: { interests: ['a'], web: sections.web } })).toMatchObject({
      status: 400,
      body: { error: 'Incomplete Request', description: 'Authorization header is missing' },
    });
    expect(await raw('/publishes/interests', { ...withKey(undefined), rawBody: 'interests=a', contentType: 'application/x-www-form-urlencoded' })).toMatchObject({
      status: 400,
      body: { error: 'Invalid content type' },
    });
    expect(await raw('/publishes/interests', { ...withKey(undefined), rawBody: '{"interests": [' })).toMatchObject({
      status: 400,
      body: { error: 'Bad request', description: 'Failed to read body as a JSON object' },
    });
    expect(await raw('/publishes/interests', withKey(['a']))).toMatchObject({ status: 400, body: { description: 'Failed to read body as a JSON object' } });
    const big = { interests: ['a'], web: { notification: { title: 'x'.repeat(11 * 1024) } } };
    expect(await raw('/publishes/interests', withKey(big))).toMatchObject({
      status: 400,
      body: { error: 'Bad request', description: 'Request body size is too large (max 10KiB)' },
    });
    // The same body is within the 200 KiB of a publish to users (and then too large for web push: 422).
    expect((await raw('/publishes/users', withKey({ ...big, users: ['a'] }))).status).toBe(422);
  });

  it('over 100 requests in a second for an instance: 429 Rate Limited, through the SDK too', async () => {
    const limited = await newInstance('limited');
    // This second's window, as the requests before would have left it (a second is too short to fill
    // reliably from a test): the counter every API replica shares.
    const redis = new Redis(TEST_REDIS_URL);
    try {
      await redis.set(rateLimitKey(p.server.queuePrefix, `beams:${limited.instanceId}`), BEAMS_REQUESTS_PER_SECOND, 'PX', 10_000);
    } finally {
      redis.disconnect();
    }
    const res = await call(p.server.url, 'POST', `/publish_api/v1/instances/${limited.instanceId}/publishes/interests`, {
      authorization: `Bearer ${limited.secretKey}`,
      body: { interests: ['a'], web: sections.web },
    });
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ error: 'Rate Limited', description: 'Too many requests being made in quick succession (max 100 RPS)' });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    await expect(beamsClient(limited).deleteUser('u')).rejects.toThrow('429 Rate Limited');
    // Another instance is counted apart.
    expect((await raw('/publishes/interests', withKey({ interests: ['a'], web: sections.web }))).status).toBe(200);
  });

  it('an unknown path under /publish_api answers in Beams shape', async () => {
    const res = await call(p.server.url, 'GET', `/publish_api/v1/instances/${i.instanceId}/nothing`);
    expect(res).toMatchObject({ status: 404, body: { error: 'Not Found' } });
  });
});
