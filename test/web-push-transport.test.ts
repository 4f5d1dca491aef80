import { generateKeyPairSync } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalPushService, type LocalPushService } from '@pushcast/local-push-service';
import { WebPushClient, type WebPushClientOptions, type WebPushTarget } from '@pushcast/providers';

// WebPushClient's own HTTP/2 transport (node:http2 sessions per push service origin) against the
// local push service: what a real push service does to long-lived connections.

const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
const sender = {
  privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
  publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  subject: 'https://pushcast.example',
};

const notification = {
  id: 1,
  title: 'Hello',
  body: 'transport',
  targetUrl: null,
  iconUrl: null,
  badgeUrl: null,
  imageUrl: null,
  requireInteraction: false,
  silent: false,
  customData: null,
  actions: [],
  ttl: 60,
  urgent: false,
  topic: null,
};

describe('WebPushClient over HTTP/2', () => {
  const open: { service: LocalPushService; client: WebPushClient }[] = [];
  afterEach(async () => {
    for (const { service, client } of open.splice(0)) {
      await client.close();
      await service.close();
    }
  });

  const start = async (serviceOptions: Parameters<typeof startLocalPushService>[0], clientOptions: Partial<WebPushClientOptions> = {}) => {
    const service = await startLocalPushService(serviceOptions);
    const client = new WebPushClient({ allowedHosts: ['127.0.0.1'], ca: service.caPem, ...clientOptions });
    open.push({ service, client });
    const targets = (prefix: string, n: number): WebPushTarget[] =>
      Array.from({ length: n }, (_, i) => {
        const s = service.subscription(`${prefix}${i}`);
        return { subscriptionId: i + 1, endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth };
      });
    return { service, client, targets };
  };

  it('delivers every message exactly once across sessions the push service retires with GOAWAY', async () => {
    const { service, client, targets } = await start({ maxRequestsPerSession: 30 }, { maxInFlightPerOrigin: 50 });
    const batch = targets('g', 200);
    const outcomes = await client.send(batch, notification, sender);

    expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
    // Streams above a GOAWAY's last stream id were never processed: sent again on a new session,
    // and none that was processed is sent twice.
    expect(service.received()).toHaveLength(200);
    expect(batch.filter((_, i) => service.receivedFor(`g${i}`).length !== 1)).toEqual([]);
    expect(service.received().every((m) => m.plaintext !== undefined && JSON.parse(m.plaintext).body === 'transport')).toBe(true);
    const { goaways, sessions, http1 } = service.counters();
    expect(goaways).toBeGreaterThanOrEqual(6);
    expect(sessions).toBe(goaways + 1);
    expect(http1).toBe(0);

    // The client keeps working on a fresh session afterwards.
    expect(await client.send(targets('after', 3), notification, sender)).toEqual([{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }]);
  });

  it("opens another session only while the open ones carry the server's stream limit, up to connectionsPerOrigin", async () => {
    const { service, client, targets } = await start({ maxConcurrentStreams: 10 }, { maxInFlightPerOrigin: 30, connectionsPerOrigin: 3 });
    const batch = targets('s', 60);
    batch.forEach((_, i) => service.script(`s${i}`, [{ status: 201, delayMs: 100 }]));
    const outcomes = await client.send(batch, notification, sender);

    expect(outcomes.filter((o) => o.kind !== 'delivered')).toEqual([]);
    expect(service.received()).toHaveLength(60);
    // 30 requests start at once: the first session takes 10, so a second is opened at least; never a fourth.
    expect(service.counters().sessions).toBeGreaterThanOrEqual(2);
    expect(service.counters().sessions).toBeLessThanOrEqual(3);

    // One recipient at a time fits the session already open.
    service.reset();
    await client.send(targets('one', 5).slice(0, 1), notification, sender);
    expect(service.counters().sessions).toBe(0);
  });

  it('reaches a plain-http push service on a host the operator allowed, over HTTP/1.1', async () => {
    // A push service inside the operator's network (PUSHCAST_ALLOWED_PUSH_HOSTS permits http there).
    const seen: { url: string; headers: IncomingHttpHeaders; bytes: number }[] = [];
    const server = createServer((req, res) => {
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, bytes });
        res.writeHead(201).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const client = new WebPushClient({ allowedHosts: ['127.0.0.1'] });
    try {
      const ua = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'jwk' });
      const p256dh = Buffer.concat([Buffer.from([4]), Buffer.from(ua.x!, 'base64url'), Buffer.from(ua.y!, 'base64url')]).toString('base64url');
      const auth = Buffer.alloc(16, 7).toString('base64url');
      const batch = [1, 2, 3].map((i) => ({ subscriptionId: i, endpoint: `http://127.0.0.1:${port}/push/${i}`, p256dh, auth }));
      const outcomes = await client.send(batch, notification, sender);

      expect(outcomes).toEqual([{ kind: 'delivered' }, { kind: 'delivered' }, { kind: 'delivered' }]);
      expect(seen.map((r) => r.url).sort()).toEqual(['/push/1', '/push/2', '/push/3']);
      for (const r of seen) {
        expect(r.headers['content-encoding']).toBe('aes128gcm');
        expect(r.headers.authorization).toMatch(/^vapid t=.+, k=.+/);
        expect(r.bytes).toBeGreaterThan(86 + 16);
      }
    } finally {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
