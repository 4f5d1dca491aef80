import { spawn } from 'node:child_process';
import { createPrivateKey, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from 'undici';
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveSubscription, startLocalPushService, type LocalPushService } from './index.ts';

interface Delivery {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

interface PushRequest {
  endpoint: string;
  headers: Record<string, string>;
  body: Buffer | null;
}

const vapidKeys = webpush.generateVAPIDKeys();
const SUBJECT = 'mailto:t@example.com';

function pushRequest(
  service: LocalPushService,
  id: string,
  payload: string | Buffer | null,
  extra: { topic?: string } = {},
): PushRequest {
  const sub = service.subscription(id);
  const details = webpush.generateRequestDetails(
    { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
    payload ?? undefined,
    {
      vapidDetails: { subject: SUBJECT, publicKey: vapidKeys.publicKey, privateKey: vapidKeys.privateKey },
      TTL: 60,
      urgency: 'high',
      topic: extra.topic ?? 'abc',
      contentEncoding: 'aes128gcm',
    },
  );
  const headers: Record<string, string> = {};
  // web-push hands back numbers (TTL, Content-Length); HTTP clients want strings.
  for (const [name, value] of Object.entries(details.headers)) headers[name] = String(value);
  return { endpoint: details.endpoint, headers, body: details.body };
}

/** An ES256 VAPID header with the claims a test wants to get wrong. */
function vapidHeader(claims: { aud: string; exp: number; sub?: string }): string {
  const pub = Buffer.from(vapidKeys.publicKey, 'base64url');
  const key = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      d: vapidKeys.privateKey,
      x: pub.subarray(1, 33).toString('base64url'),
      y: pub.subarray(33, 65).toString('base64url'),
    },
    format: 'jwk',
  });
  const enc = (o: object): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signingInput = `${enc({ typ: 'JWT', alg: 'ES256' })}.${enc({ sub: SUBJECT, ...claims })}`;
  const signature = sign('sha256', Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `vapid t=${signingInput}.${signature.toString('base64url')}, k=${vapidKeys.publicKey}`;
}

async function viaH2(client: Client, req: PushRequest): Promise<Delivery> {
  const url = new URL(req.endpoint);
  const res = await client.request({
    method: 'POST',
    path: url.pathname,
    headers: req.headers,
    body: req.body ?? undefined,
    // undici serialises non-idempotent requests on an HTTP/2 session otherwise.
    idempotent: true,
  });
  return { status: res.statusCode, headers: res.headers, text: await res.body.text() };
}

function viaH1(service: LocalPushService, req: PushRequest, method = 'POST'): Promise<Delivery> {
  return new Promise((resolve, reject) => {
    const r = httpsRequest(req.endpoint, { method, headers: req.headers, ca: service.caPem, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    r.on('error', reject);
    r.end(req.body ?? undefined);
  });
}

describe('local push service', () => {
  let service: LocalPushService;
  let client: Client;

  beforeAll(async () => {
    service = await startLocalPushService();
    client = new Client(service.origin, { connect: { ca: service.caPem }, allowH2: true });
  });

  afterAll(async () => {
    await client.close();
    await service.close();
  });

  it('decrypts a web-push message delivered over HTTP/2 and records its headers', async () => {
    const payload = JSON.stringify({ title: 'Grüße', body: 'x'.repeat(900), emoji: '🚀' });
    const res = await viaH2(client, pushRequest(service, 'h2-ok', payload));
    expect(res.status).toBe(201);
    expect(res.headers['location']).toMatch(new RegExp(`^${service.origin}/message/\\w+$`));

    const [msg, ...rest] = service.receivedFor('h2-ok');
    expect(rest).toHaveLength(0);
    expect(msg).toMatchObject({
      endpoint: `${service.origin}/push/h2-ok`,
      id: 'h2-ok',
      status: 201,
      httpVersion: '2.0',
      ttl: 60,
      urgency: 'high',
      topic: 'abc',
      plaintext: payload,
    });
    expect(msg?.decryptError).toBeUndefined();
    expect(msg?.bodyBytes).toBeGreaterThan(Buffer.byteLength(payload));
    expect(msg?.vapid).toMatchObject({ valid: true, aud: service.origin, sub: SUBJECT, publicKey: vapidKeys.publicKey });
    const now = Date.now() / 1000;
    expect(msg?.vapid.exp).toBeGreaterThan(now);
    expect(msg?.vapid.exp).toBeLessThanOrEqual(now + 24 * 3600);
  });

  it('speaks HTTP/1.1 to a client that does not offer h2', async () => {
    const res = await viaH1(service, pushRequest(service, 'h1-ok', 'hello over 1.1'));
    expect(res.status).toBe(201);
    expect(res.headers['location']).toBeDefined();
    expect(service.receivedFor('h1-ok')).toMatchObject([{ httpVersion: '1.1', plaintext: 'hello over 1.1', status: 201 }]);
  });

  it('accepts a message without payload', async () => {
    const res = await viaH2(client, pushRequest(service, 'no-payload', null));
    expect(res.status).toBe(201);
    expect(service.receivedFor('no-payload')).toMatchObject([{ status: 201, bodyBytes: 0, plaintext: '' }]);
  });

  it('answers 401 to a JWT for another audience, an expired one, and one valid for more than 24 h', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases = [
      { id: 'vapid-aud', claims: { aud: 'https://fcm.googleapis.com', exp: now + 3600 }, error: /aud/ },
      { id: 'vapid-expired', claims: { aud: service.origin, exp: now - 10 }, error: /expired/ },
      { id: 'vapid-far', claims: { aud: service.origin, exp: now + 25 * 3600 }, error: /24 hours/ },
      { id: 'vapid-sub', claims: { aud: service.origin, exp: now + 3600, sub: 'not-a-uri' }, error: /sub/ },
    ];
    for (const c of cases) {
      const req = pushRequest(service, c.id, 'secret');
      req.headers['Authorization'] = vapidHeader(c.claims);
      const res = await viaH2(client, req);
      expect(res.status, c.id).toBe(401);
      const [msg] = service.receivedFor(c.id);
      expect(msg?.status).toBe(401);
      expect(msg?.vapid.valid).toBe(false);
      expect(msg?.vapid.error).toMatch(c.error);
    }

    const good = pushRequest(service, 'vapid-good', 'ok');
    good.headers['Authorization'] = vapidHeader({ aud: service.origin, exp: now + 3600 });
    expect((await viaH2(client, good)).status).toBe(201);
  });

  it('answers 401 to a bad signature, a missing header and a non-vapid scheme', async () => {
    const forged = pushRequest(service, 'vapid-forged', 'x');
    const otherKeys = webpush.generateVAPIDKeys();
    forged.headers['Authorization'] = forged.headers['Authorization']!.replace(vapidKeys.publicKey, otherKeys.publicKey);
    expect((await viaH2(client, forged)).status).toBe(401);
    expect(service.receivedFor('vapid-forged')[0]?.vapid.error).toMatch(/signature/);

    const missing = pushRequest(service, 'vapid-missing', 'x');
    delete missing.headers['Authorization'];
    expect((await viaH1(service, missing)).status).toBe(401);

    const scheme = pushRequest(service, 'vapid-scheme', 'x');
    scheme.headers['Authorization'] = 'key=AAAA';
    expect((await viaH2(client, scheme)).status).toBe(401);
  });

  it('answers 400 with decryptError to a tampered body', async () => {
    const req = pushRequest(service, 'tampered', 'do not touch');
    const body = Buffer.from(req.body!);
    body[body.length - 5]! ^= 0x01;
    const res = await viaH2(client, { ...req, body });
    expect(res.status).toBe(400);
    const [msg] = service.receivedFor('tampered');
    expect(msg?.status).toBe(400);
    expect(msg?.plaintext).toBeUndefined();
    expect(msg?.decryptError).toBeTruthy();
  });

  it('answers 400 to a body encrypted for another subscriber', async () => {
    const req = pushRequest(service, 'someone-else', 'not yours');
    const res = await viaH2(client, { ...req, endpoint: `${service.origin}/push/wrong-recipient` });
    expect(res.status).toBe(400);
    expect(service.receivedFor('wrong-recipient')[0]?.decryptError).toBeTruthy();
  });

  it('enforces the protocol headers and the 4096-byte limit', async () => {
    const big = await viaH2(client, pushRequest(service, 'too-big', 'y'.repeat(4050)));
    expect(big.status).toBe(413);
    expect(service.receivedFor('too-big')[0]).toMatchObject({ status: 413 });
    expect(service.receivedFor('too-big')[0]?.bodyBytes).toBeGreaterThan(4096);

    const noTtl = pushRequest(service, 'no-ttl', 'x');
    delete noTtl.headers['TTL'];
    expect((await viaH2(client, noTtl)).status).toBe(400);
    expect(service.receivedFor('no-ttl')[0]?.ttl).toBeNull();

    const noEncoding = pushRequest(service, 'no-encoding', 'x');
    delete noEncoding.headers['Content-Encoding'];
    expect((await viaH1(service, noEncoding)).status).toBe(400);

    const badUrgency = pushRequest(service, 'bad-urgency', 'x');
    badUrgency.headers['Urgency'] = 'urgent';
    expect((await viaH2(client, badUrgency)).status).toBe(400);

    const get = await viaH1(service, { ...pushRequest(service, 'get', null), body: null }, 'GET');
    expect(get.status).toBe(405);
    expect(get.headers['allow']).toBe('POST');

    const unknown = await viaH2(client, { ...pushRequest(service, 'x', 'x'), endpoint: `${service.origin}/elsewhere` });
    expect(unknown.status).toBe(404);
  });

  it('answers scripted statuses in order, then 201', async () => {
    service.script('gone', [{ status: 410 }]);
    service.script('busy', [{ status: 429, retryAfterSeconds: 7 }]);
    service.script('broken', [{ status: 500 }, { status: 503, retryAfterSeconds: 1 }]);
    service.script('dead', [{ status: 410 }], { sticky: true });

    const send = (id: string): Promise<Delivery> => viaH2(client, pushRequest(service, id, `to ${id}`));

    expect((await send('gone')).status).toBe(410);
    expect((await send('gone')).status).toBe(201);

    const busy = await send('busy');
    expect(busy.status).toBe(429);
    expect(busy.headers['retry-after']).toBe('7');
    expect(busy.headers['location']).toBeUndefined();
    const after = await send('busy');
    expect(after.status).toBe(201);
    expect(after.headers['retry-after']).toBeUndefined();

    expect((await send('broken')).status).toBe(500);
    const unavailable = await send('broken');
    expect(unavailable.status).toBe(503);
    expect(unavailable.headers['retry-after']).toBe('1');
    expect((await send('broken')).status).toBe(201);

    for (let i = 0; i < 3; i++) expect((await send('dead')).status).toBe(410);

    // A scripted answer is still a delivered, decryptable message from the sender's point of view.
    expect(service.receivedFor('busy').map((m) => [m.status, m.plaintext])).toEqual([
      [429, 'to busy'],
      [201, 'to busy'],
    ]);
  });

  it('does not spend a scripted answer on a request that fails validation', async () => {
    service.script('scripted-invalid', [{ status: 410 }]);
    const req = pushRequest(service, 'scripted-invalid', 'x');
    delete req.headers['TTL'];
    expect((await viaH2(client, req)).status).toBe(400);
    expect((await viaH2(client, pushRequest(service, 'scripted-invalid', 'x'))).status).toBe(410);
  });

  it('delays a scripted answer', async () => {
    service.script('slow', [{ status: 201, delayMs: 150 }]);
    const started = Date.now();
    expect((await viaH2(client, pushRequest(service, 'slow', 'zz'))).status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('handles many concurrent HTTP/2 streams', async () => {
    const requests = Array.from({ length: 300 }, (_, i) => pushRequest(service, `many-${i % 30}`, `m${i}`));
    const results = await Promise.all(requests.map((r) => viaH2(client, r)));
    expect(results.every((r) => r.status === 201)).toBe(true);
    const plaintexts = Array.from({ length: 30 }, (_, i) => service.receivedFor(`many-${i}`).map((m) => m.plaintext));
    expect(plaintexts.flat().sort()).toEqual(requests.map((_, i) => `m${i}`).sort());
  });

  it('keeps counters that add up, and forgets everything on reset()', async () => {
    service.reset();
    expect(service.received()).toHaveLength(0);
    service.script('after-reset', [{ status: 410 }]);
    service.reset();

    await viaH2(client, pushRequest(service, 'after-reset', 'a')); // 201: the script was forgotten
    await viaH1(service, pushRequest(service, 'c-2', 'b')); // 201
    const bad = pushRequest(service, 'c-3', 'c');
    bad.headers['Authorization'] = vapidHeader({ aud: 'https://example.com', exp: Math.floor(Date.now() / 1000) + 60 });
    await viaH2(client, bad); // 401
    const tampered = pushRequest(service, 'c-4', 'd');
    tampered.body![30]! ^= 0xff;
    await viaH1(service, tampered); // 400, decryption
    service.script('c-5', [{ status: 429 }]);
    await viaH2(client, pushRequest(service, 'c-5', 'e')); // 429

    const c = service.counters();
    // The HTTP/2 client's session opened before the counters were last reset.
    expect(c).toEqual({
      requests: 5,
      byStatus: { 201: 2, 401: 1, 400: 1, 429: 1 },
      vapidInvalid: 1,
      decryptFailed: 1,
      http1: 2,
      http2: 3,
      sessions: 0,
      goaways: 0,
    });
    expect(Object.values(c.byStatus).reduce((a, b) => a + b, 0)).toBe(c.requests);
    expect(c.http1 + c.http2).toBe(c.requests);
    expect(service.received()).toHaveLength(5);
    expect(service.received().map((m) => m.status)).toEqual([201, 201, 401, 400, 429]);

    const viaHttp = await new Client(service.origin, { connect: { ca: service.caPem } })
      .request({ method: 'GET', path: '/__counters' })
      .then((r) => r.body.json());
    expect(viaHttp).toEqual(c);
  });

  it('derives subscriptions from (seed, id) alone', async () => {
    const a = service.subscription('derive-me');
    expect(service.subscription('derive-me')).toEqual(a);
    expect(deriveSubscription(service.origin, 'derive-me')).toEqual(a);
    expect(deriveSubscription(service.origin, 'derive-me', 'another-seed').p256dh).not.toBe(a.p256dh);
    expect(service.subscription('derive-me-2').p256dh).not.toBe(a.p256dh);
    expect(Buffer.from(a.p256dh, 'base64url')).toHaveLength(65);
    expect(Buffer.from(a.auth, 'base64url')).toHaveLength(16);
    expect(() => service.subscription('no/slashes')).toThrow();
    expect(readFileSync(service.caFile, 'utf8')).toBe(service.caPem);
  });
});

describe('local push service without recording or decryption', () => {
  it('keeps counters only, and still checks VAPID', async () => {
    const service = await startLocalPushService({ record: false, decrypt: false, seed: 'bench' });
    const client = new Client(service.origin, { connect: { ca: service.caPem }, allowH2: true });
    try {
      const ok = await Promise.all(Array.from({ length: 50 }, (_, i) => viaH2(client, pushRequest(service, `s${i}`, 'p'))));
      expect(ok.every((r) => r.status === 201)).toBe(true);
      // Not decrypted, so a tampered body goes through.
      const tampered = pushRequest(service, 't', 'q');
      tampered.body![40]! ^= 0xff;
      expect((await viaH2(client, tampered)).status).toBe(201);
      const bad = pushRequest(service, 'u', 'r');
      bad.headers['Authorization'] = vapidHeader({ aud: service.origin, exp: 1 });
      expect((await viaH2(client, bad)).status).toBe(401);

      expect(service.received()).toHaveLength(0);
      expect(service.counters()).toEqual({
        requests: 52,
        byStatus: { 201: 51, 401: 1 },
        vapidInvalid: 1,
        decryptFailed: 0,
        http1: 0,
        http2: 52,
        sessions: 1,
        goaways: 0,
      });
    } finally {
      await client.close();
      await service.close();
    }
  });
});

describe('local push service far away (latencyMs)', () => {
  it('answers every push that late, a scripted delay on top, and a refusal too', async () => {
    const service = await startLocalPushService({ latencyMs: 120 });
    const client = new Client(service.origin, { connect: { ca: service.caPem }, allowH2: true });
    try {
      service.script('later', [{ status: 201, delayMs: 100 }]);
      const timed = async (req: PushRequest): Promise<{ status: number; ms: number }> => {
        const started = performance.now();
        const { status } = await viaH2(client, req);
        return { status, ms: performance.now() - started };
      };
      const [plain, later, refused] = await Promise.all([
        timed(pushRequest(service, 'far', 'p')),
        timed(pushRequest(service, 'later', 'p')),
        timed({ ...pushRequest(service, 'no-ttl', 'p'), headers: { ...pushRequest(service, 'no-ttl', 'p').headers, TTL: 'soon' } }),
      ]);
      expect(plain).toMatchObject({ status: 201 });
      expect(plain.ms).toBeGreaterThanOrEqual(110);
      expect(later).toMatchObject({ status: 201 });
      expect(later.ms).toBeGreaterThanOrEqual(210);
      expect(refused).toMatchObject({ status: 400 });
      expect(refused.ms).toBeGreaterThanOrEqual(110);
    } finally {
      await client.close();
      await service.close();
    }
  });
});

describe('CLI (src/main.ts)', () => {
  it('prints origin and caFile, serves counters, and exits on SIGTERM', async () => {
    const main = fileURLToPath(new URL('./main.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', main], {
      env: { ...process.env, PORT: '0', DECRYPT: '0', RECORD: '0', SEED: 'cli' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const first = await lines.next();
      const { origin, caFile } = JSON.parse(String(first.value)) as { origin: string; caFile: string };
      expect(origin).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);

      const sub = deriveSubscription(origin, 'cli-1', 'cli');
      const details = webpush.generateRequestDetails(
        { endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth } },
        'hi',
        { vapidDetails: { subject: SUBJECT, ...vapidKeys }, TTL: 5 },
      );
      const headers = Object.fromEntries(Object.entries(details.headers).map(([k, v]) => [k, String(v)]));
      const client = new Client(origin, { connect: { ca: readFileSync(caFile, 'utf8') }, allowH2: true });
      const res = await client.request({ method: 'POST', path: '/push/cli-1', headers, body: details.body });
      await res.body.dump();
      expect(res.statusCode).toBe(201);
      const counters = await (await client.request({ method: 'GET', path: '/__counters' })).body.json();
      expect(counters).toMatchObject({ requests: 1, byStatus: { 201: 1 }, http2: 1 });
      await client.close();

      child.kill('SIGUSR2');
      const second = await lines.next();
      expect(JSON.parse(String(second.value))).toMatchObject({ requests: 1 });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
