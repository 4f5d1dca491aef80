import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { apnsToken, fcmToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';

// One notification to web, APNs and FCM subscribers, end to end: API → planner → one queue per
// platform → web-push / @parse/node-apn / firebase-admin → local servers that speak each wire
// protocol (VAPID + aes128gcm; HTTP/2 + ES256 provider tokens; OAuth service-account grants + FCM v1).

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('mobile');
  await p.startWorker();
});
afterAll(async () => p?.close());

const create = (projectId: number, body: Record<string, unknown>) =>
  call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: p.server.adminToken, body });

const waitForProject = async (projectId: number, done: (body: any) => boolean): Promise<any> => {
  for (;;) {
    const res = await call(p.server.apiUrl, 'GET', `/projects/${projectId}`, { token: p.server.adminToken });
    if (done(res.body)) return res.body;
    await new Promise((r) => setTimeout(r, 100));
  }
};

const subscriptionIds = async (projectId: number, platform: string): Promise<number[]> => {
  const res = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/subscriptions?platform=${platform}&per_page=1000`, {
    token: p.server.adminToken,
  });
  return res.body.map((s: { id: number }) => s.id);
};

describe('one notification, three payloads', () => {
  it('each platform receives exactly its mapped payload, overrides included', async () => {
    const { projectId } = await createProject(p.server, 'three');
    const creds = await giveProjectCredentials(p, projectId, { topic: 'com.example.three' });
    const [webId] = await seedSubscribers(p.server.db, p.push, projectId, 1, { idPrefix: 'three-web' });
    const iphone = apnsToken('three-iphone');
    const pixel = fcmToken('three-pixel');
    await subscribeDevice(p, projectId, 'apns', iphone);
    await subscribeDevice(p, projectId, 'fcm', pixel);

    const before = Math.floor(Date.now() / 1000);
    const res = await create(projectId, {
      title: 'Order shipped',
      body: 'Arrives Tuesday',
      target_url: 'https://shop.example/orders/42',
      image_url: 'https://shop.example/box.png',
      custom_data: '{"order":42}',
      actions: [{ title: 'Track', target_url: 'https://shop.example/track', action: 'track' }],
      urgent: true,
      ttl: 3600,
      topic: 'order-42',
      web: { title: 'Order shipped (web)', require_interaction: true },
      apns: { aps: { badge: 3, alert: { subtitle: 'From the warehouse' } }, order_id: 'A-42' },
      fcm: { data: { order_id: 'A-42' }, android: { notification: { channel_id: 'orders' } } },
    });
    expect(res.status).toBe(201);
    expect(res.body.scheduled).toBe(3);
    const n = await waitForNotification(p.server, res.body.id);
    const id = res.body.id as number;

    // Web Push: decrypted by the local push service under a verified VAPID JWT.
    const web = p.push.receivedFor(webId!).filter((m) => m.status === 201);
    expect(web).toHaveLength(1);
    expect(JSON.parse(web[0]!.plaintext!)).toEqual({
      id,
      title: 'Order shipped (web)',
      body: 'Arrives Tuesday',
      image: 'https://shop.example/box.png',
      target_url: 'https://shop.example/orders/42',
      actions: [{ title: 'Track', target_url: 'https://shop.example/track', action: 'track' }],
      require_interaction: true,
      silent: false,
      custom_data: '{"order":42}',
      open_token: expect.stringMatching(/^[A-Za-z0-9_-]{32}$/),
    });

    // APNs: payload, and the headers Apple reads, under the project's own provider token.
    const apns = p.apns.receivedFor(iphone);
    expect(apns).toHaveLength(1);
    expect(apns[0]!.status).toBe(200);
    expect(apns[0]!.payload).toEqual({
      aps: {
        alert: { title: 'Order shipped', body: 'Arrives Tuesday', subtitle: 'From the warehouse' },
        sound: 'default',
        'mutable-content': 1,
        badge: 3,
      },
      id,
      target_url: 'https://shop.example/orders/42',
      image: 'https://shop.example/box.png',
      custom_data: '{"order":42}',
      actions: [{ title: 'Track', action: 'track', target_url: 'https://shop.example/track' }],
      order_id: 'A-42',
    });
    expect(apns[0]!.headers).toMatchObject({ topic: 'com.example.three', pushType: 'alert', priority: '10', collapseId: 'order-42' });
    const expiration = Number(apns[0]!.headers.expiration);
    expect(expiration).toBeGreaterThanOrEqual(before + 3600 - 5);
    expect(expiration).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(apns[0]!.jwt).toMatchObject({ valid: true, keyId: creds.apnsKey.keyId, teamId: creds.apnsKey.teamId });

    // FCM: the HTTP v1 message as firebase-admin put it on the wire, for the project's Firebase project.
    const fcm = p.fcm.receivedFor(pixel);
    expect(fcm).toHaveLength(1);
    expect(fcm[0]!.status).toBe(200);
    expect(fcm[0]!.project).toBe(creds.serviceAccount.projectId);
    expect(fcm[0]!.clientEmail).toBe(creds.serviceAccount.clientEmail);
    expect(fcm[0]!.message).toEqual({
      token: pixel,
      notification: { title: 'Order shipped', body: 'Arrives Tuesday', image: 'https://shop.example/box.png' },
      data: {
        id: String(id),
        target_url: 'https://shop.example/orders/42',
        image: 'https://shop.example/box.png',
        custom_data: '{"order":42}',
        actions: JSON.stringify([{ title: 'Track', action: 'track', target_url: 'https://shop.example/track', icon: null }]),
        order_id: 'A-42',
      },
      android: { priority: 'high', ttl: expect.stringMatching(/^3[56]\d\ds$/), collapse_key: 'order-42', notification: { channel_id: 'orders' } },
    });

    expect(n.platforms).toEqual({
      web: { scheduled_count: 1, successfully_sent_count: 1, pruned_count: 0, expired_count: 0, failed_count: 0, failures: {} },
      apns: { scheduled_count: 1, successfully_sent_count: 1, pruned_count: 0, expired_count: 0, failed_count: 0, failures: {} },
      fcm: { scheduled_count: 1, successfully_sent_count: 1, pruned_count: 0, expired_count: 0, failed_count: 0, failures: {} },
    });
    expect(n.successfully_sent_count).toBe(3);
    expect(n.apns).toEqual({ aps: { badge: 3, alert: { subtitle: 'From the warehouse' } }, order_id: 'A-42' });
  });

  it('silent becomes an APNs background push and an FCM data-only message', async () => {
    const { projectId } = await createProject(p.server, 'silent');
    await giveProjectCredentials(p, projectId);
    const iphone = apnsToken('silent-iphone');
    const pixel = fcmToken('silent-pixel');
    await subscribeDevice(p, projectId, 'apns', iphone);
    await subscribeDevice(p, projectId, 'fcm', pixel);
    const res = await create(projectId, { title: 'Sync', body: 'New data', silent: true, urgent: false });
    await waitForNotification(p.server, res.body.id);

    const apns = p.apns.receivedFor(iphone)[0]!;
    expect(apns.status).toBe(200);
    expect(apns.headers).toMatchObject({ pushType: 'background', priority: '5' });
    expect((apns.payload as { aps: unknown }).aps).toEqual({ 'content-available': 1 });
    const fcm = p.fcm.receivedFor(pixel)[0]!;
    expect(fcm.status).toBe(200);
    expect(fcm.message).not.toHaveProperty('notification');
    expect((fcm.message as { data: Record<string, string> }).data).toMatchObject({ title: 'Sync', body: 'New data' });
    expect((fcm.message as { android: { priority: string } }).android.priority).toBe('normal');
  });
});

describe('outcomes per platform', () => {
  it('prunes the gone, retries throttled and failing servers after Retry-After, fails the rest with the provider reason, and counts exactly', async () => {
    const { projectId } = await createProject(p.server, 'outcomes');
    await giveProjectCredentials(p, projectId);
    const a = (k: string) => apnsToken(`outcomes-${k}`);
    const f = (k: string) => fcmToken(`outcomes-${k}`);
    const apnsOk = Array.from({ length: 20 }, (_, i) => a(`ok${i}`));
    const fcmOk = Array.from({ length: 20 }, (_, i) => f(`ok${i}`));
    p.apns.script(a('gone'), [{ status: 410 }], { sticky: true });
    p.apns.script(a('bad'), [{ status: 400, reason: 'BadDeviceToken' }], { sticky: true });
    p.apns.script(a('throttled'), [{ status: 429, retryAfterSeconds: 2 }]);
    p.apns.script(a('down'), [{ status: 503 }]);
    p.apns.script(a('large'), [{ status: 413, reason: 'PayloadTooLarge' }], { sticky: true });
    p.fcm.script(f('gone'), [{ status: 404, errorCode: 'UNREGISTERED' }], { sticky: true });
    p.fcm.script(f('bad'), [{ status: 400, errorCode: 'INVALID_ARGUMENT', message: 'The registration token is not a valid FCM registration token' }], {
      sticky: true,
    });
    p.fcm.script(f('payload'), [{ status: 400, errorCode: 'INVALID_ARGUMENT', message: 'Invalid value at message.data[0].value' }], { sticky: true });
    p.fcm.script(f('throttled'), [{ status: 429, retryAfterSeconds: 2 }]);
    p.fcm.script(f('down'), [{ status: 503 }]);
    p.fcm.script(f('mismatch'), [{ status: 403, errorCode: 'SENDER_ID_MISMATCH' }], { sticky: true });
    const apnsAll = [...apnsOk, a('gone'), a('bad'), a('throttled'), a('down'), a('large')];
    const fcmAll = [...fcmOk, f('gone'), f('bad'), f('payload'), f('throttled'), f('down'), f('mismatch')];
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', apnsAll.map((token) => ({ token })));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'fcm', fcmAll.map((token) => ({ token })));
    const apnsIds = await subscriptionIds(projectId, 'apns');
    const fcmIds = await subscriptionIds(projectId, 'fcm');

    const res = await create(projectId, { body: 'Outcomes', ttl: 600 });
    const n = await waitForNotification(p.server, res.body.id);

    expect(n.platforms.apns).toEqual({
      scheduled_count: 25,
      successfully_sent_count: 22,
      pruned_count: 2,
      expired_count: 0,
      failed_count: 1,
      failures: { apns_PayloadTooLarge: 1 },
    });
    expect(n.platforms.fcm).toEqual({
      scheduled_count: 26,
      successfully_sent_count: 22,
      pruned_count: 2,
      expired_count: 0,
      failed_count: 2,
      failures: { 'fcm_invalid-argument': 1, 'fcm_mismatched-credential': 1 },
    });
    expect(n.failures).toEqual({ apns_PayloadTooLarge: 1, 'fcm_invalid-argument': 1, 'fcm_mismatched-credential': 1 });
    expect(n.successfully_sent_count).toBe(44);

    // Pruned devices are gone from the project; everyone else is still there.
    expect((await subscriptionIds(projectId, 'apns')).length).toBe(apnsIds.length - 2);
    expect((await subscriptionIds(projectId, 'fcm')).length).toBe(fcmIds.length - 2);

    // Each retried token was asked again, no earlier than its Retry-After, and delivered once.
    for (const [first, second] of [p.apns.receivedFor(a('throttled')), p.fcm.receivedFor(f('throttled'))]) {
      expect(first!.status).toBe(429);
      expect(second!.status).toBe(200);
      expect(second!.at - first!.at).toBeGreaterThanOrEqual(2000);
    }
    expect(p.apns.receivedFor(a('down')).map((r) => r.status)).toEqual([503, 200]);
    expect(p.fcm.receivedFor(f('down')).map((r) => r.status)).toEqual([503, 200]);
    // Final answers were not retried; successes were sent once.
    expect(p.apns.receivedFor(a('large'))).toHaveLength(1);
    expect(p.fcm.receivedFor(f('payload'))).toHaveLength(1);
    for (const t of apnsOk) expect(p.apns.receivedFor(t)).toHaveLength(1);
    for (const t of fcmOk) expect(p.fcm.receivedFor(t)).toHaveLength(1);
  });

  it('an APNs 500 is retried for that token only: the connections and the answers in flight on them are kept', { timeout: 60_000 }, async () => {
    const { projectId } = await createProject(p.server, 'apns-500');
    await giveProjectCredentials(p, projectId);
    const tokens = Array.from({ length: 3_000 }, (_, i) => apnsToken(`apns-500-${i}`));
    const crashing = tokens.filter((_, i) => i % 600 === 7);
    for (const t of crashing) p.apns.script(t, [{ status: 500 }]);
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', tokens.map((token) => ({ token })));
    const res = await create(projectId, { body: 'Despite a 500' });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n.platforms.apns).toMatchObject({ successfully_sent_count: tokens.length, failed_count: 0 });
    // Every device got it exactly once: nothing answered 200 was lost with a dropped session and sent again.
    const twice = tokens.filter((t) => p.apns.receivedFor(t).filter((r) => r.status === 200).length !== 1);
    expect(twice).toEqual([]);
    for (const t of crashing) expect(p.apns.receivedFor(t).map((r) => r.status)).toEqual([500, 200]);
    // Over the four connections of APNS_CONNECTIONS_PER_CREDENTIAL's default, the requests taking them in turn.
    const perConnection = new Map<number, number>();
    for (const r of tokens.flatMap((t) => p.apns.receivedFor(t))) perConnection.set(r.connection, (perConnection.get(r.connection) ?? 0) + 1);
    expect(perConnection.size).toBe(4);
    for (const requests of perConnection.values()) expect(requests).toBeGreaterThanOrEqual(tokens.length / 4 - crashing.length);
  });

  it('a project without credentials for a platform counts its devices as failed with no_credentials', async () => {
    const { projectId } = await createProject(p.server, 'nocreds');
    const iphone = apnsToken('nocreds-iphone');
    const pixel = fcmToken('nocreds-pixel');
    await subscribeDevice(p, projectId, 'apns', iphone);
    await subscribeDevice(p, projectId, 'fcm', pixel);
    const [webId] = await seedSubscribers(p.server.db, p.push, projectId, 1, { idPrefix: 'nocreds-web' });
    const res = await create(projectId, { body: 'Only the web' });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n.failures).toEqual({ no_credentials: 2 });
    expect(n.platforms.apns.failures).toEqual({ no_credentials: 1 });
    expect(n.platforms.fcm.failures).toEqual({ no_credentials: 1 });
    expect(n.successfully_sent_count).toBe(1);
    expect(p.push.receivedFor(webId!)).toHaveLength(1);
    expect(p.apns.receivedFor(iphone)).toHaveLength(0);
    expect(p.fcm.receivedFor(pixel)).toHaveLength(0);
  });
});

describe('many projects, many credentials, one set of workers', () => {
  it('each device receives only its own project’s notifications, signed with its own project’s key', async () => {
    const one = await createProject(p.server, 'tenant-one');
    const two = await createProject(p.server, 'tenant-two');
    const c1 = await giveProjectCredentials(p, one.projectId, { topic: 'com.one.app' });
    const c2 = await giveProjectCredentials(p, two.projectId, { topic: 'com.two.app' });
    const devices = {
      one: { apns: apnsToken('tenant-one-iphone'), fcm: fcmToken('tenant-one-pixel') },
      two: { apns: apnsToken('tenant-two-iphone'), fcm: fcmToken('tenant-two-pixel') },
    };
    for (const [project, d] of [[one.projectId, devices.one], [two.projectId, devices.two]] as const) {
      await subscribeDevice(p, project, 'apns', d.apns);
      await subscribeDevice(p, project, 'fcm', d.fcm);
    }
    const r1 = await create(one.projectId, { body: 'for one' });
    const r2 = await create(two.projectId, { body: 'for two' });
    await waitForNotification(p.server, r1.body.id);
    await waitForNotification(p.server, r2.body.id);

    for (const [d, c, body, topic] of [
      [devices.one, c1, 'for one', 'com.one.app'],
      [devices.two, c2, 'for two', 'com.two.app'],
    ] as const) {
      const apns = p.apns.receivedFor(d.apns);
      expect(apns.map((r) => (r.payload as { aps: { alert: { body: string } } }).aps.alert.body)).toEqual([body]);
      expect(apns[0]!.jwt).toMatchObject({ valid: true, keyId: c.apnsKey.keyId, teamId: c.apnsKey.teamId });
      expect(apns[0]!.headers.topic).toBe(topic);
      const fcm = p.fcm.receivedFor(d.fcm);
      expect(fcm.map((m) => (m.message as { notification: { body: string } }).notification.body)).toEqual([body]);
      expect(fcm[0]!.project).toBe(c.serviceAccount.projectId);
      expect(fcm[0]!.clientEmail).toBe(c.serviceAccount.clientEmail);
    }
  });

  it('credentials the provider refuses hold that project’s sends (rejected, with the reason), and nobody else’s', async () => {
    const bad = await createProject(p.server, 'refused');
    const good = await createProject(p.server, 'accepted');
    // Valid keys, but neither Apple (the local APNs server) nor Google (its token endpoint) knows them.
    await giveProjectCredentials(p, bad.projectId, { trustApns: false, trustFcm: false });
    await giveProjectCredentials(p, good.projectId);
    const badDevices = { apns: apnsToken('refused-iphone'), fcm: fcmToken('refused-pixel') };
    const goodDevices = { apns: apnsToken('accepted-iphone'), fcm: fcmToken('accepted-pixel') };
    await subscribeDevice(p, bad.projectId, 'apns', badDevices.apns);
    await subscribeDevice(p, bad.projectId, 'fcm', badDevices.fcm);
    await subscribeDevice(p, good.projectId, 'apns', goodDevices.apns);
    await subscribeDevice(p, good.projectId, 'fcm', goodDevices.fcm);

    const rb = await create(bad.projectId, { body: 'refused' });
    const rg = await create(good.projectId, { body: 'accepted' });
    const ng = await waitForNotification(p.server, rg.body.id);
    // Refused a few times in a row (retry rounds of the one device), the credentials are rejected
    // and the devices wait for new ones, neither failed nor sent (test/credential-breaker.test.ts).
    const project = await waitForProject(bad.projectId, (b) => b.apns_credentials.status === 'rejected' && b.fcm_credentials.status === 'rejected');
    expect(project.apns_credentials.rejected_reason).toBe('apns_InvalidProviderToken');
    expect(project.fcm_credentials.rejected_reason).toBe('fcm_app_invalid-credential');
    const nb = (await call(p.server.apiUrl, 'GET', `/notifications/${rb.body.id}`, { token: p.server.adminToken })).body;
    expect(nb).toMatchObject({ status: 'sending', successfully_sent_count: 0, failed_count: 0 });
    expect(new Set(p.apns.receivedFor(badDevices.apns).map((r) => r.status))).toEqual(new Set([403]));
    expect(ng.successfully_sent_count).toBe(2);
    expect(ng.failed_count).toBe(0);
  });
});
