import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging, type BatchResponse, type Message, type Messaging } from 'firebase-admin/messaging';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  FCM_HOST,
  createFcmAgent,
  localFcmCredential,
  redirectFcmTo,
  startLocalFcmService,
  type LocalFcmService,
  type ScriptedFcmAnswer,
} from './index.ts';
import { fixHeaderBlock, needsSchemeFilter } from './scheme-fix.ts';

const PROJECT = 'demo-project';
const SEND_PATH = `/v1/projects/${PROJECT}/messages:send`;

interface AppSetup {
  accessToken?: string;
  projectId?: string;
  legacy?: boolean;
  agent?: ReturnType<typeof createFcmAgent>;
}

/** A firebase-admin app as Pushcast would build one, with a fake credential; deleted afterwards. */
async function withMessaging<T>(setup: AppSetup, use: (messaging: Messaging) => Promise<T>): Promise<T> {
  const app = initializeApp(
    {
      credential: localFcmCredential(setup.accessToken ?? 'local-fcm-token'),
      projectId: setup.projectId ?? PROJECT,
      ...(setup.agent === undefined ? {} : { httpAgent: setup.agent }),
    },
    `local-fcm-${randomUUID()}`,
  );
  try {
    const messaging = getMessaging(app);
    if (setup.legacy === true) messaging.enableLegacyHttpTransport();
    return await use(messaging);
  } finally {
    await deleteApp(app);
  }
}

function codes(batch: BatchResponse): Array<string | undefined> {
  return batch.responses.map((r) => (r.success ? undefined : r.error?.code));
}

interface RawAnswer {
  status: number;
  headers: http2.IncomingHttpHeaders;
  text: string;
  json: () => { error?: { code: number; status: string; message: string; details?: Array<Record<string, unknown>> } };
}

/** One request on its own HTTP/2 session, with full control over the pseudo-headers. */
async function rawH2(
  service: LocalFcmService,
  body: string | object,
  opts: { scheme?: string; authorization?: string | null; path?: string; extraHeaders?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const session = http2.connect(service.origin, { ca: service.caPem });
  session.on('error', () => {});
  try {
    return await new Promise<RawAnswer>((resolve, reject) => {
      const headers: http2.OutgoingHttpHeaders = {
        ':method': 'POST',
        ':scheme': opts.scheme ?? 'https',
        ':path': opts.path ?? SEND_PATH,
        'content-type': 'application/json',
        ...opts.extraHeaders,
      };
      if (opts.authorization !== null) headers['authorization'] = opts.authorization ?? 'Bearer raw-token';
      const req = session.request(headers);
      let status = 0;
      let responseHeaders: http2.IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        responseHeaders = h;
        status = Number(h[':status']);
      });
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status, headers: responseHeaders, text, json: () => JSON.parse(text) });
      });
      req.on('error', reject);
      req.end(typeof body === 'string' ? body : JSON.stringify(body));
    });
  } finally {
    session.close();
  }
}

/** HTTP/1.1, for the control endpoints. */
async function h1(origin: string, ca: string, method: string, path: string, body?: object): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, origin), { method, ca, headers: { 'content-type': 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

describe('local FCM service with the real firebase-admin', () => {
  let service: LocalFcmService;
  let undoRedirect: () => void;
  let agent: ReturnType<typeof createFcmAgent>;

  beforeAll(async () => {
    service = await startLocalFcmService();
    undoRedirect = redirectFcmTo(service.origin, service.caPem);
    agent = createFcmAgent(service.origin, service.caPem);
  });
  afterEach(() => service.reset());
  afterAll(async () => {
    undoRedirect();
    agent.destroy();
    await service.close();
  });

  it('delivers notification, data, android, apns, webpush and fcm_options as firebase-admin puts them on the wire', async () => {
    const message: Message = {
      token: 'tok-full',
      notification: { title: 'Order shipped', body: 'Arrives Tuesday', imageUrl: 'https://example.com/box.png' },
      data: { orderId: '42', kind: 'shipped', empty: '' },
      android: {
        priority: 'high',
        ttl: 3_600_000,
        collapseKey: 'orders',
        restrictedPackageName: 'com.example.shop',
        notification: { channelId: 'orders', clickAction: 'OPEN_ORDER', color: '#ff8800', tag: 'order-42', sound: 'default' },
      },
      apns: {
        headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-collapse-id': 'orders' },
        payload: { aps: { badge: 3, sound: 'default', contentAvailable: true, threadId: 'orders' }, orderId: '42' },
      },
      webpush: {
        headers: { Urgency: 'high', TTL: '60' },
        data: { via: 'web' },
        notification: { title: 'Order shipped', icon: '/icon.png' },
        fcmOptions: { link: 'https://example.com/orders/42' },
      },
      fcmOptions: { analyticsLabel: 'orders' },
    };

    const batch = await withMessaging({}, (m) => m.sendEach([message]));

    expect(batch.successCount).toBe(1);
    const [got] = service.receivedFor('tok-full');
    expect(got).toBeDefined();
    if (got === undefined) return;
    expect(batch.responses[0]?.messageId).toMatch(/^projects\/demo-project\/messages\/0:\d+%fcmlocal$/);
    expect(got.status).toBe(200);
    expect(got.project).toBe(PROJECT);
    expect(got.validateOnly).toBe(false);
    expect(got.authorization).toBe('Bearer local-fcm-token');
    expect(got.httpVersion).toBe('2.0');
    // The redirect swaps the socket, not the URL: the server sees what Google would.
    expect(got.authority).toBe(`${FCM_HOST}:443`);

    // firebase-admin renames most camelCase options to FCM's snake_case and converts a few values, but
    // leaves every `fcmOptions` camelCase (FCM's proto3 JSON parser takes both spellings).
    const wire = got.message as Record<string, unknown>;
    expect(Object.keys(wire).sort()).toStrictEqual(
      ['android', 'apns', 'data', 'fcmOptions', 'notification', 'token', 'webpush'].sort(),
    );
    expect(wire['token']).toBe('tok-full');
    expect(wire['notification']).toStrictEqual({
      title: 'Order shipped',
      body: 'Arrives Tuesday',
      image: 'https://example.com/box.png',
    });
    expect(wire['data']).toStrictEqual({ orderId: '42', kind: 'shipped', empty: '' });
    expect(wire['android']).toStrictEqual({
      priority: 'high',
      ttl: '3600s',
      collapse_key: 'orders',
      restricted_package_name: 'com.example.shop',
      notification: { channel_id: 'orders', click_action: 'OPEN_ORDER', color: '#ff8800', tag: 'order-42', sound: 'default' },
    });
    expect(wire['apns']).toStrictEqual({
      headers: { 'apns-priority': '10', 'apns-push-type': 'alert', 'apns-collapse-id': 'orders' },
      payload: { aps: { badge: 3, sound: 'default', 'content-available': 1, 'thread-id': 'orders' }, orderId: '42' },
    });
    expect(wire['webpush']).toStrictEqual({
      headers: { Urgency: 'high', TTL: '60' },
      data: { via: 'web' },
      notification: { title: 'Order shipped', icon: '/icon.png' },
      fcmOptions: { link: 'https://example.com/orders/42' },
    });
    expect(wire['fcmOptions']).toStrictEqual({ analyticsLabel: 'orders' });
  });

  it('sends dry runs as validate_only and answers with the fake message id', async () => {
    const batch = await withMessaging({}, (m) => m.sendEach([{ token: 'tok-dry', data: { a: 'b' } }], true));
    expect(batch.responses[0]?.messageId).toBe(`projects/${PROJECT}/messages/fake_message_id`);
    expect(service.receivedFor('tok-dry')[0]?.validateOnly).toBe(true);
  });

  it('maps scripted per-token errors to firebase-admin error codes, retrying only the 503', async () => {
    const scripts: Record<string, ScriptedFcmAnswer[]> = {
      'tok-unregistered': [{ status: 404, errorCode: 'UNREGISTERED' }],
      'tok-invalid': [{ status: 400, errorCode: 'INVALID_ARGUMENT' }],
      'tok-quota': [{ status: 429, errorCode: 'QUOTA_EXCEEDED', retryAfterSeconds: 1 }],
      // Sticky: firebase-admin makes 1 + 4 attempts; retry-after 1 keeps that at ~4 s instead of 0+1+2+4 s of backoff.
      'tok-unavailable': [{ status: 503, errorCode: 'UNAVAILABLE', retryAfterSeconds: 1 }],
      'tok-internal': [{ status: 500, errorCode: 'INTERNAL' }],
      'tok-sender': [{ status: 403, errorCode: 'SENDER_ID_MISMATCH' }],
      'tok-apns-auth': [{ status: 401, errorCode: 'THIRD_PARTY_AUTH_ERROR' }],
    };
    for (const [token, answers] of Object.entries(scripts)) service.script(token, answers, { sticky: true });
    const tokens = [...Object.keys(scripts), 'tok-fine'];

    const batch = await withMessaging({}, (m) => m.sendEach(tokens.map((token) => ({ token, data: { n: '1' } }))));

    expect(codes(batch)).toStrictEqual([
      'messaging/registration-token-not-registered',
      'messaging/invalid-argument',
      'messaging/message-rate-exceeded',
      'messaging/server-unavailable',
      'messaging/internal-error',
      'messaging/mismatched-credential',
      'messaging/third-party-auth-error',
      undefined,
    ]);
    expect(batch.successCount).toBe(1);
    expect(batch.failureCount).toBe(7);
    // Observed retry policy: only 503 (4 retries); 429 and 500 come back at once despite retry-after.
    expect(service.receivedFor('tok-unavailable')).toHaveLength(5);
    for (const token of ['tok-unregistered', 'tok-invalid', 'tok-quota', 'tok-internal', 'tok-sender', 'tok-apns-auth']) {
      expect(service.receivedFor(token), token).toHaveLength(1);
    }
    expect(service.counters().byErrorCode).toStrictEqual({
      UNREGISTERED: 1,
      INVALID_ARGUMENT: 1,
      QUOTA_EXCEEDED: 1,
      UNAVAILABLE: 5,
      INTERNAL: 1,
      SENDER_ID_MISMATCH: 1,
      THIRD_PARTY_AUTH_ERROR: 1,
    });
    // The retries reuse the call's session.
    expect(service.counters().sessions).toBe(1);
  });

  it('retries a 503 after its retry-after, on the same session, and the message then succeeds', async () => {
    service.script('tok-flaky', [{ status: 503, retryAfterSeconds: 1 }]);
    const batch = await withMessaging({}, (m) => m.sendEach([{ token: 'tok-flaky' }]));
    expect(batch.successCount).toBe(1);
    const attempts = service.receivedFor('tok-flaky');
    expect(attempts.map((a) => a.status)).toStrictEqual([503, 200]);
    expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    expect(service.counters().sessions).toBe(1);
  });

  it('refuses data with a non-string value: firebase-admin itself, and the server naming the field', async () => {
    const batch = await withMessaging({}, (m) =>
      m.sendEach([
        { token: 'tok-bad-data', data: { count: 3 as unknown as string } },
        { token: 'tok-good-data', data: { count: '3' } },
      ]),
    );
    expect(codes(batch)).toStrictEqual(['messaging/invalid-payload', undefined]);
    expect(batch.responses[0]?.error?.message).toBe('data must only contain string values');
    // Refused client-side: it never reached the wire.
    expect(service.receivedFor('tok-bad-data')).toHaveLength(0);

    // A sender that skips firebase-admin's check gets FCM's answer.
    const raw = await rawH2(service, { message: { token: 'tok-raw', data: { a: 'x', count: 3 } } });
    expect(raw.status).toBe(400);
    expect(raw.json().error?.status).toBe('INVALID_ARGUMENT');
    expect(raw.json().error?.message).toBe("Invalid value at 'message.data[1].value' (TYPE_STRING), 3");
    expect(raw.json().error?.details?.[0]).toStrictEqual({
      '@type': 'type.googleapis.com/google.rpc.BadRequest',
      fieldViolations: [{ field: 'message.data[1].value', description: "Invalid value at 'message.data[1].value' (TYPE_STRING), 3" }],
    });
    expect(service.receivedFor('tok-raw')[0]?.errorCode).toBe('INVALID_ARGUMENT');
  });

  it('sends 500 messages in one sendEach over a single HTTP/2 session, at most 100 streams at a time', async () => {
    const tokens = Array.from({ length: 500 }, (_, i) => `tok-bulk-${i}`);
    // A small delay per answer makes the client's concurrency visible in peakInFlight.
    for (const token of tokens) service.script(token, [{ status: 200, delayMs: 20 }]);

    const batch = await withMessaging({}, (m) =>
      m.sendEach(tokens.map((token, i) => ({ token, notification: { title: `n${i}` }, data: { i: String(i) } }))),
    );

    expect(batch.successCount).toBe(500);
    expect(batch.failureCount).toBe(0);
    const counters = service.counters();
    expect(counters.requests).toBe(500);
    expect(counters.byStatus).toStrictEqual({ 200: 500 });
    expect(counters.sessions).toBe(1);
    // Observed: firebase-admin fills the server's SETTINGS_MAX_CONCURRENT_STREAMS (100) and no more.
    expect(counters.peakInFlight).toBe(100);
    expect(new Set(service.received().map((r) => r.token)).size).toBe(500);
  });

  it('opens one new HTTP/2 session per sendEach call, and closes it', async () => {
    await withMessaging({}, async (m) => {
      for (let i = 0; i < 3; i++) await m.sendEach([{ token: `tok-seq-${i}a` }, { token: `tok-seq-${i}b` }]);
      await Promise.all([m.sendEach([{ token: 'tok-par-a' }]), m.sendEachForMulticast({ tokens: ['tok-par-b', 'tok-par-c'] })]);
    });
    // Observed: 3 sequential + 2 concurrent calls = 5 sessions; no reuse across calls, even on one app.
    expect(service.counters().sessions).toBe(5);
    expect(service.counters().http2).toBe(9);
  });

  it('uses HTTP/1.1 through AppOptions.httpAgent for send() and for the legacy sendEach transport', async () => {
    const single = await withMessaging({ agent }, (m) => m.send({ token: 'tok-single', data: { a: 'b' } }));
    expect(single).toMatch(/^projects\/demo-project\/messages\//);
    const legacy = await withMessaging({ agent, legacy: true }, (m) =>
      m.sendEach([{ token: 'tok-legacy-1' }, { token: 'tok-legacy-2' }, { token: 'tok-legacy-3' }]),
    );
    expect(legacy.successCount).toBe(3);
    expect(service.received().map((r) => [r.token, r.httpVersion, r.authority])).toStrictEqual([
      ['tok-single', '1.1', FCM_HOST],
      ['tok-legacy-1', '1.1', FCM_HOST],
      ['tok-legacy-2', '1.1', FCM_HOST],
      ['tok-legacy-3', '1.1', FCM_HOST],
    ]);
    expect(service.counters().sessions).toBe(0);
    expect(service.counters().http1).toBe(4);
  });

  it('never resolves fcm.googleapis.com: both redirects dial 127.0.0.1 directly', async () => {
    const looked: string[] = [];
    const resolver = dns as unknown as { lookup: typeof dns.lookup };
    const realLookup = resolver.lookup;
    resolver.lookup = ((hostname: string, ...rest: unknown[]) => {
      looked.push(hostname);
      return Reflect.apply(realLookup, dns, [hostname, ...rest]);
    }) as typeof dns.lookup;
    try {
      await withMessaging({ agent }, async (m) => {
        await m.sendEach([{ token: 'tok-dns-h2' }]);
        await m.send({ token: 'tok-dns-h1' });
      });
    } finally {
      resolver.lookup = realLookup;
    }
    expect(service.receivedFor('tok-dns-h2')).toHaveLength(1);
    expect(service.receivedFor('tok-dns-h1')).toHaveLength(1);
    expect(looked).toStrictEqual([]);
  });

  it('keeps the HTTP/1.1 agent from reaching any other Google host', async () => {
    const failure = await new Promise<Error>((resolve) => {
      const req = httpsRequest('https://iid.googleapis.com/iid/v1:batchAdd', { method: 'POST', agent }, () => resolve(new Error('answered')));
      req.on('error', resolve);
      req.end();
    });
    expect(failure.message).toBe('createFcmAgent only serves fcm.googleapis.com and oauth2.googleapis.com, not iid.googleapis.com');
  });

  it('answers unknown paths with a non-JSON 404 and survives a malformed project escape', async () => {
    const unknown = await rawH2(service, { message: { token: 't' } }, { path: '/v1/projects/p/messages:batchSend' });
    expect([unknown.status, unknown.text]).toStrictEqual([404, 'Not Found']);
    const odd = await rawH2(service, { message: { token: 'tok-odd' } }, { path: '/v1/projects/%E0%A4%A/messages:send' });
    expect(odd.status).toBe(200);
    expect(service.receivedFor('tok-odd')[0]?.project).toBe('%E0%A4%A');
  });

  describe('the `:scheme: "https:"` firebase-admin sends', () => {
    it('is what firebase-admin really sends, and the server rewrites it', async () => {
      await withMessaging({}, (m) => m.sendEach([{ token: 'tok-scheme' }]));
      // One literal per session; later requests refer to it through the HPACK dynamic table.
      expect(service.counters().schemeFixes).toBe(1);
    });

    it('is accepted from any HTTP/2 client, also when the header block spans CONTINUATION frames', async () => {
      const plain = await rawH2(service, { message: { token: 'tok-colon' } }, { scheme: 'https:' });
      expect(plain.status).toBe(200);
      // Over 16 KiB of headers: HEADERS + CONTINUATION, reassembled before the rewrite.
      const big = await rawH2(service, { message: { token: 'tok-colon-big' } }, {
        scheme: 'https:',
        extraHeaders: { 'x-padding': 'p'.repeat(40_000) },
      });
      expect(big.status).toBe(200);
      expect(service.counters().schemeFixes).toBe(2);
    });

    it('is refused by a plain Node HTTP/2 server, so firebase-admin fails without the rewrite', async () => {
      const strict = await startLocalFcmService({ acceptSchemeWithColon: false });
      const undo = redirectFcmTo(strict.origin, strict.caPem);
      try {
        await expect(rawH2(strict, { message: { token: 'tok-strict' } }, { scheme: 'https:' })).rejects.toMatchObject({
          code: 'ERR_HTTP2_STREAM_ERROR',
          message: expect.stringContaining('NGHTTP2_PROTOCOL_ERROR'),
        });
        const ok = await rawH2(strict, { message: { token: 'tok-strict' } });
        expect(ok.status).toBe(200);

        const batch = await withMessaging({}, (m) => m.sendEach([{ token: 'tok-strict-a' }, { token: 'tok-strict-b' }]));
        expect(batch.failureCount).toBe(2);
        expect(strict.receivedFor('tok-strict-a')).toHaveLength(0);
      } finally {
        undo();
        await strict.close();
      }
      // Undoing the inner redirect gives the outer one back.
      const batch = await withMessaging({}, (m) => m.sendEach([{ token: 'tok-after-undo' }]));
      expect(batch.successCount).toBe(1);
    });

    it('is filtered only on connections whose first request needs it', async () => {
      const plain = await rawH2(service, { message: { token: 'tok-plain' } });
      expect(plain.status).toBe(200);
      expect(service.counters()).toMatchObject({ sessions: 1, filteredSessions: 0, schemeFixes: 0 });
      const admin = await withMessaging({}, (m) => m.sendEach([{ token: 'tok-admin-1' }, { token: 'tok-admin-2' }]));
      expect(admin.successCount).toBe(2);
      expect(service.counters()).toMatchObject({ sessions: 2, filteredSessions: 1, schemeFixes: 1 });
    });

    it('does not wait for a request from a client that waits for the server first', async () => {
      const session = http2.connect(service.origin, { ca: service.caPem });
      session.on('error', () => {});
      try {
        // Held for a request that never comes, the server's SETTINGS would never arrive.
        await new Promise((resolve) => session.once('remoteSettings', resolve));
        const status = await new Promise<number>((resolve, reject) => {
          const req = session.request({ ':method': 'POST', ':path': SEND_PATH, authorization: 'Bearer raw-token', 'content-type': 'application/json' });
          req.on('response', (h) => resolve(Number(h[':status'])));
          req.on('error', reject);
          req.resume();
          req.end(JSON.stringify({ message: { token: 'tok-waiting' } }));
        });
        expect(status).toBe(200);
        // Its first bytes held no request, so it is filtered as every connection used to be.
        expect(service.counters()).toMatchObject({ sessions: 1, filteredSessions: 1 });
      } finally {
        session.close();
      }
    });

    it('judges a connection by its first complete frames, waiting only for an incomplete one', () => {
      const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
      const frame = (type: number, flags: number, payload: Buffer): Buffer =>
        Buffer.concat([Buffer.from([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, type, flags, 0, 0, 0, type === 0x4 ? 0 : 1]), payload]);
      const settings = frame(0x4, 0, Buffer.alloc(6));
      // 0x83 :method POST, 0x87 :scheme https, 0x84 :path /; then the same with a raw `https:` literal.
      const valid = frame(0x1, 0x4, Buffer.from('838784', 'hex'));
      const broken = frame(0x1, 0x4, Buffer.from(`830706${Buffer.from('https:').toString('hex')}84`, 'hex'));
      const continued = frame(0x1, 0x0, Buffer.from('8387', 'hex'));

      expect(needsSchemeFilter(preface.subarray(0, 10))).toBeUndefined();
      expect(needsSchemeFilter(Buffer.concat([preface, settings.subarray(0, 5)]))).toBeUndefined();
      expect(needsSchemeFilter(Buffer.concat([preface, settings, valid.subarray(0, 11)]))).toBeUndefined();
      expect(needsSchemeFilter(Buffer.concat([preface, settings, valid]))).toBe(false);
      expect(needsSchemeFilter(Buffer.concat([preface, valid, broken]))).toBe(false);
      expect(needsSchemeFilter(Buffer.concat([preface, settings, broken]))).toBe(true);
      expect(needsSchemeFilter(Buffer.concat([preface, settings, continued]))).toBe(true);
      // No request in what arrived: the filter, at once (the client may be waiting for the server).
      expect(needsSchemeFilter(preface)).toBe(true);
      expect(needsSchemeFilter(Buffer.concat([preface, settings]))).toBe(true);
      expect(needsSchemeFilter(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(true);
    });

    it('rewrites Huffman-coded and raw literals, and leaves other blocks alone', () => {
      // 0x46: literal with incremental indexing, name = static 6 (:scheme); 0x85: Huffman, 5 bytes of "https:".
      const https = Buffer.from('https').toString('hex');
      expect(fixHeaderBlock(Buffer.from('8346859d29ad173f', 'hex'))?.block.toString('hex')).toBe(`834605${https}`);
      // 0x07: literal without indexing, name = static 7; 0x06: raw, 6 bytes.
      const raw = `830706${Buffer.from('https:').toString('hex')}`;
      expect(fixHeaderBlock(Buffer.from(raw, 'hex'))?.block.toString('hex')).toBe(`830705${https}`);
      // Indexed `:scheme: https` (0x87) and a fully indexed dynamic entry (0xbe): nothing to do.
      expect(fixHeaderBlock(Buffer.from('8387be', 'hex'))).toBeUndefined();
    });
  });

  it('accepts only trusted (project, access token) pairs once any is set', async () => {
    const guarded = await startLocalFcmService();
    const undo = redirectFcmTo(guarded.origin, guarded.caPem);
    try {
      guarded.trustProject(PROJECT, 'good-token');
      guarded.trustProject('other-project', 'other-token');
      const ok = await withMessaging({ accessToken: 'good-token' }, (m) => m.sendEach([{ token: 'tok-a' }]));
      const unknown = await withMessaging({ accessToken: 'forged' }, (m) => m.sendEach([{ token: 'tok-b' }]));
      const foreign = await withMessaging({ accessToken: 'other-token' }, (m) => m.sendEach([{ token: 'tok-c' }]));
      expect(ok.successCount).toBe(1);
      // firebase-admin maps a 401 UNAUTHENTICATED (no FcmError detail) to third-party-auth-error.
      expect(codes(unknown)).toStrictEqual(['messaging/third-party-auth-error']);
      expect(codes(foreign)).toStrictEqual(['messaging/mismatched-credential']);
      expect(guarded.received().map((r) => [r.token, r.status, r.errorCode])).toStrictEqual([
        ['tok-a', 200, undefined],
        ['tok-b', 401, 'UNAUTHENTICATED'],
        ['tok-c', 403, 'PERMISSION_DENIED'],
      ]);
    } finally {
      undo();
      await guarded.close();
    }
  });

  describe('validates requests like FCM v1', () => {
    const cases: Array<{ name: string; body: string | object; status: number; message?: string | RegExp; fcmError?: string; authorization?: null }> = [
      { name: 'missing bearer', body: { message: { token: 't' } }, status: 401, authorization: null, message: /missing required authentication/ },
      { name: 'unparsable JSON', body: '{"message": {', status: 400, message: 'Invalid JSON payload received. Unexpected token.' },
      {
        name: 'unknown top-level message field',
        body: { message: { token: 't', priority: 'high' } },
        status: 400,
        message: `Invalid JSON payload received. Unknown name "priority" at 'message': Cannot find field.`,
      },
      {
        name: 'unknown body field',
        body: { message: { token: 't' }, dry_run: true },
        status: 400,
        message: `Invalid JSON payload received. Unknown name "dry_run": Cannot find field.`,
      },
      { name: 'no target', body: { message: { data: { a: 'b' } } }, status: 400, message: 'Recipient of the message is not set.', fcmError: 'INVALID_ARGUMENT' },
      {
        name: 'two targets',
        body: { message: { token: 't', topic: 'news' } },
        status: 400,
        message: "Invalid value at 'message' (oneof), oneof field 'target' is already set. Cannot set 'topic'",
      },
      {
        name: 'empty token',
        body: { message: { token: '' } },
        status: 400,
        message: 'The registration token is not a valid FCM registration token',
        fcmError: 'INVALID_ARGUMENT',
      },
      {
        name: 'bad android priority',
        body: { message: { token: 't', android: { priority: 'urgent' } } },
        status: 400,
        message: `Invalid value at 'message.android.priority' (type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority), "urgent"`,
      },
      {
        name: 'numeric android ttl',
        body: { message: { token: 't', android: { ttl: 3600 } } },
        status: 400,
        message: `Invalid value at 'message.android.ttl' (type.googleapis.com/google.protobuf.Duration), 3600`,
      },
      {
        name: 'non-string apns header',
        body: { message: { token: 't', apns: { headers: { 'apns-priority': 10 } } } },
        status: 400,
        message: `Invalid value at 'message.apns.headers[0].value' (TYPE_STRING), 10`,
      },
      {
        name: 'unknown notification field',
        body: { message: { token: 't', notification: { subtitle: 'x' } } },
        status: 400,
        message: `Invalid JSON payload received. Unknown name "subtitle" at 'message.notification': Cannot find field.`,
      },
      {
        name: 'reserved data key',
        body: { message: { token: 't', data: { from: 'me' } } },
        status: 400,
        message: 'Invalid data payload key: from',
        fcmError: 'INVALID_ARGUMENT',
      },
      {
        name: 'camelCase names, upper-case enum, validateOnly',
        body: { message: { token: 't', android: { collapseKey: 'c', priority: 'HIGH', ttl: '1.5s', directBootOk: true } }, validateOnly: true },
        status: 200,
      },
      { name: 'topic target', body: { message: { topic: 'news', notification: { title: 'x' } } }, status: 200 },
      { name: 'condition target', body: { message: { condition: "'a' in topics", data: { a: 'b' } } }, status: 200 },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const answer = await rawH2(service, c.body, c.authorization === null ? { authorization: null } : {});
        expect(answer.status, answer.text).toBe(c.status);
        expect(answer.headers['content-type']).toBe('application/json; charset=UTF-8');
        if (c.status === 200) {
          expect(JSON.parse(answer.text)).toMatchObject({ name: expect.stringMatching(/^projects\/demo-project\/messages\//) });
          return;
        }
        const error = answer.json().error;
        expect(error?.code).toBe(c.status);
        expect(error?.status).toBe(c.status === 401 ? 'UNAUTHENTICATED' : 'INVALID_ARGUMENT');
        if (typeof c.message === 'string') expect(error?.message).toBe(c.message);
        else if (c.message !== undefined) expect(error?.message).toMatch(c.message);
        const fcmDetail = error?.details?.find((d) => d['@type'] === 'type.googleapis.com/google.firebase.fcm.v1.FcmError');
        expect(fcmDetail?.['errorCode']).toBe(c.fcmError);
      });
    }
  });
});

describe('local FCM service without recording', () => {
  it('keeps counters only, and tells onAnswer of every answer', async () => {
    const answers: [string, number][] = [];
    const service = await startLocalFcmService({ record: false, onAnswer: (token, status) => answers.push([token, status]) });
    try {
      service.script('tok-gone', [{ status: 404 }]);
      const sent = await Promise.all(['tok-ok', 'tok-gone'].map((token) => rawH2(service, { message: { token, data: { a: '1' } } })));
      expect(sent.map((r) => r.status)).toEqual([200, 404]);
      expect(answers.sort()).toEqual([
        ['tok-gone', 404],
        ['tok-ok', 200],
      ]);
      expect(service.received()).toEqual([]);
      expect(service.counters().byStatus).toEqual({ 200: 1, 404: 1 });
    } finally {
      await service.close();
    }
  });
});

describe('main.ts', () => {
  it('prints its origin, serves the control endpoints, and talks to firebase-admin', async () => {
    const mainPath = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
      env: { ...process.env, PORT: '0', RECORD: '0' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve) => lines.once('line', resolve));
      const info = JSON.parse(first) as { origin: string; caFile: string; port: number };
      expect(Object.keys(info).sort()).toStrictEqual(['caFile', 'origin', 'port']);
      expect(info.origin).toBe(`https://127.0.0.1:${info.port}`);
      const ca = readFileSync(info.caFile, 'utf8');

      expect((await h1(info.origin, ca, 'POST', '/__script/tok-gone', { answers: [{ status: 404 }], sticky: true })).status).toBe(204);
      const undo = redirectFcmTo(info.origin, ca);
      try {
        const batch = await withMessaging({}, (m) =>
          m.sendEach([{ token: 'tok-gone' }, { token: 'tok-here' }, { token: 'tok-gone' }]),
        );
        expect(codes(batch)).toStrictEqual([
          'messaging/registration-token-not-registered',
          undefined,
          'messaging/registration-token-not-registered',
        ]);
      } finally {
        undo();
      }
      const counters = JSON.parse((await h1(info.origin, ca, 'GET', '/__counters')).text) as Record<string, unknown>;
      expect(counters).toMatchObject({ requests: 3, byStatus: { 200: 1, 404: 2 }, byErrorCode: { UNREGISTERED: 2 }, sessions: 1 });
      expect((await h1(info.origin, ca, 'POST', '/__reset')).status).toBe(204);
      const after = JSON.parse((await h1(info.origin, ca, 'GET', '/__counters')).text) as Record<string, unknown>;
      expect(after).toMatchObject({ requests: 0, sessions: 0 });
    } finally {
      child.kill('SIGTERM');
    }
  });
});
