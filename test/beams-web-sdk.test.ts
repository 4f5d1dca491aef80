import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import PushNotifications from '@pusher/push-notifications-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, fakePushManager, launchChromium, serviceWorkerControl, type Browser } from './support/browser.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { startWebhookReceiver, verifyBeamsWebhook, type WebhookReceiver } from './support/webhook-receiver.ts';

// Beams' official web SDK (@pusher/push-notifications-web, loaded from Pushcast) in a real headless
// Chromium, on a small customer site of its own origin: start(), addDeviceInterest, setUserId with
// a token provider backed by the site's auth endpoint (the server SDK's generateToken), Beams' own
// service worker imported from Pushcast; publishes to the interest and to the user go through the
// pipeline to the local push service, whose decrypted plaintext is delivered into the browser as a
// push service would (DevTools' ServiceWorker.deliverPushMessage); the click is reported and counted,
// and Beams' webhooks (a webhook of format beams at a verifying HTTPS receiver) tell the publish to
// the user, and the SDK's delivery and open reports, as Beams would.

const skip = chromiumSkipReason();
if (skip) console.warn(`beams-web-sdk.test.ts skipped: ${skip}`);

const PUSH_ID = 'beams-chromium-1';
let p: Pipeline;
let browser: Browser;
let site: { origin: string; server: Server };
let instanceId: string;
let projectId: number;
let beams: PushNotifications;
let receiver: WebhookReceiver;
const WEBHOOK_SECRET = 'the-shop-beams-webhook-secret';

/** The customer's site: a page, a service worker importing Beams' from Pushcast, and its auth endpoint for Beams user tokens. */
async function startSite(pushcast: string): Promise<{ origin: string; server: Server }> {
  const server = createServer((request, response) => {
    const url = new URL(request.url!, 'http://site');
    if (url.pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<!doctype html><title>Shop</title><script src="${pushcast}/beams/push-notifications-cdn.js"></script>`);
    } else if (url.pathname === '/service-worker.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' });
      response.end(`importScripts('${pushcast}/beams/service-worker.js');\n`);
    } else if (url.pathname === '/pusher/beams-auth') {
      // A real site checks its own session first; the user id is the one it knows.
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(beams.generateToken(url.searchParams.get('user_id')!)));
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

beforeAll(async () => {
  if (skip) return;
  [p, receiver] = await Promise.all([startPipeline('beams_web_sdk'), startWebhookReceiver()]);
  await p.startWorker({ webhookCa: receiver.caPem, webhookDispatch: { pollMs: 100 } });
  ({ projectId } = await createProject(p.server, 'Shop'));
  const hook = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/webhooks`, {
    token: p.server.adminToken,
    body: { url: receiver.url, format: 'beams', secret: WEBHOOK_SECRET },
  });
  if (hook.status !== 201) throw new Error(`webhook not created: ${JSON.stringify(hook.body)}`);
  instanceId = (await call(p.server.apiUrl, 'GET', `/projects/${projectId}`, { token: p.server.adminToken })).body.beams_instance_id;
  const secretKey = (await call(p.server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: p.server.adminToken })).body.secret_key;
  const { hostname, port } = new URL(p.server.url);
  beams = new PushNotifications({ instanceId, secretKey, endpoint: hostname, port: Number(port) } as ConstructorParameters<typeof PushNotifications>[0]);
  site = await startSite(p.server.url);
  browser = await launchChromium();
  await browser.context.grantPermissions(['notifications'], { origin: site.origin });
  await fakePushManager(browser.context, p.push.subscription(PUSH_ID));
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => site?.server.close(r));
  await p?.close();
  await receiver?.close();
});

/** The payload of the Beams webhook request of this type and publish, once it came, its signature verified. */
const beamsWebhook = (type: string, publishId: string) =>
  waitFor(`${type} for ${publishId}`, () => {
    const request = receiver.received.find((r) => r.headers['webhook-event-type'] === type && JSON.parse(r.body).payload.publish_id === publishId);
    return request ? verifyBeamsWebhook(WEBHOOK_SECRET, request).payload : undefined;
  });

async function pushedPlaintext(index: number): Promise<string> {
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
    const message = p.push.receivedFor(PUSH_ID).filter((m) => m.status === 201)[index];
    if (message?.plaintext) return message.plaintext;
  }
  throw new Error('no push message reached the local push service');
}

async function publishAndWait(publish: Promise<{ publishId: string }>): Promise<{ publishId: string; notificationId: number }> {
  const { publishId } = await publish;
  const list = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/notifications`, { token: p.server.adminToken });
  await waitForNotification(p.server, list.body[0].id);
  return { publishId, notificationId: list.body[0].id };
}

describe.skipIf(skip !== null)("Beams' web SDK against Pushcast, in Chromium", () => {
  it('starts, takes an interest and a user, shows publishes to both through Beams service worker, and reports the open', { timeout: 90_000 }, async () => {
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(site.origin);

    const state = await page.evaluate(`(async () => {
      const client = new PusherPushNotifications.Client({ instanceId: ${JSON.stringify(instanceId)}, endpointOverride: ${JSON.stringify(p.server.url)} });
      await client.start();
      await client.addDeviceInterest('hello');
      await client.setUserId('alice', new PusherPushNotifications.TokenProvider({ url: '/pusher/beams-auth' }));
      return { deviceId: await client.getDeviceId(), userId: await client.getUserId(), interests: await client.getDeviceInterests() };
    })()`);
    expect(state).toMatchObject({ userId: 'alice', interests: { interests: ['hello'] } });
    const { deviceId } = state as { deviceId: string };

    // Pushcast sees a web subscription with that interest and user.
    const subs = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/subscriptions`, { token: p.server.adminToken });
    expect(subs.body).toEqual([expect.objectContaining({ platform: 'web', endpoint: p.push.subscription(PUSH_ID).endpoint, uid: 'alice', tags: ['hello'] })]);
    const device = await call(p.server.url, 'GET', `/device_api/v1/instances/${instanceId}/devices/web/${deviceId}`);
    expect(device.body).toMatchObject({ id: deviceId, userId: 'alice', metadata: { sdkVersion: expect.any(String) } });

    const sw = await serviceWorkerControl(browser.context, page);
    const registration = await sw.registrationId(`${site.origin}/`);
    const shown = () =>
      page.evaluate(`navigator.serviceWorker.ready.then((r) => r.getNotifications()).then((ns) => ns.map((n) => ({ title: n.title, body: n.body })))`);

    const toInterest = await publishAndWait(beams.publishToInterests(['hello'], { web: { notification: { title: 'Hello interest', body: 'To hello' } } }));
    await sw.deliverPush(site.origin, registration, await pushedPlaintext(0));
    const toUser = await publishAndWait(beams.publishToUsers(['alice'], { web: { notification: { title: 'Hello Alice', body: 'To alice' } } }));
    await sw.deliverPush(site.origin, registration, await pushedPlaintext(1));
    // See browser-sdk.test.ts: Chromium registers shown notifications with its display service a moment late.
    await new Promise((r) => setTimeout(r, 1500));
    await expect
      .poll(shown, { timeout: 10_000 })
      .toEqual(expect.arrayContaining([{ title: 'Hello interest', body: 'To hello' }, { title: 'Hello Alice', body: 'To alice' }]));

    // A click on the user's notification, dispatched in Beams' service worker: it reports the open to Pushcast.
    const worker = browser.context.serviceWorkers().find((w) => w.url().startsWith(`${site.origin}/service-worker.js?pusherBeamsWebSDKVersion=`))!;
    await worker.evaluate(`(async () => {
      const notifications = await self.registration.getNotifications();
      const notification = notifications.find((n) => n.title === 'Hello Alice');
      self.dispatchEvent(new NotificationEvent('notificationclick', { notification, action: '' }));
    })()`);
    const opened = async (id: number) => (await call(p.server.apiUrl, 'GET', `/notifications/${id}`, { token: p.server.adminToken })).body.opened_count;
    await expect.poll(() => opened(toUser.notificationId), { timeout: 10_000 }).toBe(1);
    expect(await opened(toInterest.notificationId)).toBe(0);

    // Beams' webhooks: the publish to alice, the SDK's delivery reports of both publishes, and the open.
    const ids = { instance_id: instanceId };
    expect(await beamsWebhook('v1.PublishToUsersAttempt', toUser.publishId)).toEqual({
      ...ids,
      publish_id: toUser.publishId,
      users_delivered_to_gateway: ['alice'],
      users_no_devices: [],
      users_gateway_failed: [],
    });
    for (const { publishId } of [toInterest, toUser]) {
      expect(await beamsWebhook('v1.UserNotificationAcknowledgement', publishId)).toEqual({ ...ids, publish_id: publishId, user_id: 'alice' });
    }
    expect(await beamsWebhook('v1.UserNotificationOpen', toUser.publishId)).toEqual({ ...ids, publish_id: toUser.publishId, user_id: 'alice' });
    expect(errors).toEqual([]);
  });
});
