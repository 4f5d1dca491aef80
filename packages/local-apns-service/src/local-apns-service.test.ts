import apn from '@parse/node-apn';
import { spawn } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  generateApnsKey,
  signApnsProviderToken,
  startLocalApnsService,
  type ApnsCredentialForTests,
  type LocalApnsService,
} from './index.ts';

const TOPIC = 'com.example.app';

function deviceToken(n: number): string {
  return n.toString(16).padStart(64, '0');
}

function providerFor(
  service: Pick<LocalApnsService, 'port' | 'caPem'>,
  cred: ApnsCredentialForTests,
  extra: Partial<apn.ProviderOptions> = {},
): apn.Provider {
  return new apn.Provider({
    token: { key: cred.keyPem, keyId: cred.keyId, teamId: cred.teamId },
    production: false,
    address: '127.0.0.1',
    port: service.port,
    ca: [service.caPem],
    ...extra,
  });
}

/** Provider.shutdown() is typed as a promise but returns undefined; only the callback says when it is done. */
function shutdown(provider: apn.Provider): Promise<void> {
  return new Promise((resolve) => {
    void provider.shutdown(resolve);
  });
}

async function withService(
  run: (service: LocalApnsService, cred: ApnsCredentialForTests) => Promise<void>,
  opts: Parameters<typeof startLocalApnsService>[0] = {},
): Promise<void> {
  const service = await startLocalApnsService(opts);
  const cred = generateApnsKey();
  service.trustKey(cred, [TOPIC]);
  try {
    await run(service, cred);
  } finally {
    await service.close();
  }
}

async function withProvider(
  service: LocalApnsService,
  cred: ApnsCredentialForTests,
  run: (provider: apn.Provider) => Promise<void>,
  extra: Partial<apn.ProviderOptions> = {},
): Promise<void> {
  const provider = providerFor(service, cred, extra);
  try {
    await run(provider);
  } finally {
    await shutdown(provider);
  }
}

interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function rawRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: string): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers);
    let status = 0;
    let answerHeaders: RawAnswer['headers'] = {};
    let text = '';
    stream.setEncoding('utf8');
    stream.on('response', (h) => {
      status = Number(h[':status']);
      answerHeaders = h;
    });
    stream.on('data', (chunk: string) => (text += chunk));
    stream.on('end', () => resolve({ status, headers: answerHeaders, body: text }));
    stream.on('error', reject);
    stream.end(body);
  });
}

async function withSession(service: LocalApnsService, run: (session: ClientHttp2Session) => Promise<void>) {
  const session = connect(service.origin, { ca: service.caPem });
  session.on('error', () => {});
  try {
    await run(session);
  } finally {
    session.close();
  }
}

function pushHeaders(cred: ApnsCredentialForTests, token: string, extra: OutgoingHttpHeaders = {}): OutgoingHttpHeaders {
  return {
    ':method': 'POST',
    ':path': `/3/device/${token}`,
    authorization: `bearer ${signApnsProviderToken(cred)}`,
    'apns-topic': TOPIC,
    'apns-push-type': 'alert',
    ...extra,
  };
}

const ALERT_BODY = JSON.stringify({ aps: { alert: 'hi' } });

describe('local APNs service, driven by the real @parse/node-apn', () => {
  it('receives an alert with its headers and payload', async () => {
    await withService(async (service, cred) => {
      await withProvider(service, cred, async (provider) => {
        const note = new apn.Notification({
          alert: { title: 'Hello', body: 'World' },
          badge: 3,
          payload: { orderId: 42 },
          topic: TOPIC,
          pushType: 'alert',
          priority: 10,
          expiry: 1_900_000_000,
          collapseId: 'order-42',
          id: '123e4567-e89b-12d3-a456-4266554400a0',
        });
        const token = deviceToken(1);
        const result = await provider.send(note, [token]);
        expect(result.failed).toEqual([]);
        // The answer's apns-id echoes the request's.
        expect(result.sent).toEqual([{ device: token, 'apns-id': '123e4567-e89b-12d3-a456-4266554400a0' }]);

        const [got] = service.receivedFor(token);
        expect(got).toMatchObject({
          token,
          status: 200,
          authority: '127.0.0.1',
          headers: {
            topic: TOPIC,
            pushType: 'alert',
            priority: '10',
            expiration: '1900000000',
            collapseId: 'order-42',
            apnsId: '123e4567-e89b-12d3-a456-4266554400a0',
          },
          jwt: { valid: true, keyId: cred.keyId, teamId: cred.teamId },
          payload: { orderId: 42, aps: { alert: { title: 'Hello', body: 'World' }, badge: 3 } },
        });
        expect(got?.reason).toBeUndefined();
        expect(Math.abs((got?.jwt.iat ?? 0) - Date.now() / 1000)).toBeLessThan(60);
      });
    });
  });

  it('accepts a background push at priority 5 and refuses one at priority 10', async () => {
    await withService(async (service, cred) => {
      await withProvider(service, cred, async (provider) => {
        const token = deviceToken(2);
        const quiet = new apn.Notification({ contentAvailable: true, topic: TOPIC, pushType: 'background', priority: 5 });
        expect((await provider.send(quiet, token)).sent).toHaveLength(1);
        expect(service.receivedFor(token)[0]).toMatchObject({
          status: 200,
          headers: { pushType: 'background', priority: '5' },
          payload: { aps: { 'content-available': 1 } },
        });

        // node-apn defaults to priority 10, which Apple refuses for a background push.
        const loud = new apn.Notification({ contentAvailable: true, topic: TOPIC, pushType: 'background' });
        const { failed } = await provider.send(loud, token);
        expect(failed).toMatchObject([{ device: token, status: 400, response: { reason: 'BadPriority' } }]);
      });
    });
  });

  it('reports scripted 410, 400 and 429 answers per token in `failed`', async () => {
    await withService(async (service, cred) => {
      const gone = deviceToken(10);
      const bad = deviceToken(11);
      const busy = deviceToken(12);
      const fine = deviceToken(13);
      service.script(gone, [{ status: 410, timestamp: 1_700_000_000_000 }]);
      service.script(bad, [{ status: 400, reason: 'BadDeviceToken' }]);
      service.script(busy, [{ status: 429, retryAfterSeconds: 2 }], { sticky: true });

      await withProvider(service, cred, async (provider) => {
        const note = new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' });
        const started = Date.now();
        const { sent, failed } = await provider.send(note, [gone, bad, busy, fine]);
        const elapsed = Date.now() - started;

        expect(sent.map((s) => s.device)).toEqual([fine]);
        const byDevice = new Map(failed.map((f) => [f.device, f]));
        expect(byDevice.get(gone)).toMatchObject({
          status: 410,
          response: { reason: 'Unregistered', timestamp: 1_700_000_000_000 },
        });
        expect(byDevice.get(bad)).toMatchObject({ status: 400, response: { reason: 'BadDeviceToken' } });
        expect(byDevice.get(busy)).toMatchObject({ status: 429, response: { reason: 'TooManyRequests' } });
        // Every failure carries the apns-id Apple puts on every answer.
        for (const f of failed) expect((f as unknown as Record<string, unknown>)['apns-id']).toMatch(/^[0-9A-F-]{36}$/);

        // node-apn retries a 429 connectionRetryLimit (3) times but reads `Retry-After` in the wrong
        // case, so the retry-after of 2 s is ignored: four attempts, all within well under 2 s.
        expect(service.receivedFor(busy)).toHaveLength(4);
        expect(elapsed).toBeLessThan(2000);

        // A script that is used up answers 200 again.
        const again = await provider.send(note, [gone, bad]);
        expect(again.failed).toEqual([]);
      });
    });
  });

  it('sends retry-after in lower case on the wire', async () => {
    await withService(async (service, cred) => {
      const token = deviceToken(14);
      service.script(token, [{ status: 503, retryAfterSeconds: 7 }]);
      await withSession(service, async (session) => {
        const answer = await rawRequest(session, pushHeaders(cred, token), ALERT_BODY);
        expect(answer.status).toBe(503);
        expect(answer.headers['retry-after']).toBe('7');
        expect(JSON.parse(answer.body)).toEqual({ reason: 'ServiceUnavailable' });
      });
    });
  });

  it('reports a scripted 500 without its reason, as node-apn replaces it', async () => {
    await withService(async (service, cred) => {
      const token = deviceToken(15);
      service.script(token, [{ status: 500 }], { sticky: true });
      await withProvider(service, cred, async (provider) => {
        const note = new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' });
        const { failed } = await provider.send(note, token);
        expect(failed).toHaveLength(1);
        expect(failed[0]?.status).toBe(500);
        expect(failed[0]?.response).toBeUndefined();
        expect(failed[0]?.error?.message).toBe('Error 500, stream ended unexpectedly');
        expect(service.receivedFor(token)).toHaveLength(4);
      });
    });
  });

  it('holds an answer for delayMs', async () => {
    await withService(async (service, cred) => {
      const token = deviceToken(16);
      service.script(token, [{ status: 200, delayMs: 300 }]);
      await withProvider(service, cred, async (provider) => {
        const started = Date.now();
        const { sent } = await provider.send(new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }), token);
        expect(sent).toHaveLength(1);
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      });
    });
  });

  it('refuses a provider token signed by a key it does not trust', async () => {
    await withService(async (service) => {
      const stranger = generateApnsKey();
      await withProvider(service, stranger, async (provider) => {
        const token = deviceToken(20);
        const { sent, failed } = await provider.send(
          new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }),
          token,
        );
        expect(sent).toEqual([]);
        expect(failed).toMatchObject([{ device: token, status: 403, response: { reason: 'InvalidProviderToken' } }]);
        expect(service.receivedFor(token)[0]?.jwt).toMatchObject({ valid: false, keyId: stranger.keyId });
      });
      expect(service.counters()).toMatchObject({ jwtInvalid: 1, tokensMinted: 0 });
    });
  });

  it('refuses the provider tokens of a key once it is revoked, those already minted too', async () => {
    await withService(async (service, cred) => {
      await withProvider(service, cred, async (provider) => {
        const note = () => new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' });
        expect((await provider.send(note(), deviceToken(22))).sent).toHaveLength(1);
        expect(service.revokeKey(cred.keyId)).toBe(true);
        const { failed } = await provider.send(note(), deviceToken(22));
        expect(failed).toMatchObject([{ status: 403, response: { reason: 'InvalidProviderToken' } }]);
        expect(service.revokeKey(cred.keyId)).toBe(false);
      });
    });
  });

  it('refuses a known key id whose signature is from another key', async () => {
    await withService(async (service, cred) => {
      const impostor = { ...generateApnsKey(), keyId: cred.keyId, teamId: cred.teamId };
      await withProvider(service, impostor, async (provider) => {
        const { failed } = await provider.send(
          new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }),
          deviceToken(21),
        );
        expect(failed).toMatchObject([{ status: 403, response: { reason: 'InvalidProviderToken' } }]);
        expect(service.received()[0]?.jwt.error).toMatch(/signature does not verify/);
      });
    });
  });

  it('refuses a topic the key may not push to', async () => {
    await withService(async (service, cred) => {
      await withProvider(service, cred, async (provider) => {
        const token = deviceToken(30);
        const { failed } = await provider.send(
          new apn.Notification({ alert: 'x', topic: 'com.other.app', pushType: 'alert' }),
          token,
        );
        expect(failed).toMatchObject([{ device: token, status: 400, response: { reason: 'TopicDisallowed' } }]);

        // The VoIP topic of a trusted bundle id is fine.
        const voip = new apn.Notification({ rawPayload: { aps: {}, call: 1 }, topic: `${TOPIC}.voip`, pushType: 'voip' });
        expect((await provider.send(voip, token)).sent).toHaveLength(1);
      });
    });
  });

  it('delivers 1,000 tokens in one send', async () => {
    await withService(
      async (service, cred) => {
        await withProvider(service, cred, async (provider) => {
          const tokens = Array.from({ length: 1000 }, (_, i) => deviceToken(100_000 + i));
          const { sent, failed } = await provider.send(
            new apn.Notification({ alert: 'bulk', topic: TOPIC, pushType: 'alert' }),
            tokens,
          );
          expect(failed).toEqual([]);
          expect(sent).toHaveLength(1000);
          expect(new Set(service.received().map((r) => r.token))).toEqual(new Set(tokens));
        });
        expect(service.counters().byStatus).toEqual({ 200: 1000 });
      },
      { record: true },
    );
  });

  it('counts one minted provider token for one provider over many sends, one per provider otherwise', async () => {
    await withService(async (service, cred) => {
      await withProvider(service, cred, async (provider) => {
        for (let i = 0; i < 5; i++) {
          const { sent } = await provider.send(new apn.Notification({ alert: `n${i}`, topic: TOPIC, pushType: 'alert' }), [
            deviceToken(200 + i),
            deviceToken(300 + i),
          ]);
          expect(sent).toHaveLength(2);
        }
      });
      expect(service.counters()).toMatchObject({ requests: 10, tokensMinted: 1, tokensMintedByKey: { [cred.keyId]: 1 } });

      // Each worker that builds its own provider mints its own token: what Apple's refresh limit punishes.
      const workers = [providerFor(service, cred), providerFor(service, cred)];
      try {
        for (const worker of workers) {
          await worker.send(new apn.Notification({ alert: 'w', topic: TOPIC, pushType: 'alert' }), deviceToken(400));
        }
      } finally {
        await Promise.all(workers.map(shutdown));
      }
      expect(service.counters().tokensMinted).toBe(3);
    });
  });

  it('lets node-apn mint a new token after ExpiredProviderToken and retry', async () => {
    await withService(async (service, cred) => {
      const token = deviceToken(500);
      service.script(token, [{ status: 403, reason: 'ExpiredProviderToken' }]);
      await withProvider(service, cred, async (provider) => {
        const { sent } = await provider.send(new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }), token);
        expect(sent).toHaveLength(1);
      });
      expect(service.receivedFor(token).map((r) => r.status)).toEqual([403, 200]);
      expect(service.counters().tokensMinted).toBe(2);
    });
  });

  it('counters add up', async () => {
    await withService(async (service, cred) => {
      service.script(deviceToken(600), [{ status: 410 }]);
      service.script(deviceToken(601), [{ status: 400 }]);
      await withProvider(service, cred, async (provider) => {
        await provider.send(
          new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }),
          [600, 601, 602, 603].map(deviceToken),
        );
        await provider.send(new apn.Notification({ alert: 'x', topic: 'com.nope', pushType: 'alert' }), deviceToken(604));
      });
      await withProvider(service, generateApnsKey(), async (provider) => {
        await provider.send(new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }), deviceToken(605));
      });

      const counters = service.counters();
      expect(counters).toEqual({
        requests: 6,
        byStatus: { 200: 2, 400: 2, 403: 1, 410: 1 },
        byReason: { Unregistered: 1, BadDeviceToken: 1, TopicDisallowed: 1, InvalidProviderToken: 1 },
        jwtInvalid: 1,
        goaways: 0,
        tokensMinted: 1,
        tokensMintedByKey: { [cred.keyId]: 1 },
      });
      const statuses = Object.values(counters.byStatus).reduce((a, b) => a + b, 0);
      const reasons = Object.values(counters.byReason).reduce((a, b) => a + b, 0);
      expect(statuses).toBe(counters.requests);
      expect(reasons).toBe(counters.requests - (counters.byStatus[200] ?? 0));
      expect(service.received()).toHaveLength(6);

      service.reset();
      expect(service.counters()).toEqual({
        requests: 0,
        byStatus: {},
        byReason: {},
        jwtInvalid: 0,
        goaways: 0,
        tokensMinted: 0,
        tokensMintedByKey: {},
      });
      expect(service.received()).toEqual([]);
    });
  });

  it('keeps counters only when record is off, and tells onAnswer of every answer', async () => {
    const answers: [string, number][] = [];
    await withService(
      async (service, cred) => {
        service.script(deviceToken(701), [{ status: 410 }]);
        await withProvider(service, cred, async (provider) => {
          await provider.send(new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }), [deviceToken(700), deviceToken(701)]);
        });
        expect(service.received()).toEqual([]);
        expect(service.counters().byStatus).toEqual({ 200: 1, 410: 1 });
      },
      { record: false, onAnswer: (token, status) => answers.push([token, status]) },
    );
    expect(answers.sort()).toEqual([
      [deviceToken(700), 200],
      [deviceToken(701), 410],
    ]);
  });

  it('works with rejectUnauthorized: false, and with Apple host names redirected by `host`', async () => {
    await withService(async (service, cred) => {
      const note = new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' });
      const insecure = new apn.Provider({
        token: { key: cred.keyPem, keyId: cred.keyId, teamId: cred.teamId },
        address: 'localhost',
        port: service.port,
        rejectUnauthorized: false,
      });
      try {
        expect((await insecure.send(note, deviceToken(800))).sent).toHaveLength(1);
      } finally {
        await shutdown(insecure);
      }

      // The options object reaches tls.connect, where `host` beats the host name taken from `address`:
      // SNI, certificate check and :authority stay Apple's, only the TCP connection goes to loopback.
      const redirected = providerFor(service, cred, {
        address: 'api.sandbox.push.apple.com',
        host: '127.0.0.1',
      } as Partial<apn.ProviderOptions>);
      try {
        expect((await redirected.send(note, deviceToken(801))).sent).toHaveLength(1);
      } finally {
        await shutdown(redirected);
      }
      expect(service.receivedFor(deviceToken(801))[0]?.authority).toBe('api.sandbox.push.apple.com');
    });
  });
});

describe('local APNs service, on the wire', () => {
  it('answers protocol errors with Apple reasons and an apns-id on every answer', async () => {
    await withService(async (service, cred) => {
      const token = deviceToken(1);
      const oldToken = signApnsProviderToken(cred, Math.floor(Date.now() / 1000) - 3601);
      const cases: Array<[string, OutgoingHttpHeaders, string | undefined, number, string]> = [
        ['no authorization', { authorization: undefined }, ALERT_BODY, 403, 'MissingProviderToken'],
        ['not a JWT', { authorization: 'bearer nope' }, ALERT_BODY, 403, 'InvalidProviderToken'],
        ['old iat', { authorization: `bearer ${oldToken}` }, ALERT_BODY, 403, 'ExpiredProviderToken'],
        ['wrong path', { ':path': '/3/devices/x' }, ALERT_BODY, 404, 'BadPath'],
        ['GET', { ':method': 'GET' }, undefined, 405, 'MethodNotAllowed'],
        ['no topic', { 'apns-topic': undefined }, ALERT_BODY, 400, 'MissingTopic'],
        ['foreign topic', { 'apns-topic': 'com.other' }, ALERT_BODY, 400, 'TopicDisallowed'],
        ['push type', { 'apns-push-type': 'shout' }, ALERT_BODY, 400, 'InvalidPushType'],
        ['priority', { 'apns-priority': '7' }, ALERT_BODY, 400, 'BadPriority'],
        ['expiration', { 'apns-expiration': 'tomorrow' }, ALERT_BODY, 400, 'BadExpirationDate'],
        ['apns-id', { 'apns-id': 'not-a-uuid' }, ALERT_BODY, 400, 'BadMessageId'],
        ['collapse id', { 'apns-collapse-id': 'c'.repeat(65) }, ALERT_BODY, 400, 'BadCollapseId'],
        ['short token', { ':path': '/3/device/abcdef' }, ALERT_BODY, 400, 'BadDeviceToken'],
        ['non-hex token', { ':path': `/3/device/${'z'.repeat(64)}` }, ALERT_BODY, 400, 'BadDeviceToken'],
        ['no token', { ':path': '/3/device/' }, ALERT_BODY, 400, 'MissingDeviceToken'],
        ['empty body', {}, undefined, 400, 'PayloadEmpty'],
        ['not JSON', {}, '{"aps":', 400, 'PayloadEmpty'],
        ['no aps', {}, '{"x":1}', 400, 'PayloadEmpty'],
        ['4097 bytes', {}, JSON.stringify({ aps: {}, pad: 'p'.repeat(4097 - 19) }), 413, 'PayloadTooLarge'],
      ];
      await withSession(service, async (session) => {
        for (const [name, headers, body, status, reason] of cases) {
          const all = pushHeaders(cred, token, headers);
          for (const [k, v] of Object.entries(all)) if (v === undefined) delete all[k];
          const answer = await rawRequest(session, all, body);
          expect({ name, status: answer.status, body: JSON.parse(answer.body) as unknown }).toEqual({
            name,
            status,
            body: { reason },
          });
          expect(answer.headers['apns-id']).toMatch(/^[0-9A-F-]{36}$/);
        }

        // The limit is 4096 bytes exactly, and 5120 for VoIP.
        const exact = JSON.stringify({ aps: {}, pad: 'p'.repeat(4096 - 19) });
        expect(Buffer.byteLength(exact)).toBe(4096);
        expect((await rawRequest(session, pushHeaders(cred, token), exact)).status).toBe(200);
        const voip = JSON.stringify({ aps: {}, pad: 'p'.repeat(5000) });
        const voipHeaders = pushHeaders(cred, token, { 'apns-push-type': 'voip', 'apns-topic': `${TOPIC}.voip` });
        expect((await rawRequest(session, voipHeaders, voip)).status).toBe(200);
        // Apple's default priority, 10, needs no header; an upper-case token is the same device.
        const mixed = 'aB'.repeat(32);
        expect((await rawRequest(session, pushHeaders(cred, mixed), ALERT_BODY)).status).toBe(200);
      });
      expect(service.receivedFor('AB'.repeat(32)).map((r) => [r.token, r.headers.priority])).toEqual([
        ['ab'.repeat(32), undefined],
      ]);
      expect(service.counters().requests).toBe(cases.length + 3);
      expect(service.counters().jwtInvalid).toBe(3);
    });
  });

  it('caches a verified token but still expires it by the clock', async () => {
    await withService(async (service, cred) => {
      await withSession(service, async (session) => {
        const jwt = signApnsProviderToken(cred);
        for (let i = 0; i < 3; i++) {
          const answer = await rawRequest(session, { ...pushHeaders(cred, deviceToken(i)), authorization: `bearer ${jwt}` }, ALERT_BODY);
          expect(answer.status).toBe(200);
        }
        expect(service.counters().tokensMinted).toBe(1);

        // Trusting the key under another team makes the cached verdict stale: it must be recomputed.
        service.trustKey({ keyId: cred.keyId, teamId: 'OTHERTEAM1', keyPem: cred.keyPem }, [TOPIC]);
        const answer = await rawRequest(session, { ...pushHeaders(cred, deviceToken(9)), authorization: `bearer ${jwt}` }, ALERT_BODY);
        expect(answer.status).toBe(403);
        expect(JSON.parse(answer.body)).toEqual({ reason: 'InvalidProviderToken' });
      });
    });
  });

  it('trusts a key given as its public key PEM', async () => {
    const service = await startLocalApnsService();
    try {
      const cred = generateApnsKey();
      const publicKeyPem = createPublicKey(cred.keyPem).export({ type: 'spki', format: 'pem' }).toString();
      service.trustKey({ keyId: cred.keyId, teamId: cred.teamId, publicKeyPem }, [TOPIC]);
      await withSession(service, async (session) => {
        expect((await rawRequest(session, pushHeaders(cred, deviceToken(1)), ALERT_BODY)).status).toBe(200);
      });
      expect(() => service.trustKey({ keyId: 'K', teamId: 'T' }, [TOPIC])).toThrow(/publicKeyPem/);
    } finally {
      await service.close();
    }
  });

  it('speaks HTTP/2 only', async () => {
    await withService(async (service) => {
      const outcome = await new Promise<string>((resolve) => {
        const req = httpsRequest(`${service.origin}/3/device/${deviceToken(1)}`, { method: 'POST', ca: service.caPem }, (res) => {
          res.resume();
          resolve(`answered ${res.statusCode}`);
        });
        req.on('error', (e) => resolve(`error ${e.message}`));
        req.end(ALERT_BODY);
      });
      // Node's HTTP/2 server answers a client that did not negotiate h2 with a canned HTTP/1.0 403.
      expect(outcome).toMatch(/^(error|answered 403)/);
      expect(service.counters().requests).toBe(0);
    });
  });

  it('advertises maxConcurrentStreams', async () => {
    await withService(
      async (service) => {
        const session = connect(service.origin, { ca: service.caPem });
        try {
          const settings = await new Promise<{ maxConcurrentStreams?: number }>((resolve) =>
            session.once('remoteSettings', resolve),
          );
          expect(settings.maxConcurrentStreams).toBe(7);
        } finally {
          session.close();
        }
      },
      { maxConcurrentStreams: 7 },
    );
  });

  it('is driven through its control paths', async () => {
    const service = await startLocalApnsService({ record: false });
    try {
      const cred = generateApnsKey();
      const publicKeyPem = createPublicKey(cred.keyPem).export({ type: 'spki', format: 'pem' }).toString();
      await withSession(service, async (session) => {
        const post = (path: string, value: unknown) =>
          rawRequest(session, { ':method': 'POST', ':path': path, 'content-type': 'application/json' }, JSON.stringify(value));
        expect((await post('/__trust', { keyId: cred.keyId, teamId: cred.teamId, publicKeyPem, topics: [TOPIC] })).status).toBe(204);
        expect((await post(`/__script/${deviceToken(5)}`, { answers: [{ status: 410 }], sticky: true })).status).toBe(204);
        expect((await post('/__trust', { keyId: cred.keyId })).status).toBe(400);

        for (const n of [4, 5, 5]) await rawRequest(session, pushHeaders(cred, deviceToken(n)), ALERT_BODY);
        const counters = await rawRequest(session, { ':method': 'GET', ':path': '/__counters' });
        expect(JSON.parse(counters.body)).toMatchObject({ requests: 3, byStatus: { 200: 1, 410: 2 }, tokensMinted: 3 });

        expect((await rawRequest(session, { ':method': 'POST', ':path': '/__reset' })).status).toBe(204);
        expect(service.counters().requests).toBe(0);
        // The script is gone, the key stays.
        expect((await rawRequest(session, pushHeaders(cred, deviceToken(5)), ALERT_BODY)).status).toBe(200);
      });
    } finally {
      await service.close();
    }
  });
});

describe('main.ts', () => {
  it('starts from the environment and prints one JSON line', async () => {
    const cred = generateApnsKey();
    const publicKeyPem = createPublicKey(cred.keyPem).export({ type: 'spki', format: 'pem' }).toString();
    const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./main.ts', import.meta.url))], {
      env: {
        ...process.env,
        PORT: '0',
        RECORD: '0',
        KEYS: JSON.stringify([{ keyId: cred.keyId, teamId: cred.teamId, publicKeyPem, topics: [TOPIC] }]),
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      const lines = createInterface({ input: child.stdout });
      const first = await new Promise<string>((resolve, reject) => {
        lines.once('line', resolve);
        child.once('exit', (code) => reject(new Error(`main.ts exited with ${code}`)));
      });
      const started = JSON.parse(first) as { origin: string; caFile: string; port: number };
      expect(started.origin).toBe(`https://127.0.0.1:${started.port}`);

      const provider = providerFor({ port: started.port, caPem: started.caFile }, cred);
      try {
        const { sent } = await provider.send(new apn.Notification({ alert: 'x', topic: TOPIC, pushType: 'alert' }), deviceToken(1));
        expect(sent).toHaveLength(1);
      } finally {
        await shutdown(provider);
      }
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
