import { randomUUID } from 'node:crypto';
import type { SendOutcome } from '@pushcast/domain';
import { generateServiceAccount, startLocalFcmService, type GeneratedServiceAccount, type LocalFcmService, type LocalFcmServiceOptions } from '@pushcast/local-fcm-service';
import { FcmClient, localFcmTransport, type FcmMessageTemplate, type FcmTarget } from '@pushcast/providers';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { afterEach, describe, expect, it } from 'vitest';
import { fcmToken } from './support/devices.ts';
import { testRsaKeyPair } from './support/rsa-keys.ts';

// FcmClient against the local FCM server (TLS, HTTP/2, Google's OAuth token endpoint): one
// long-lived session per credential, firebase-admin's message and error mapping, and what happens
// when FCM retires a session (GOAWAY), a connection breaks, or an answer never comes.

const TEMPLATE: FcmMessageTemplate = {
  notification: { title: 'Hello', body: 'One session for all' },
  data: { id: '42', target_url: 'https://example.com/a' },
  android: { priority: 'high', ttl: 3_600_000, collapseKey: 'news' },
};

interface Setup {
  server: LocalFcmService;
  account: GeneratedServiceAccount;
  client: FcmClient;
}
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { server?: LocalFcmServiceOptions; maxInFlight?: number; trust?: boolean; now?: () => number; timeoutMs?: number } = {}): Promise<Setup> {
  const server = await startLocalFcmService({ record: true, ...opts.server });
  cleanups.push(() => server.close());
  const account = generateServiceAccount(`fcm-client-${randomUUID().slice(0, 8)}`, { keyPair: testRsaKeyPair() });
  if (opts.trust !== false) server.trustServiceAccount({ clientEmail: account.clientEmail, projectId: account.projectId, publicKeyPem: account.publicKeyPem });
  const transport = localFcmTransport(server.origin, server.caPem);
  cleanups.push(() => transport.close());
  const client = new FcmClient({
    credentials: { projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKeyPem, privateKeyId: account.privateKeyId },
    maxInFlight: opts.maxInFlight ?? 100,
    httpAgent: transport.httpAgent,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.timeoutMs ? { requestTimeoutMs: opts.timeoutMs } : {}),
  });
  cleanups.push(() => client.close());
  return { server, account, client };
}

const targets = (label: string, n: number): FcmTarget[] => Array.from({ length: n }, (_, i) => ({ subscriptionId: i, token: fcmToken(`${label}-${i}`) }));
const kinds = (outcomes: readonly SendOutcome[]) => outcomes.reduce<Record<string, number>>((m, o) => ({ ...m, [o.kind]: (m[o.kind] ?? 0) + 1 }), {});
const delivered200 = (server: LocalFcmService) => server.received().filter((r) => r.status === 200).map((r) => r.token);

describe('FcmClient: one long-lived HTTP/2 session per credential', () => {
  it('sends 1,200 messages in three calls over one session, 100 streams at a time, with one access token; the wire message is firebase-admin’s', async () => {
    const { server, account, client } = await setup();
    const heard: number[] = [];
    const first = await client.send(targets('one-session', 500), TEMPLATE, (i) => heard.push(i));
    const rest = await Promise.all([client.send(targets('one-session-b', 400), TEMPLATE), client.send(targets('one-session-c', 300), TEMPLATE)]);
    expect(kinds([...first, ...rest.flat()])).toEqual({ delivered: 1200 });
    expect(heard.sort((a, b) => a - b)).toEqual(Array.from({ length: 500 }, (_, i) => i));
    const c = server.counters();
    expect(c.sessions).toBe(1);
    expect(client.sessionsOpened).toBe(1);
    expect(c.peakInFlight).toBe(100);
    expect(c.oauthTokensIssued).toBe(1);
    expect(new Set(delivered200(server)).size).toBe(1200);
    const ours = server.receivedFor(fcmToken('one-session-0'))[0]!;
    expect(ours).toMatchObject({ authority: 'fcm.googleapis.com', httpVersion: '2.0', clientEmail: account.clientEmail, project: account.projectId });

    // The same template through firebase-admin's own sendEach: the same message on the wire.
    const app = initializeApp(
      { credential: cert({ projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKeyPem }), projectId: account.projectId },
      `fcm-client-test-${randomUUID()}`,
    );
    try {
      const theirs = await getMessaging(app).sendEach([{ ...TEMPLATE, token: 'firebase-admin-token' }]);
      expect(theirs.successCount).toBe(1);
    } finally {
      await deleteApp(app);
    }
    const reference = server.receivedFor('firebase-admin-token')[0]!.message as Record<string, unknown>;
    expect(ours.message).toEqual({ ...reference, token: fcmToken('one-session-0') });
    expect(reference).toMatchObject({ android: { ttl: '3600s', collapse_key: 'news', priority: 'high' } });
  });

  it('keeps at most the server’s SETTINGS_MAX_CONCURRENT_STREAMS on the wire when it allows fewer than maxInFlight', async () => {
    const { server, client } = await setup({ server: { maxConcurrentStreams: 5 }, maxInFlight: 50 });
    expect(kinds(await client.send(targets('five', 300), TEMPLATE))).toEqual({ delivered: 300 });
    expect(server.counters()).toMatchObject({ sessions: 1, peakInFlight: 5 });
  });

  it('maps each answer: UNREGISTERED and an invalid token are gone, 429/503/500 retried after Retry-After, SENDER_ID_MISMATCH and a bad payload failed', async () => {
    const now = 1_700_000_000_000;
    const { server, client } = await setup({ now: () => now });
    const t = targets('answers', 8);
    server.script(t[0]!.token, [{ status: 404 }]);
    server.script(t[1]!.token, [{ status: 400, errorCode: 'INVALID_ARGUMENT' }]);
    server.script(t[2]!.token, [{ status: 429, retryAfterSeconds: 7 }]);
    server.script(t[3]!.token, [{ status: 503 }]);
    server.script(t[4]!.token, [{ status: 500 }]);
    server.script(t[5]!.token, [{ status: 403 }]);
    server.script(t[6]!.token, [{ status: 400, errorCode: 'INVALID_ARGUMENT', message: 'Invalid value at message.android.ttl' }]);
    expect(await client.send(t, TEMPLATE)).toEqual([
      { kind: 'gone', status: 404, reason: 'UNREGISTERED' },
      { kind: 'gone', status: 400, reason: 'INVALID_ARGUMENT' },
      { kind: 'retry', notBefore: now + 7000, reason: 'fcm_message-rate-exceeded' },
      { kind: 'retry', notBefore: now, reason: 'fcm_server-unavailable' },
      { kind: 'retry', notBefore: now, reason: 'fcm_internal-error' },
      { kind: 'failed', reason: 'fcm_mismatched-credential', status: 403 },
      { kind: 'failed', reason: 'fcm_invalid-argument', status: 400 },
      { kind: 'delivered' },
    ]);
  });

  it('a message firebase-admin refuses fails for every token and nothing is sent', async () => {
    const { server, client } = await setup();
    const bad = { data: { n: 1 as unknown as string } } satisfies FcmMessageTemplate;
    const outcomes = await client.send(targets('refused-message', 3), bad);
    expect(outcomes).toEqual(Array.from({ length: 3 }, () => ({ kind: 'failed', reason: 'fcm_invalid-payload' })));
    expect(server.counters().requests).toBe(0);
  });

  it('a service account Google’s token endpoint refuses refuses the credential, and nothing is sent', async () => {
    const { server, client } = await setup({ trust: false });
    expect(await client.send(targets('untrusted', 2), TEMPLATE)).toEqual(Array.from({ length: 2 }, () => ({ kind: 'refused', reason: 'fcm_app_invalid-credential' })));
    expect(server.counters()).toMatchObject({ requests: 0, oauthRefusals: 1 });
  });

  it('an access token FCM refuses (401: the account was deleted) refuses the credential', async () => {
    const { server, account, client } = await setup();
    expect(kinds(await client.send(targets('before-revoke', 2), TEMPLATE))).toEqual({ delivered: 2 });
    // The account is deleted: its access tokens stop working at once.
    server.untrustServiceAccount(account.clientEmail);
    expect(await client.send(targets('after-revoke', 2), TEMPLATE)).toEqual(Array.from({ length: 2 }, () => ({ kind: 'refused', reason: 'fcm_unauthenticated', status: 401 })));
  });
});

describe('FcmClient when the session goes away', () => {
  it('GOAWAY: what FCM took is answered once, what it refused unprocessed goes again on a new session', async () => {
    // Google retires the session after 150 streams: with 100 in flight, dozens are above its last stream id each time.
    const { server, client } = await setup({ server: { maxRequestsPerSession: 150 } });
    const outcomes = await client.send(targets('goaway', 600), TEMPLATE);
    expect(kinds(outcomes)).toEqual({ delivered: 600 });
    const all = delivered200(server);
    expect(all.length).toBe(600);
    expect(new Set(all).size).toBe(600);
    // Each session takes at least its 150 (streams nghttp2 had already read when it sent GOAWAY too).
    const c = server.counters();
    expect(c.requests).toBe(600);
    expect(c.sessions).toBeGreaterThanOrEqual(2);
    expect(c.sessions).toBeLessThanOrEqual(4);
    expect(c.goaways).toBeGreaterThanOrEqual(c.sessions - 1);
    expect(client.sessionsOpened).toBe(c.sessions);
  });

  it('a broken connection: the messages in flight are retried, the next send opens a new session', async () => {
    const { server, client } = await setup();
    const t = targets('dropped', 20);
    for (const x of t) server.script(x.token, [{ status: 200, delayMs: 2000 }]);
    const pending = client.send(t, TEMPLATE);
    await waitFor(() => server.counters().requests === 20);
    // The HTTP/2 session, and the keep-alive connection of the OAuth request.
    expect(server.dropConnections()).toBe(2);
    expect(kinds(await pending)).toEqual({ retry: 20 });
    expect(kinds(await client.send(t, TEMPLATE))).toEqual({ delivered: 20 });
    expect(server.counters().sessions).toBe(2);
  });

  it('an answer that never comes is cancelled after the timeout and retried; the session carries on', async () => {
    const { server, client } = await setup({ timeoutMs: 300 });
    const t = targets('slow', 3);
    server.script(t[1]!.token, [{ status: 200, delayMs: 5000 }]);
    const outcomes = await client.send(t, TEMPLATE);
    expect(outcomes.map((o) => o.kind)).toEqual(['delivered', 'retry', 'delivered']);
    expect(outcomes[1]).toMatchObject({ reason: 'fcm_app_network-timeout' });
    expect(kinds(await client.send(targets('after-slow', 3), TEMPLATE))).toEqual({ delivered: 3 });
    expect(server.counters().sessions).toBe(1);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
