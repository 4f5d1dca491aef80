import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { secretKeyring } from '@pushcast/domain';
import { WebPushClient } from '@pushcast/providers';
import { findNotification, findProject, findSender, insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { vapidFingerprint, vapidSubject, webChannel } from '../apps/worker/src/channels/web.ts';
import { chunkStore } from '../apps/worker/src/processors/send-chunk/deps.ts';
import { apnsToken, fcmToken, giveProjectCredentials } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { waitFor } from './support/processes.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook-receiver.ts';

// Issue 14 §3: a credential the provider refuses stops the project's sends on that platform, says
// so, and resumes when the credential is replaced — instead of every chunk failing or retrying.

let p: Pipeline;
let receiver: WebhookReceiver;
beforeAll(async () => {
  [p, receiver] = await Promise.all([startPipeline('breaker'), startWebhookReceiver()]);
  // Two workers: the count of refusals in a row is shared. A held chunk looks again every 300 ms.
  for (let i = 0; i < 2; i += 1) {
    await p.startWorker({ webhookCa: receiver.caPem, webhookDispatch: { pollMs: 100, batchMaxAgeMs: 300 } }, { QUOTA_RECHECK_MS: '300' });
  }
});
afterAll(async () => {
  await p?.close();
  await receiver?.close();
});

const api = (method: string, path: string, body?: unknown) =>
  call(p.server.apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

const DEVICES = 1_500;

describe('the credential breaker', () => {
  it('APNs key revoked and FCM service account disabled: sends stop, the credentials show rejected, an event says so; new credentials finish the broadcast', async () => {
    const { projectId } = await createProject(p.server, 'revoked');
    const hook = await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url, events: ['credentials.rejected'] });
    const creds = await giveProjectCredentials(p, projectId);
    const apns = Array.from({ length: DEVICES }, (_, i) => apnsToken(`revoked-${i}`));
    const fcm = Array.from({ length: DEVICES }, (_, i) => fcmToken(`revoked-${i}`));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', apns.map((token) => ({ token })));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'fcm', fcm.map((token) => ({ token })));
    // The credentials work…
    const first = await api('POST', `/projects/${projectId}/notifications`, { body: 'before', ttl: 3600 });
    expect(await waitForNotification(p.server, first.body.id)).toMatchObject({ successfully_sent_count: 2 * DEVICES });

    // …until Apple revokes the key and Google disables the service account.
    p.apns.revokeKey(creds.apnsKey.keyId);
    expect(p.fcm.untrustServiceAccount(creds.serviceAccount.clientEmail)).toBe(true);
    const apnsBefore = p.apns.counters().requests;
    const fcmBefore = p.fcm.counters().requests;
    const second = await api('POST', `/projects/${projectId}/notifications`, { body: 'during', ttl: 3600 });
    const id: number = second.body.id;

    const rejected = await waitFor('both credentials rejected', async () => {
      const project = (await api('GET', `/projects/${projectId}`)).body;
      return project.apns_credentials.status === 'rejected' && project.fcm_credentials.status === 'rejected' ? project : undefined;
    });
    expect(rejected.apns_credentials).toMatchObject({ status: 'rejected', rejected_reason: 'apns_InvalidProviderToken', rejected_at: expect.any(String) });
    expect(rejected.fcm_credentials.rejected_reason).toMatch(/^fcm_(app_invalid-credential|unauthenticated)$/);

    // Held: nobody is counted failed, the notification is not over, and the providers hear little
    // more (the chunks running when the breaker tripped, then nothing while the chunks wait).
    await new Promise((r) => setTimeout(r, 1_500)); // several rechecks of the held chunks
    const held = (await api('GET', `/notifications/${id}`)).body;
    expect(held).toMatchObject({ status: 'sending', successfully_sent_count: 0, failed_count: 0 });
    const apnsRefused = p.apns.counters().requests - apnsBefore;
    expect(apnsRefused).toBeLessThan(DEVICES);
    expect((await api('GET', `/notifications/${id}/failures`)).body.data).toEqual([]);
    const quiet = { apns: p.apns.counters().requests, fcm: p.fcm.counters().requests };
    await new Promise((r) => setTimeout(r, 1_000));
    expect({ apns: p.apns.counters().requests, fcm: p.fcm.counters().requests }).toEqual(quiet);
    expect(quiet.fcm - fcmBefore).toBeLessThan(DEVICES);

    // The project's systems heard it, once per credential.
    const events = await waitFor('two credentials.rejected events', () => {
      const e = receiver.verified(hook.body.secret).filter((x) => x.payload.type === 'credentials.rejected' && x.payload.data.project_id === projectId);
      return e.length >= 2 ? e : undefined;
    });
    expect(events.map((e) => e.payload.data.platform).sort()).toEqual(['apns', 'fcm']);
    expect(events.find((e) => e.payload.data.platform === 'apns')!.payload.data).toMatchObject({ reason: 'apns_InvalidProviderToken' });

    // New credentials: active again, and the held chunks send everyone, once.
    await giveProjectCredentials(p, projectId);
    const done = await waitForNotification(p.server, id);
    expect(done).toMatchObject({ status: 'sent', successfully_sent_count: 2 * DEVICES, failed_count: 0, expired_count: 0 });
    const project = (await api('GET', `/projects/${projectId}`)).body;
    expect([project.apns_credentials.status, project.fcm_credentials.status]).toEqual(['active', 'active']);
    expect(project.apns_credentials.rejected_reason).toBeNull();
    const accepted = p.apns.received().filter((r) => r.status === 200 && (r.payload as { aps: { alert: { body: string } } }).aps.alert.body === 'during');
    expect(new Set(accepted.map((r) => r.token)).size).toBe(DEVICES);
    expect(accepted).toHaveLength(DEVICES);
    await waitFor('no more events', () => (receiver.verified(hook.body.secret).filter((x) => x.payload.data.project_id === projectId).length === 2 ? true : undefined));
  });

  it('another project with good credentials is not held', async () => {
    const bad = await createProject(p.server, 'bad');
    const good = await createProject(p.server, 'good');
    await giveProjectCredentials(p, bad.projectId, { trustApns: false, trustFcm: false });
    await giveProjectCredentials(p, good.projectId);
    await insertDeviceSubscriptionsBulk(p.server.db, bad.projectId, 'apns', [{ token: apnsToken('bad-1') }]);
    await insertDeviceSubscriptionsBulk(p.server.db, good.projectId, 'apns', [{ token: apnsToken('good-1') }]);
    await insertDeviceSubscriptionsBulk(p.server.db, bad.projectId, 'fcm', [{ token: fcmToken('bad-1') }]);
    await insertDeviceSubscriptionsBulk(p.server.db, good.projectId, 'fcm', [{ token: fcmToken('good-1') }]);
    const rb = await api('POST', `/projects/${bad.projectId}/notifications`, { body: 'refused' });
    const rg = await api('POST', `/projects/${good.projectId}/notifications`, { body: 'accepted' });
    expect(await waitForNotification(p.server, rg.body.id)).toMatchObject({ successfully_sent_count: 2, failed_count: 0 });
    // One device each: a few retry rounds of one refusal make the run of refusals.
    const rejected = await waitFor('the bad project rejected', async () => {
      const project = (await api('GET', `/projects/${bad.projectId}`)).body;
      return project.apns_credentials.status === 'rejected' && project.fcm_credentials.status === 'rejected' ? project : undefined;
    });
    expect(rejected.apns_credentials.rejected_reason).toBe('apns_InvalidProviderToken');
    expect((await api('GET', `/notifications/${rb.body.id}`)).body).toMatchObject({ status: 'sending', failed_count: 0 });
    expect((await api('GET', `/projects/${good.projectId}`)).body.apns_credentials.status).toBe('active');
  });

  it('Web Push: push services refusing the VAPID subject 50 times in a row hold the project; a new website resumes it', async () => {
    const { projectId } = await createProject(p.server, 'vapid');
    const hook = await api('POST', `/projects/${projectId}/webhooks`, { url: receiver.url, events: ['credentials.rejected'] });
    // The VAPID subject is the project's website: the push service will not take this one.
    expect((await api('PATCH', `/projects/${projectId}`, { website: 'https://refused.example' })).status).toBe(200);
    p.push.refuseSubject('https://refused.example', 403);
    const SUBSCRIBERS = 1_000;
    const ids = await seedSubscribers(p.server.db, p.push, projectId, SUBSCRIBERS, { idPrefix: 'vapid-' });
    const before = p.push.counters().requests;
    const sent = await api('POST', `/projects/${projectId}/notifications`, { body: 'vapid', ttl: 3600 });
    const id: number = sent.body.id;

    const rejected = await waitFor('web push rejected', async () => {
      const project = (await api('GET', `/projects/${projectId}`)).body;
      return project.web_push.status === 'rejected' ? project : undefined;
    });
    expect(rejected.web_push).toMatchObject({ rejected_reason: 'vapid_rejected_403', rejected_at: expect.any(String) });
    expect(rejected.apns_credentials).toBeNull();

    // Held: those refused before the breaker tripped are failed (each could have been a
    // subscription under another key), the rest wait, and the push service hears nothing more.
    // Both workers may have had a slice in flight when it tripped: wait until the push service
    // has heard nothing for a second and every refusal it gave is counted (on a loaded machine
    // that takes longer than any fixed pause).
    let lastRequests = -1;
    let quietSince = Date.now();
    const { refused, held } = await waitFor('the refusals in flight answered and counted', async () => {
      const requests = p.push.counters().requests;
      if (requests !== lastRequests) {
        lastRequests = requests;
        quietSince = Date.now();
        return undefined;
      }
      if (Date.now() - quietSince < 1_000) return undefined;
      const notification = (await api('GET', `/notifications/${id}`)).body;
      return notification.failed_count === requests - before ? { refused: requests - before, held: notification } : undefined;
    });
    expect(refused).toBeGreaterThanOrEqual(50);
    expect(refused).toBeLessThan(SUBSCRIBERS / 2);
    expect(held).toMatchObject({ status: 'sending', successfully_sent_count: 0, failed_count: refused });
    const failures: { reason: string }[] = [];
    for (let cursor: string | null = ''; cursor !== null; ) {
      const page: { data: { reason: string }[]; next_cursor: string | null } = (await api('GET', `/notifications/${id}/failures${cursor ? `?cursor=${cursor}` : ''}`)).body;
      failures.push(...page.data);
      cursor = page.next_cursor;
    }
    expect(failures).toHaveLength(refused);
    expect(new Set(failures.map((f) => f.reason))).toEqual(new Set(['vapid_rejected_403']));
    const quiet = p.push.counters().requests;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(p.push.counters().requests).toBe(quiet);

    const event = await waitFor('credentials.rejected for web', () =>
      receiver.verified(hook.body.secret).find((x) => x.payload.type === 'credentials.rejected' && x.payload.data.project_id === projectId),
    );
    expect(event.payload.data).toMatchObject({ platform: 'web', reason: 'vapid_rejected_403' });

    // A subject the push service takes: active again, and everyone not failed gets it, once.
    const patched = await api('PATCH', `/projects/${projectId}`, { website: 'https://accepted.example' });
    expect(patched.body.web_push).toEqual({ status: 'active', rejected_reason: null, rejected_at: null });
    const done = await waitForNotification(p.server, id);
    expect(done).toMatchObject({ successfully_sent_count: SUBSCRIBERS - refused, failed_count: refused, expired_count: 0 });
    const delivered = p.push.received().filter((m) => m.status === 201 && ids.includes(m.id));
    expect(new Set(delivered.map((m) => m.id)).size).toBe(SUBSCRIBERS - refused);
    expect(delivered).toHaveLength(SUBSCRIBERS - refused);
    expect(delivered.every((m) => m.vapid.sub === 'https://accepted.example')).toBe(true);
  });

  it('Web Push: a chunk run that read its project before a new website lifted the hold signs with the new one, and a refusal of the old one in flight does not hold it again', async () => {
    // The race a held chunk meets every recheck: it reads its project, then (some statements
    // later) prepares to send; the website may change in between. Played here step by step.
    const { projectId } = await createProject(p.server, 'moved');
    expect((await api('PATCH', `/projects/${projectId}`, { website: 'https://moved-from.example' })).status).toBe(200);
    p.push.refuseSubject('https://moved-from.example', 403);
    const created = await api('POST', `/projects/${projectId}/notifications`, { body: 'moved', uids: ['nobody-yet'], ttl: 3600 });
    await seedSubscribers(p.server.db, p.push, projectId, 1, { idPrefix: 'moved-' });
    const db = p.server.db;
    const store = chunkStore(db);
    const readBefore = (await findProject(db, projectId))!;
    const sender = (await findSender(db, readBefore.senderId))!;
    const refusedFingerprint = vapidFingerprint(sender.vapidPublicKey, vapidSubject(readBefore.website));
    expect(await store.rejectCredentials(projectId, 'web', refusedFingerprint, 'vapid_rejected_403')).toBe(true);
    expect((await api('GET', `/projects/${projectId}`)).body.web_push.status).toBe('rejected');

    expect((await api('PATCH', `/projects/${projectId}`, { website: 'https://moved-to.example' })).body.web_push.status).toBe('active');
    // A slice signed with the old website, answered after the change: the project stays active.
    expect(await store.rejectCredentials(projectId, 'web', refusedFingerprint, 'vapid_rejected_403')).toBe(false);
    expect((await api('GET', `/projects/${projectId}`)).body.web_push).toEqual({ status: 'active', rejected_reason: null, rejected_at: null });

    // A run holding the project as read before the change signs with the website saved since.
    const channel = webChannel({
      db,
      webPush: new WebPushClient({ allowedHosts: ['127.0.0.1'], ca: p.push.caPem }),
      secretKeys: secretKeyring(Buffer.from(p.secretKey, 'base64')),
    });
    const prepared = await channel.prepare((await findNotification(db, created.body.id))!, readBefore, Date.now());
    if (!prepared.ok) throw new Error(`not prepared: ${prepared.error}`);
    const { rows } = await db.query(`SELECT id::int, endpoint, p256dh, auth FROM subscriptions WHERE project_id = $1`, [projectId]);
    const outcomes: string[] = [];
    await prepared.value(rows, (_, o) => outcomes.push(o.kind));
    expect(outcomes).toEqual(['delivered']);
    const received = p.push.received().filter((m) => m.id === 'moved-0');
    expect(received.map((m) => [m.status, m.vapid.sub])).toEqual([[201, 'https://moved-to.example']]);
  });

  it('Web Push: stale subscriptions refused among deliveries never hold the project', async () => {
    const { projectId } = await createProject(p.server, 'stale');
    const SUBSCRIBERS = 400;
    const ids = await seedSubscribers(p.server.db, p.push, projectId, SUBSCRIBERS, { idPrefix: 'stale-' });
    // 3 in 10 were made under another VAPID key: 120 refusals in all, more than the threshold,
    // but never 50 without a delivery in between.
    const stale = ids.filter((_, i) => i % 10 < 3);
    for (const s of stale) p.push.script(s, [{ status: 403 }], { sticky: true });
    const sent = await api('POST', `/projects/${projectId}/notifications`, { body: 'stale', ttl: 3600 });
    const done = await waitForNotification(p.server, sent.body.id);
    expect(done).toMatchObject({ successfully_sent_count: SUBSCRIBERS - stale.length, failed_count: stale.length });
    expect((await api('GET', `/projects/${projectId}`)).body.web_push.status).toBe('active');
  });
});
