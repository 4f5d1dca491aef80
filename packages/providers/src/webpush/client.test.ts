import { execFileSync } from 'node:child_process';
import { createECDH, createPublicKey, generateKeyPairSync, randomBytes, verify, type ECDH } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2, { type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebPushClient, type WebPushClientOptions, type WebPushTarget } from './client.ts';
import { MAX_WEB_PUSH_PLAINTEXT, webPushPayload, type WebPushNotification } from './payload.ts';

// web-push's own dependency; no types of its own.
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
};

// ---------------------------------------------------------------------------------------------
// A push service that answers by path: /<behaviour>/<anything>.

interface Received {
  readonly path: string;
  readonly httpVersion: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

interface TestPushService {
  readonly origin: string;
  readonly received: Received[];
  /** Requests whose response has not finished, now and at most so far. */
  readonly stats: { open: number; maxOpen: number; connections: number };
  resetStats(): void;
  close(): Promise<void>;
}

type Req = IncomingMessage | Http2ServerRequest;
type Res = ServerResponse | Http2ServerResponse;

const STATUS_BY_PATH: Record<string, number> = {
  ok: 201,
  accepted: 202,
  gone: 410,
  notfound: 404,
  'slow-down': 429,
  error: 500,
  unavailable: 503,
  bad: 400,
  big: 413,
  unauthorized: 401,
  forbidden: 403,
  teapot: 418,
};

async function startPushService(
  protocol: 'h2' | 'h1',
  tls: { key: Buffer; cert: Buffer },
  settings: http2.Settings = {},
): Promise<TestPushService> {
  const received: Received[] = [];
  const stats = { open: 0, maxOpen: 0, connections: 0 };
  const sockets = new Set<TLSSocket>();

  const handle = (req: Req, res: Res): void => {
    stats.open += 1;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    res.on('close', () => {
      stats.open -= 1;
    });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = req.url ?? '/';
      received.push({ path, httpVersion: req.httpVersion, headers: req.headers, body: Buffer.concat(chunks) });
      const behaviour = path.split('/')[1] ?? '';
      const status = STATUS_BY_PATH[behaviour];
      if (status === 429) {
        res.writeHead(429, { 'retry-after': '7' }).end('slow down');
      } else if (status === 503) {
        res.writeHead(503, { 'retry-after': 'Wed, 01 Jan 2025 00:01:00 GMT' }).end();
      } else if (status !== undefined) {
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
      } else if (behaviour === 'slow') {
        setTimeout(() => res.writeHead(201).end(), 25);
      } else if (behaviour === 'hang') {
        // Never answers: the client's timeout (or abort) must end it.
      } else if (behaviour === 'reset-stream') {
        if ('stream' in req) req.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
        else req.socket.destroy();
      } else if (behaviour === 'reset-socket') {
        if ('stream' in req) req.stream.session?.destroy();
        else req.socket.destroy();
      } else {
        res.writeHead(500).end(`unknown behaviour ${behaviour}`);
      }
    });
  };

  const server =
    protocol === 'h2'
      ? http2.createSecureServer({ allowHTTP1: true, key: tls.key, cert: tls.cert, settings }, handle)
      : https.createServer({ key: tls.key, cert: tls.cert }, handle);
  server.on('secureConnection', (socket: TLSSocket) => {
    stats.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    origin: `https://127.0.0.1:${port}`,
    received,
    stats,
    resetStats() {
      received.length = 0;
      Object.assign(stats, { open: 0, maxOpen: 0, connections: 0 });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Subscribers and senders.

interface Subscriber {
  readonly ecdh: ECDH;
  readonly target: WebPushTarget;
}

let nextSubscriptionId = 1;

function subscriber(endpoint: string): Subscriber {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return {
    ecdh,
    target: {
      subscriptionId: nextSubscriptionId++,
      endpoint,
      p256dh: ecdh.getPublicKey().toString('base64url'),
      auth: randomBytes(16).toString('base64url'),
    },
  };
}

function newSender() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    subject: 'https://pushcast.example',
  };
}

const notification: WebPushNotification = {
  id: 7,
  title: 'Hello',
  body: 'A message for you',
  targetUrl: 'https://example.com/article',
  iconUrl: null,
  badgeUrl: null,
  imageUrl: null,
  requireInteraction: false,
  silent: false,
  customData: null,
  actions: [{ title: 'Open', targetUrl: 'https://example.com/open' }],
  ttl: 3600,
  urgent: true,
  topic: 'breaking_news',
};

const NOW = Date.UTC(2025, 0, 1);

// ---------------------------------------------------------------------------------------------

describe('WebPushClient', () => {
  let dir: string;
  let tls: { key: Buffer; cert: Buffer };
  let h2: TestPushService;
  let h1: TestPushService;
  const sender = newSender();
  const clients: WebPushClient[] = [];

  const client = (options: Partial<WebPushClientOptions> = {}): WebPushClient => {
    const c = new WebPushClient({ allowedHosts: ['127.0.0.1'], ca: tls.cert, now: () => NOW, ...options });
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pushcast-webpush-'));
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
        '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
    h2 = await startPushService('h2', tls);
    h1 = await startPushService('h1', tls);
  });

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all([h2?.close(), h1?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers over HTTP/2 a body the subscriber decrypts to the payload, with the RFC 8030 headers', async () => {
    h2.resetStats();
    const subs = [1, 2, 3].map((i) => subscriber(`${h2.origin}/ok/${i}`));
    const outcomes = await client().send(
      subs.map((s) => s.target),
      notification,
      sender,
    );

    expect(outcomes).toEqual([{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }]);
    expect(h2.received).toHaveLength(3);
    const bodies = new Set<string>();
    for (const s of subs) {
      const got = h2.received.find((r) => r.path === new URL(s.target.endpoint).pathname)!;
      expect(got.httpVersion).toBe('2.0');
      expect(got.headers).toMatchObject({
        ttl: '3600',
        urgency: 'high',
        topic: 'breaking_news',
        'content-encoding': 'aes128gcm',
        'content-type': 'application/octet-stream',
      });

      // aes128gcm header: salt, record size 4096, a 65-byte key id (the sender's ephemeral key).
      expect(got.body.readUInt32BE(16)).toBe(4096);
      expect(got.body[20]).toBe(65);
      const plaintext = ece.decrypt(got.body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.target.auth });
      expect(plaintext.toString()).toBe(webPushPayload(notification));
      bodies.add(got.body.subarray(21, 86).toString('hex'));

      const auth = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(String(got.headers.authorization));
      expect(auth).not.toBeNull();
      const [, h, c, sig] = auth as unknown as [string, string, string, string];
      const claims = JSON.parse(Buffer.from(c, 'base64url').toString()) as { aud: string; exp: number; sub: string };
      expect(claims).toEqual({ aud: h2.origin, exp: NOW / 1000 + 12 * 3600, sub: sender.subject });
      const valid = verify(
        'sha256',
        Buffer.from(`${h}.${c}`),
        { key: createPublicKey(sender.publicKeyPem), dsaEncoding: 'ieee-p1363' },
        Buffer.from(sig, 'base64url'),
      );
      expect(valid).toBe(true);
    }
    // A fresh ECDH key per recipient (RFC 8291), not one per batch.
    expect(bodies.size).toBe(3);
  });

  it('maps each answer of the push service to an outcome', async () => {
    const paths = ['ok', 'accepted', 'gone', 'notfound', 'slow-down', 'error', 'unavailable', 'bad', 'big', 'unauthorized', 'forbidden', 'teapot', 'hang', 'reset-stream'];
    // The timeout only has to outlast every other answer, on a busy machine too: 'hang' never answers.
    const outcomes = await client({ timeoutMs: 3_000 }).send(
      paths.map((p, i) => subscriber(`${h2.origin}/${p}/${i}`).target),
      notification,
      sender,
    );
    expect(Object.fromEntries(paths.map((p, i) => [p, outcomes[i]]))).toEqual({
      ok: { kind: 'delivered' },
      accepted: { kind: 'delivered' },
      gone: { kind: 'gone', status: 410 },
      notfound: { kind: 'gone', status: 404 },
      'slow-down': { kind: 'retry', notBefore: NOW + 7000, reason: 'http_429' },
      error: { kind: 'retry', notBefore: NOW, reason: 'http_500' },
      unavailable: { kind: 'retry', notBefore: NOW + 60_000, reason: 'http_503' },
      bad: { kind: 'failed', reason: 'http_400', status: 400 },
      big: { kind: 'failed', reason: 'payload_too_large', status: 413 },
      unauthorized: { kind: 'failed', reason: 'vapid_rejected_401', status: 401 },
      forbidden: { kind: 'failed', reason: 'vapid_rejected_403', status: 403 },
      teapot: { kind: 'failed', reason: 'http_418', status: 418 },
      hang: { kind: 'retry', notBefore: NOW, reason: 'timeout' },
      'reset-stream': { kind: 'retry', notBefore: NOW, reason: 'network_ERR_HTTP2_STREAM_ERROR' },
    });
  });

  it('turns a connection torn down mid-request into a retry', async () => {
    const [outcome] = await client().send([subscriber(`${h2.origin}/reset-socket/1`).target], notification, sender);
    expect(outcome).toEqual({ kind: 'retry', notBefore: NOW, reason: expect.stringMatching(/^network_/) });
  });

  it('turns a refused connection into a retry', async () => {
    const closed = await startPushService('h2', tls);
    const origin = closed.origin;
    await closed.close();
    const [outcome] = await client().send([subscriber(`${origin}/ok/1`).target], notification, sender);
    expect(outcome).toEqual({ kind: 'retry', notBefore: NOW, reason: 'network_ECONNREFUSED' });
  });

  it('falls back to HTTP/1.1 when the push service does not speak HTTP/2', async () => {
    h1.resetStats();
    const c = client({ connectionsPerOrigin: 3, maxInFlightPerOrigin: 10 });
    const subs = Array.from({ length: 12 }, (_, i) => subscriber(`${h1.origin}/slow/${i}`));
    const outcomes = await c.send(
      [...subs.map((s) => s.target), subscriber(`${h1.origin}/reset-socket/x`).target],
      notification,
      sender,
    );
    expect(outcomes.slice(0, 12)).toEqual(subs.map(() => ({ kind: 'delivered' })));
    expect(outcomes[12]).toEqual({ kind: 'retry', notBefore: NOW, reason: expect.stringMatching(/^network_/) });
    expect(new Set(h1.received.map((r) => r.httpVersion))).toEqual(new Set(['1.1']));
    // No pipelining over HTTP/1.1: at most one request per connection.
    expect(h1.stats.maxOpen).toBeLessThanOrEqual(3);
    const got = h1.received.find((r) => r.path === '/slow/0')!;
    const plaintext = ece.decrypt(got.body, { version: 'aes128gcm', privateKey: subs[0]!.ecdh, authSecret: subs[0]!.target.auth });
    expect(plaintext.toString()).toBe(webPushPayload(notification));
  });

  it('keeps at most maxInFlightPerOrigin requests open, over concurrent sends', async () => {
    h2.resetStats();
    const c = client({ maxInFlightPerOrigin: 5 });
    const batch = () => Array.from({ length: 20 }, (_, i) => subscriber(`${h2.origin}/slow/${i}`).target);
    const results = await Promise.all([c.send(batch(), notification, sender), c.send(batch(), notification, sender)]);
    expect(results.flat().every((o) => o.kind === 'delivered')).toBe(true);
    expect(h2.received).toHaveLength(40);
    expect(h2.stats.maxOpen).toBe(5);
  });

  it('multiplexes requests on one HTTP/2 connection', async () => {
    h2.resetStats();
    const c = client({ connectionsPerOrigin: 1, maxInFlightPerOrigin: 50 });
    // The first response widens the connection (the server's SETTINGS are known by then).
    await c.send([subscriber(`${h2.origin}/ok/warm`).target], notification, sender);
    const outcomes = await c.send(
      Array.from({ length: 50 }, (_, i) => subscriber(`${h2.origin}/slow/${i}`).target),
      notification,
      sender,
    );
    expect(outcomes.every((o) => o.kind === 'delivered')).toBe(true);
    expect(h2.stats.connections).toBe(1);
    expect(h2.stats.maxOpen).toBe(50);
    expect(new Set(h2.received.map((r) => r.httpVersion))).toEqual(new Set(['2.0']));
  });

  it('does not overrun a server that allows fewer streams than 100, from a cold start', async () => {
    const narrow = await startPushService('h2', tls, { maxConcurrentStreams: 10 });
    try {
      const c = client({ connectionsPerOrigin: 1, maxInFlightPerOrigin: 60 });
      const outcomes = await c.send(
        Array.from({ length: 60 }, (_, i) => subscriber(`${narrow.origin}/slow/${i}`).target),
        notification,
        sender,
      );
      expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
      expect(narrow.stats.maxOpen).toBe(10);
      expect(narrow.stats.connections).toBe(1);
    } finally {
      await narrow.close();
    }
  });

  it('never contacts a host that is not allowed', async () => {
    h2.resetStats();
    const outcomes = await client({ allowedHosts: [] }).send(
      [subscriber(`${h2.origin}/ok/1`).target, subscriber('http://169.254.169.254/latest/meta-data').target],
      notification,
      sender,
    );
    expect(outcomes).toEqual([
      { kind: 'failed', reason: 'endpoint_not_allowed' },
      { kind: 'failed', reason: 'endpoint_not_allowed' },
    ]);
    expect(h2.received).toHaveLength(0);
    expect(h2.stats.connections).toBe(0);
  });

  it('makes no request once the signal is aborted, and gives up on requests in flight when it aborts', async () => {
    h2.resetStats();
    const c = client();
    const before = await c.send([subscriber(`${h2.origin}/ok/1`).target], notification, sender, AbortSignal.abort());
    expect(before).toEqual([{ kind: 'retry', notBefore: NOW, reason: 'aborted' }]);
    expect(h2.received).toHaveLength(0);

    const controller = new AbortController();
    const pending = c.send([subscriber(`${h2.origin}/hang/1`).target], notification, sender, controller.signal);
    // Aborted once the first request is at the push service (not after a fixed delay: on a busy
    // machine it may not have left yet), while the second still waits for the only slot.
    const deadline = Date.now() + 10_000;
    while (!h2.received.some((r) => r.path === '/hang/1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(await pending).toEqual([{ kind: 'retry', notBefore: NOW, reason: 'aborted' }]);
  });

  it('aborts recipients still waiting for a slot without sending them', async () => {
    h2.resetStats();
    const controller = new AbortController();
    const c = client({ maxInFlightPerOrigin: 1 });
    const pending = c.send(
      [subscriber(`${h2.origin}/hang/1`).target, subscriber(`${h2.origin}/ok/2`).target],
      notification,
      sender,
      controller.signal,
    );
    // Aborted once the first request is at the push service (not after a fixed delay: on a busy
    // machine it may not have left yet), while the second still waits for the only slot.
    const deadline = Date.now() + 10_000;
    while (!h2.received.some((r) => r.path === '/hang/1') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(await pending).toEqual([
      { kind: 'retry', notBefore: NOW, reason: 'aborted' },
      { kind: 'retry', notBefore: NOW, reason: 'aborted' },
    ]);
    expect(h2.received.map((r) => r.path)).toEqual(['/hang/1']);
  });

  it('fails recipients whose keys cannot encrypt, without a request, and sends the others', async () => {
    h2.resetStats();
    const good = subscriber(`${h2.origin}/ok/good`).target;
    const base = subscriber(`${h2.origin}/ok/bad`).target;
    const notOnCurve = Buffer.alloc(65, 1);
    notOnCurve[0] = 4;
    const outcomes = await client().send(
      [
        { ...base, p256dh: 'not-a-key' },
        { ...base, auth: 'c2hvcnQ' },
        { ...base, p256dh: notOnCurve.toString('base64url') },
        good,
      ],
      notification,
      sender,
    );
    expect(outcomes).toEqual([
      { kind: 'failed', reason: 'bad_subscription_keys' },
      { kind: 'failed', reason: 'bad_subscription_keys' },
      { kind: 'failed', reason: 'bad_subscription_keys' },
      { kind: 'delivered' },
    ]);
    expect(h2.received.map((r) => r.path)).toEqual(['/ok/good']);
  });

  it('refuses a payload over one record and sends one exactly at the limit as a 4096-byte body', async () => {
    h2.resetStats();
    const plain = { ...notification, title: null, targetUrl: null, actions: [], topic: null, body: '' };
    const overhead = Buffer.byteLength(webPushPayload(plain));
    const atLimit = { ...plain, body: 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead) };
    const over = { ...plain, body: 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead + 1) };
    const c = client();
    const s = subscriber(`${h2.origin}/ok/limit`);

    expect(await c.send([s.target], over, sender)).toEqual([{ kind: 'failed', reason: 'payload_too_large' }]);
    expect(h2.received).toHaveLength(0);

    expect(await c.send([s.target], atLimit, sender)).toEqual([{ kind: 'delivered' }]);
    expect(h2.received[0]!.body).toHaveLength(4096);
    const plaintext = ece.decrypt(h2.received[0]!.body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.target.auth });
    expect(plaintext.toString()).toBe(webPushPayload(atLimit));
  });

  it('fails every recipient when the sender keys are unusable', async () => {
    h2.resetStats();
    const outcomes = await client().send(
      [subscriber(`${h2.origin}/ok/1`).target],
      notification,
      { ...sender, publicKeyPem: newSender().publicKeyPem },
    );
    expect(outcomes).toEqual([{ kind: 'failed', reason: 'vapid_keys_invalid' }]);
    expect(h2.received).toHaveLength(0);
  });

  it("sends each recipient's own open token as the payload's last field, and hands on each outcome as it arrives", async () => {
    h2.resetStats();
    const subs = [1, 2, 3].map((i) => subscriber(`${h2.origin}/ok/token-${i}`));
    const gone = subscriber(`${h2.origin}/gone/token-x`);
    const tokens = ['A'.repeat(32), 'b-c_'.repeat(8), 'Z'.repeat(32)];
    const seen: [number, string][] = [];
    const outcomes = await client().send(
      [...subs.map((s, i) => ({ ...s.target, openToken: tokens[i] })), { ...gone.target, openToken: 'q'.repeat(32) }],
      { ...notification, openToken: 'not-this-one' },
      sender,
      undefined,
      (i, o) => seen.push([i, o.kind]),
    );
    expect(outcomes).toEqual([{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }, { kind: 'gone', status: 410 }]);
    expect(seen.sort()).toEqual([[0, 'delivered'], [1, 'delivered'], [2, 'delivered'], [3, 'gone']]);
    subs.forEach((s, i) => {
      const got = h2.received.find((r) => r.path === `/ok/token-${i + 1}`)!;
      const plaintext = ece.decrypt(got.body, { version: 'aes128gcm', privateKey: s.ecdh, authSecret: s.target.auth }).toString();
      // Byte for byte what the notification with that token encodes to.
      expect(plaintext).toBe(webPushPayload({ ...notification, openToken: tokens[i] }));
      expect(JSON.parse(plaintext).open_token).toBe(tokens[i]);
    });
  });

  it("refuses only the recipients whose own open token makes the payload too large, and sends an exact payload without tokens", async () => {
    h2.resetStats();
    const plain = { ...notification, title: null, targetUrl: null, actions: [], topic: null, body: '' };
    const withToken = Buffer.byteLength(webPushPayload({ ...plain, openToken: 'x'.repeat(32) }));
    const n = { ...plain, body: 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - withToken) };
    const fits = subscriber(`${h2.origin}/ok/fits`);
    const over = subscriber(`${h2.origin}/ok/over`);
    const outcomes = await client().send([{ ...fits.target, openToken: 'x'.repeat(32) }, { ...over.target, openToken: 'x'.repeat(33) }], n, sender);
    expect(outcomes).toEqual([{ kind: 'delivered' }, { kind: 'failed', reason: 'payload_too_large' }]);
    expect(h2.received.map((r) => r.path)).toEqual(['/ok/fits']);
    expect(h2.received[0]!.body).toHaveLength(4096);

    h2.resetStats();
    const exact = subscriber(`${h2.origin}/ok/exact`);
    await client().send([{ ...exact.target, openToken: 'x'.repeat(32) }], { ...notification, exact: '{"beams":true}' }, sender);
    const got = h2.received[0]!;
    expect(ece.decrypt(got.body, { version: 'aes128gcm', privateKey: exact.ecdh, authSecret: exact.target.auth }).toString()).toBe('{"beams":true}');
  });

  it('rejects a send after close', async () => {
    const c = client();
    await c.close();
    await expect(c.send([subscriber(`${h2.origin}/ok/1`).target], notification, sender)).rejects.toThrow(/closed/);
  });
});
