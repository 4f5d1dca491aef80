import PushNotifications from '@pusher/push-notifications-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fcmToken, giveProjectCredentials } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { startWebhookReceiver, verifyBeamsWebhook, type ReceivedWebhook, type WebhookReceiver } from './support/webhook-receiver.ts';

// Pusher Beams' webhooks (issue 15) on Pushcast's webhook machinery: a webhook of format `beams`,
// configured through Pushcast's API, gets v1.PublishToUsersAttempt (per-user results from the
// delivery records), v1.UserNotificationAcknowledgement and v1.UserNotificationOpen as Beams sends
// them, at a real HTTPS receiver that verifies the hex HMAC-SHA1 `Webhook-Signature` as Beams'
// docs tell receivers to; and Beams' retries (four, shortened here) with the same request id.

const SECRET = 'the-secret-my-receiver-had-at-beams';
const BEAMS_RETRIES = 4;

let p: Pipeline;
let receiver: WebhookReceiver;
beforeAll(async () => {
  [p, receiver] = await Promise.all([startPipeline('beamswebhooks'), startWebhookReceiver()]);
  await p.startWorker({
    webhookCa: receiver.caPem,
    beamsWebhookRetryDelaysMs: Array.from({ length: BEAMS_RETRIES }, () => 100),
    webhookDispatch: { pollMs: 100 },
  });
});
afterAll(async () => {
  await p?.close();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) =>
  call(p.server.apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

interface Instance {
  readonly projectId: number;
  readonly instanceId: string;
  readonly beams: PushNotifications;
}

async function newInstance(name: string): Promise<Instance> {
  const { projectId } = await createProject(p.server, name);
  await giveProjectCredentials(p, projectId);
  const instanceId: string = (await api('GET', `/projects/${projectId}`)).body.beams_instance_id;
  const secretKey: string = (await api('POST', `/projects/${projectId}/secret_keys`)).body.secret_key;
  const { hostname, port } = new URL(p.server.url);
  const beams = new PushNotifications({ instanceId, secretKey, endpoint: hostname, port: Number(port) } as ConstructorParameters<typeof PushNotifications>[0]);
  return { projectId, instanceId, beams };
}

/** An FCM device as Beams' Android SDK registers it, bound to `user` with a token from the server SDK. */
async function userDevice(i: Instance, label: string, user: string): Promise<string> {
  const device = `/device_api/v1/instances/${i.instanceId}/devices/fcm`;
  const id: string = (await call(p.server.url, 'POST', device, { body: { token: fcmToken(label), knownPreviousClientIds: [] } })).body.id;
  const bound = await call(p.server.url, 'PUT', `${device}/${id}/user`, { authorization: `Bearer ${i.beams.generateToken(user).token}` });
  expect(bound.status).toBe(200);
  return id;
}

/** Beams requests of one event type (and publish) as the receiver got them. */
const beamsRequests = (type: string, publishId?: string): ReceivedWebhook[] =>
  receiver.received.filter(
    (r) => r.headers['webhook-event-type'] === type && (publishId === undefined || JSON.parse(r.body).payload.publish_id === publishId),
  );

const waitForBeams = (type: string, publishId: string, n = 1) =>
  waitFor(`${n} × ${type}`, () => {
    const got = beamsRequests(type, publishId);
    return got.length >= n ? got : undefined;
  });

describe("Beams' webhooks", () => {
  let i: Instance;
  let beamsHook: { id: number; uuid?: string };
  let standardHook: number;
  let alice: string;
  let publishId: string;

  beforeAll(async () => {
    i = await newInstance('beams webhooks');
    const created = await api('POST', `/projects/${i.projectId}/webhooks`, {
      url: receiver.url,
      format: 'beams',
      secret: SECRET,
      custom_data: { app: 'shop' },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      format: 'beams',
      secret: SECRET,
      custom_data: { app: 'shop' },
      events: ['v1.PublishToUsersAttempt', 'v1.UserNotificationAcknowledgement', 'v1.UserNotificationOpen'],
    });
    beamsHook = { id: created.body.id };
    // A Standard Webhooks endpoint taking everything: Pushcast's events, never Beams' ones.
    standardHook = (await api('POST', `/projects/${i.projectId}/webhooks`, { url: receiver.url, events: ['*'] })).body.id;

    alice = await userDevice(i, 'hooks-alice', 'alice');
    await userDevice(i, 'hooks-bob', 'bob');
    await userDevice(i, 'hooks-dave', 'dave');
    // bob's device refuses the message (a failure); dave's is gone at FCM (pruned); carol has no device.
    p.fcm.script(fcmToken('hooks-bob'), [{ status: 400, errorCode: 'INVALID_ARGUMENT', message: 'Invalid value at message.data[0].value' }], { sticky: true });
    p.fcm.script(fcmToken('hooks-dave'), [{ status: 404, errorCode: 'UNREGISTERED' }], { sticky: true });
    ({ publishId } = await i.beams.publishToUsers(['alice', 'bob', 'carol', 'dave'], { fcm: { notification: { title: 'Hi', body: 'Order 42' } } }));
  });

  it('v1.PublishToUsersAttempt: per-user results, signed with HMAC-SHA1 of the body, in Beams shape and headers', async () => {
    const [request] = await waitForBeams('v1.PublishToUsersAttempt', publishId);
    const body = verifyBeamsWebhook(SECRET, request!);
    expect(body).toEqual({
      payload: {
        instance_id: i.instanceId,
        publish_id: publishId,
        users_delivered_to_gateway: ['alice'],
        users_no_devices: ['carol', 'dave'],
        users_gateway_failed: ['bob'],
      },
      metadata: {
        created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0000$/),
        event_type: 'v1.PublishToUsersAttempt',
        event_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        product: 'beams',
      },
      custom_data: { app: 'shop' },
    });
    // Another secret does not verify it: the signature is really the secret's.
    expect(verifyBeamsWebhook('another-secret', request!)).toBeNull();
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'pusher-webhooks',
      'webhook-event-type': 'v1.PublishToUsersAttempt',
      'webhook-id-uuid': expect.stringMatching(/^[0-9a-f-]{36}$/),
      'webhook-request-id-uuid': body.metadata.event_id,
    });
    expect(request!.headers['webhook-id']).toBeUndefined(); // not a Standard Webhooks request
  });

  it('v1.UserNotificationAcknowledgement and v1.UserNotificationOpen: once per device, with the user the device is bound to', async () => {
    const report = (event: string, deviceId: string, userId: string) =>
      call(p.server.url, 'POST', `/reporting_api/v2/instances/${i.instanceId}/events`, {
        body: { event, publishId, deviceId, userId, timestampSecs: Math.floor(Date.now() / 1000) },
      });
    // The report claims another user: the device's own is told.
    expect((await report('delivery', alice, 'mallory')).status).toBe(200);
    expect((await report('open', alice, 'mallory')).status).toBe(200);
    expect((await report('open', alice, 'mallory')).status).toBe(200);
    const [ack] = await waitForBeams('v1.UserNotificationAcknowledgement', publishId);
    const [open] = await waitForBeams('v1.UserNotificationOpen', publishId);
    for (const [request, type] of [
      [ack!, 'v1.UserNotificationAcknowledgement'],
      [open!, 'v1.UserNotificationOpen'],
    ] as const) {
      expect(verifyBeamsWebhook(SECRET, request)).toMatchObject({
        payload: { instance_id: i.instanceId, publish_id: publishId, user_id: 'alice' },
        metadata: { event_type: type, product: 'beams' },
        custom_data: { app: 'shop' },
      });
    }
    // Each told once (the outbox, written with the report): the second open wrote no event.
    const { rows } = await p.server.db.query<{ type: string; n: number }>(
      `SELECT type, count(*)::int AS n FROM webhook_events WHERE project_id = $1 AND type LIKE 'v1.%' GROUP BY type ORDER BY type`,
      [i.projectId],
    );
    expect(rows).toEqual([
      { type: 'v1.PublishToUsersAttempt', n: 1 },
      { type: 'v1.UserNotificationAcknowledgement', n: 1 },
      { type: 'v1.UserNotificationOpen', n: 1 },
    ]);
  });

  it("the Standard Webhooks endpoint of '*' gets Pushcast's events and none of Beams'", async () => {
    const completed = await waitFor('notification.completed at the standard webhook', () =>
      receiver.received.find((r) => r.headers['webhook-id'] !== undefined && JSON.parse(r.body).type === 'notification.completed'),
    );
    expect(JSON.parse(completed.body).data).toMatchObject({ successfully_sent_count: 1 });
    const { rows } = await p.server.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id WHERE d.webhook_id = $1 AND e.type LIKE 'v1.%'`,
      [standardHook],
    );
    expect(rows[0]!.n).toBe(0);
    expect(beamsHook.id).not.toBe(standardHook);
  });

  it("the API refuses Beams' events on a standard webhook, Pushcast's on a beams one, and a secret without format beams", async () => {
    const refused = [
      { url: receiver.url, events: ['v1.UserNotificationOpen'] },
      { url: receiver.url, format: 'beams', events: ['notification.completed'] },
      { url: receiver.url, secret: 'a-secret-of-mine' },
      { url: receiver.url, format: 'beams', events: ['v1.*'] },
    ];
    for (const body of refused) {
      const res = await api('POST', `/projects/${i.projectId}/webhooks`, body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(['webhook_format', 'event_type']).toContain(res.body.rule);
    }
    const patched = await api('PATCH', `/projects/${i.projectId}/webhooks/${standardHook}`, { events: ['v1.UserNotificationOpen'] });
    expect(patched).toMatchObject({ status: 422, body: { rule: 'webhook_format', field: 'events' } });
  });
});

describe("Beams' retries", () => {
  it('a failing receiver is tried four times more (Beams schedule), every request with the same request id, then the delivery fails', async () => {
    const i = await newInstance('beams retries');
    const hook = await api('POST', `/projects/${i.projectId}/webhooks`, { url: receiver.url, format: 'beams', events: ['v1.PublishToUsersAttempt'] });
    expect(hook.status).toBe(201);
    receiver.answer(503);
    try {
      const { publishId } = await i.beams.publishToUsers(['nobody'], { fcm: { notification: { title: 'Hi' } } });
      const requests = await waitForBeams('v1.PublishToUsersAttempt', publishId, 1 + BEAMS_RETRIES);
      expect(new Set(requests.map((r) => r.headers['webhook-request-id-uuid'])).size).toBe(1);
      expect(verifyBeamsWebhook(hook.body.secret, requests[0]!).payload).toMatchObject({ users_no_devices: ['nobody'], users_delivered_to_gateway: [] });
      const attempts = await waitFor('five attempts recorded', async () => {
        const res = await api('GET', `/projects/${i.projectId}/webhooks/${hook.body.id}/attempts`);
        return res.body.length === 1 + BEAMS_RETRIES ? res.body : undefined;
      });
      expect(attempts.map((a: { status: number }) => a.status)).toEqual(Array(1 + BEAMS_RETRIES).fill(503));
      // No sixth: the delivery is over, failed.
      const { rows } = await p.server.db.query<{ status: string; attempts: number }>(
        `SELECT status, attempts FROM webhook_deliveries WHERE webhook_id = $1`,
        [hook.body.id],
      );
      expect(rows).toEqual([{ status: 'failed', attempts: 1 + BEAMS_RETRIES }]);
    } finally {
      receiver.answer(204);
    }
  });
});
