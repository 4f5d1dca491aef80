import { emitBatchedWebhookEvent, flushWebhookEventBatches, inTransaction } from '@pushcast/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

// The notification.* events of real broadcasts, as a receiver verifying every signature sees them.

let p: Pipeline;
let receiver: WebhookReceiver;
beforeAll(async () => {
  [p, receiver] = await Promise.all([startPipeline('webhookevents'), startWebhookReceiver()]);
  await p.startWorker({ webhookCa: receiver.caPem, webhookDispatch: { pollMs: 100, batchMaxAgeMs: 300 } });
});
afterAll(async () => {
  await p?.close();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) =>
  call(p.server.apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

async function webhook(projectId: number, events?: string[]): Promise<string> {
  const res = await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url, ...(events ? { events } : {}) });
  expect(res.status).toBe(201);
  return res.body.secret;
}

/** The verified notification.* events of one notification (a webhook of `*` also hears its subscription.pruned and delivery.failed). */
function eventsOf(secret: string, notificationId: number) {
  return receiver.verified(secret).filter((e) => e.payload.data.notification_id === notificationId && e.payload.type.startsWith('notification.'));
}

describe('notification events', () => {
  it('a broadcast emits created, sending and completed, once each, completed with the final counts', async () => {
    const { projectId } = await createProject(p.server, 'broadcast');
    const secret = await webhook(projectId);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 1_200, { idPrefix: 'b' });
    for (const id of ids.slice(0, 30)) p.push.script(id, [{ status: 410 }]);
    for (const id of ids.slice(30, 40)) p.push.script(id, [{ status: 400 }]);

    const created = await api('POST', `/projects/${projectId}/notifications`, { body: 'hello' });
    const id: number = created.body.id;
    const n = await waitForNotification(p.server, id);
    const events = await waitFor('the completed event', () => {
      const e = eventsOf(secret, id);
      return e.some((x) => x.payload.type === 'notification.completed') ? e : undefined;
    });
    expect(events.map((e) => e.payload.type).sort()).toEqual(['notification.completed', 'notification.created', 'notification.sending']);
    const byType = Object.fromEntries(events.map((e) => [e.payload.type, e.payload]));
    expect(byType['notification.created'].data).toEqual({ notification_id: id, project_id: projectId, scheduled: 1_200, send_at: null });
    expect(byType['notification.sending'].data).toMatchObject({ notification_id: id, project_id: projectId });
    expect(byType['notification.completed'].data).toEqual({
      notification_id: id,
      project_id: projectId,
      scheduled_count: 1_200,
      successfully_sent_count: 1_160,
      pruned_count: 30,
      failed_count: 10,
      expired_count: 0,
      opened_count: 0,
      completed_at: expect.any(String),
    });
    // The API says the same.
    expect(n).toMatchObject({ scheduled_count: 1_200, successfully_sent_count: 1_160, pruned_count: 30, failed_count: 10 });
    const at = (t: string) => Date.parse(byType[t].timestamp);
    expect(at('notification.created')).toBeLessThanOrEqual(at('notification.sending'));
    expect(at('notification.sending')).toBeLessThanOrEqual(at('notification.completed'));
    // webhook-id is the event's own: three events, three ids.
    expect(new Set(events.map((e) => e.id)).size).toBe(3);
  });

  it('a cancelled notification emits cancelled; a webhook gets only the events it asked for', async () => {
    const { projectId } = await createProject(p.server, 'cancel');
    const all = await webhook(projectId);
    const onlyCancelled = await webhook(projectId, ['notification.cancelled']);
    await seedSubscribers(p.server.db, p.push, projectId, 10, { idPrefix: 'c' });
    const sendAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, '.000Z');
    const created = await api('POST', `/projects/${projectId}/notifications`, { body: 'later', send_at: sendAt });
    const id: number = created.body.id;
    expect((await api('DELETE', `/notifications/${id}/cancel`)).status).toBe(204);
    expect((await api('DELETE', `/notifications/${id}/cancel`)).status).toBe(204); // again: no second event

    const cancelled = await waitFor('the cancelled event', () => {
      const e = eventsOf(onlyCancelled, id);
      return e.length > 0 ? e : undefined;
    });
    expect(cancelled.map((e) => e.payload)).toEqual([
      {
        type: 'notification.cancelled',
        timestamp: expect.any(String),
        data: {
          notification_id: id,
          project_id: projectId,
          scheduled_count: 0,
          successfully_sent_count: 0,
          pruned_count: 0,
          failed_count: 0,
          expired_count: 0,
          opened_count: 0,
          cancelled_at: expect.any(String),
        },
      },
    ]);
    const both = await waitFor('both events for the other webhook', () => {
      const e = eventsOf(all, id);
      return e.length >= 2 ? e : undefined;
    });
    expect(both.map((e) => e.payload.type).sort()).toEqual(['notification.cancelled', 'notification.created']);
    expect(both.find((e) => e.payload.type === 'notification.created')!.payload.data.send_at).toBe(sendAt);
    // Each event went to each webhook once: nothing else of this notification came in.
    expect(eventsOf(onlyCancelled, id)).toHaveLength(1);
  });

  it('a project without webhooks writes no events', async () => {
    const { projectId } = await createProject(p.server, 'quiet');
    await seedSubscribers(p.server.db, p.push, projectId, 5, { idPrefix: 'q' });
    const created = await api('POST', `/projects/${projectId}/notifications`, { body: 'quiet' });
    await waitForNotification(p.server, created.body.id);
    const { rows } = await p.server.db.query(`SELECT count(*)::int AS n FROM webhook_events WHERE project_id = $1`, [projectId]);
    expect(rows[0].n).toBe(0);
  });

  it('opens are told in batches: notification.opened lists each counted open once', async () => {
    const { projectId } = await createProject(p.server, 'opens');
    const secret = await webhook(projectId, ['notification.opened']);
    const ids = await seedSubscribers(p.server.db, p.push, projectId, 3, { idPrefix: 'o', uid: (i) => `user${i}` });
    const id: number = (await api('POST', `/projects/${projectId}/notifications`, { body: 'open me' })).body.id;
    await waitForNotification(p.server, id);
    const token = (pushId: string) => JSON.parse(p.push.receivedFor(pushId).find((m) => m.status === 201)!.plaintext!).open_token as string;
    for (const pushId of [ids[0]!, ids[2]!, ids[0]!]) {
      const res = await call(p.server.apiUrl, 'POST', `/notifications/${id}/open`, { body: { token: token(pushId) } });
      expect(res.status).toBe(200);
    }
    const opened = await waitFor('the opened event', () => {
      const e = eventsOf(secret, id);
      return e.length > 0 ? e : undefined;
    });
    expect(opened).toHaveLength(1);
    const { data } = opened[0]!.payload;
    expect(opened[0]!.payload.type).toBe('notification.opened');
    expect(data.notification_id).toBe(id);
    expect(data.opens.map((o: { uid: string }) => o.uid).sort()).toEqual(['user0', 'user2']);
    expect(data.opens[0]).toEqual({ subscription_id: expect.any(Number), uid: expect.any(String), action: null, opened_at: expect.any(String) });
  });

  it('a batch becomes an event per 1,000 items, and what is left goes out when the batch is flushed', async () => {
    const { projectId } = await createProject(p.server, 'batches');
    await webhook(projectId, ['subscription.pruned']);
    const batch = { projectId, type: 'subscription.pruned' as const, key: 'n1', data: { project_id: projectId }, listField: 'subscriptions' };
    const items = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ id: from + i }));
    // One transaction, so that the dispatcher's flush cannot take the first 700 on their own.
    await inTransaction(p.server.db, async (tx) => {
      await emitBatchedWebhookEvent(tx, batch, items(0, 700));
      await emitBatchedWebhookEvent(tx, batch, items(700, 1_800));
    });
    const events = async () =>
      (await p.server.db.query(`SELECT data FROM webhook_events WHERE project_id = $1 AND type = 'subscription.pruned' ORDER BY created_at`, [projectId])).rows.map(
        (r: { data: { subscriptions: { id: number }[] } }) => r.data.subscriptions.map((s) => s.id),
      );
    const full = await events();
    expect(full.map((e) => e.length)).toEqual([1_000, 1_000]);
    await waitFor('the rest flushed', async () => ((await events()).length === 3 ? true : undefined));
    expect((await events()).flat().sort((a, b) => a - b)).toEqual(items(0, 2_500).map((i) => i.id));
    expect(await flushWebhookEventBatches(p.server.db, 0)).toBe(0);
  });
});
