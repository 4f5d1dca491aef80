import { createWebhookTransport, type RunningWorker } from '@pushcast/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { sampleValue, scrape } from './support/prometheus.ts';
import { startWebhookReceiver, verifyWebhook, type WebhookReceiver } from './support/webhook-receiver.ts';

// Webhook delivery against a real HTTPS receiver that verifies every signature with the
// `standardwebhooks` library: signing, rotation, retries with the same webhook-id, 410, metrics,
// and the connect-time check of resolved addresses.

let p: Pipeline;
let receiver: WebhookReceiver;
let worker: RunningWorker;
beforeAll(async () => {
  [p, receiver] = await Promise.all([startPipeline('webhooks'), startWebhookReceiver()]);
  worker = await p.startWorker({
    webhookCa: receiver.caPem,
    webhookRetryDelaysMs: [200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
    webhookDispatch: { pollMs: 100 },
  });
});
afterAll(async () => {
  await p?.close();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) =>
  call(p.server.apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

async function newWebhook(name: string, url = receiver.url): Promise<{ projectId: number; id: number; secret: string }> {
  const { projectId } = await createProject(p.server, name);
  const res = await api('POST', `/projects/${projectId}/webhooks`, { url });
  expect(res.status).toBe(201);
  return { projectId, id: res.body.id, secret: res.body.secret };
}

const requestsFor = (eventId: string) => receiver.received.filter((r) => r.headers['webhook-id'] === eventId);

describe('webhook delivery', () => {
  it('signs a test event the standardwebhooks library verifies, with the documented headers and body', async () => {
    const hook = await newWebhook('signed');
    const test = await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`);
    expect(test.status).toBe(202);
    const eventId: string = test.body.event_id;
    const [request] = await waitFor('the test event', () => (requestsFor(eventId).length > 0 ? requestsFor(eventId) : undefined));
    expect(request!.headers['content-type']).toBe('application/json');
    expect(Number(request!.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -2);
    expect(request!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const payload = verifyWebhook(hook.secret, request!);
    expect(payload).toEqual({ type: 'webhook.test', timestamp: expect.any(String), data: { project_id: hook.projectId, webhook_id: hook.id } });
    // Another secret does not verify it: the signature is really the secret's.
    const other = await newWebhook('other');
    expect(verifyWebhook(other.secret, request!)).toBeNull();

    const attempts = await waitFor('the attempt recorded', async () => {
      const res = await api('GET', `/projects/${hook.projectId}/webhooks/${hook.id}/attempts`);
      return res.body.length > 0 ? res.body : undefined;
    });
    expect(attempts).toEqual([{ event_id: eventId, type: 'webhook.test', attempt: 1, status: 204, duration_ms: expect.any(Number), error: null, at: expect.any(String) }]);
    const metrics = await scrape(`http://127.0.0.1:${worker.metricsPort}/metrics`);
    expect(sampleValue(metrics, 'pushcast_webhook_attempts_total', { outcome: 'delivered' })).toBeGreaterThanOrEqual(1);
  });

  it('after a rotation both secrets sign (the old one for 24 hours), each verifies on its own', async () => {
    const hook = await newWebhook('rotate');
    const rotated = await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/rotate_secret`);
    const eventId = (await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`)).body.event_id;
    const [request] = await waitFor('the event', () => (requestsFor(eventId).length > 0 ? requestsFor(eventId) : undefined));
    expect(request!.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verifyWebhook(rotated.body.secret, request!)).toMatchObject({ type: 'webhook.test' });
    expect(verifyWebhook(hook.secret, request!)).toMatchObject({ type: 'webhook.test' });

    // Once the overlap is over, only the new secret signs.
    await p.server.db.query(`UPDATE webhook_secrets SET expires_at = now() WHERE webhook_id = $1 AND expires_at IS NOT NULL`, [hook.id]);
    const later = (await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`)).body.event_id;
    const [next] = await waitFor('the next event', () => (requestsFor(later).length > 0 ? requestsFor(later) : undefined));
    expect(next!.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verifyWebhook(hook.secret, next!)).toBeNull();
    expect(verifyWebhook(rotated.body.secret, next!)).toMatchObject({ type: 'webhook.test' });
  });

  it('a receiver that is down for a while gets the event once it is back, with the same webhook-id on every attempt', async () => {
    const hook = await newWebhook('down');
    await receiver.stop();
    const eventId = (await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`)).body.event_id;
    const failed = await waitFor('three failed attempts', async () => {
      const res = await api('GET', `/projects/${hook.projectId}/webhooks/${hook.id}/attempts`);
      return res.body.length >= 3 ? res.body : undefined;
    });
    expect(failed.every((a: { status: number | null; error: string }) => a.status === null && /ECONNREFUSED/.test(a.error))).toBe(true);
    await receiver.start();
    receiver.answer(503);
    await waitFor('a 503 answered', () => (requestsFor(eventId).length > 0 ? true : undefined));
    receiver.answer(204);
    await waitFor('delivered', async () => {
      const res = await api('GET', `/projects/${hook.projectId}/webhooks/${hook.id}/attempts`);
      return res.body[0]?.status === 204 ? true : undefined;
    });
    const attempts = (await api('GET', `/projects/${hook.projectId}/webhooks/${hook.id}/attempts`)).body;
    expect(attempts.map((a: { attempt: number }) => a.attempt)).toEqual(attempts.map((_: unknown, i: number) => attempts.length - i));
    expect(new Set(attempts.map((a: { event_id: string }) => a.event_id))).toEqual(new Set([eventId]));
    // Every request the receiver saw carried the event's id, and each verifies.
    const seen = requestsFor(eventId);
    expect(seen.map((r) => r.status)).toEqual([...seen.slice(0, -1).map(() => 503), 204]);
    for (const r of seen) expect(verifyWebhook(hook.secret, r)).toMatchObject({ type: 'webhook.test' });
  });

  it('an endpoint answering 410 is disabled with the reason shown; enabled again, its pending events go out', async () => {
    const hook = await newWebhook('gone');
    receiver.answer(410);
    const first = (await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`)).body.event_id;
    const disabled = await waitFor('disabled', async () => {
      const res = await api('GET', `/projects/${hook.projectId}/webhooks/${hook.id}`);
      return res.body.enabled === false ? res.body : undefined;
    });
    expect(disabled.disabled_reason).toMatch(/410 Gone/);
    expect(requestsFor(first)).toHaveLength(1);
    receiver.answer(204);

    // Disabled: an event for it waits, nothing is sent.
    const second = (await api('POST', `/projects/${hook.projectId}/webhooks/${hook.id}/test`)).body.event_id;
    await new Promise((r) => setTimeout(r, 500));
    expect(requestsFor(second)).toHaveLength(0);
    const enabled = await api('PATCH', `/projects/${hook.projectId}/webhooks/${hook.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabled_reason: null });
    await waitFor('the waiting event', () => (requestsFor(second).length > 0 ? true : undefined));
    expect(requestsFor(first)).toHaveLength(1); // the 410's delivery failed for good
  });

  it('refuses to connect to a name that resolves to a loopback address unless the host is allowed', async () => {
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const before = receiver.received.length;
    const guarded = createWebhookTransport({ allowedHosts: [], ca: receiver.caPem });
    const refused = await guarded.post(url, {}, '{}');
    expect(refused).toMatchObject({ status: null, error: expect.stringMatching(/localhost resolves to (127\.0\.0\.1|::1)/) });
    expect(receiver.received.length).toBe(before);
    const allowed = createWebhookTransport({ allowedHosts: ['localhost'], ca: receiver.caPem });
    expect(await allowed.post(url, {}, '{}')).toMatchObject({ status: 204, error: null });
    guarded.close();
    allowed.close();
  });
});
