/**
 * Client CPU per Web Push message: web-push's `sendNotification` as documented versus
 * WebPushClient, against a local TLS push service (HTTP/2 with HTTP/1.1 fallback) running in a
 * separate process, so that only the client's CPU is counted.
 *
 *   node --import tsx packages/providers/bench/webpush-client.bench.ts [messages=20000]
 *
 * Not a test: figures depend on the machine. Compare the ratios.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createECDH, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import webpush from 'web-push';
import { WebPushClient, webPushPayload, type WebPushNotification, type WebPushTarget } from '../src/index.ts';

const [role = 'main', ...args] = process.argv.slice(2);
const self = fileURLToPath(import.meta.url);
const CONCURRENCY = 200;
const WARMUP = 1_000;

if (role === 'sink') await sink(args[0]!);
else if (role === 'client') await client(args[0]!, args[1]!, Number(args[2]));
else await main(Number(role === 'main' ? 20_000 : role));

/** Starts the push service and the client in their own processes. */
async function main(messages: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-'));
  let server: ReturnType<typeof spawn> | undefined;
  try {
    execFileSync(
      'openssl',
      [
        'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1',
        '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    server = spawn(process.execPath, [...process.execArgv, self, 'sink', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    const [h2Origin, h1Origin] = (await firstLine(server.stdout!)).split(' ') as [string, string];
    const run = spawn(process.execPath, [...process.execArgv, self, 'client', h2Origin, h1Origin, String(messages)], {
      stdio: 'inherit',
      // The documented web-push path has no way to pass a CA but the process-wide one.
      env: { ...process.env, NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') },
    });
    const code = await new Promise<number | null>((resolve) => run.on('exit', resolve));
    process.exitCode = code ?? 1;
  } finally {
    server?.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function sink(dir: string): Promise<void> {
  const tls = { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  const answer = (req: IncomingMessage | http2.Http2ServerRequest, res: ServerResponse | http2.Http2ServerResponse) => {
    req.resume();
    req.on('end', () => res.writeHead(201).end());
  };
  const h2 = http2.createSecureServer({ allowHTTP1: true, ...tls, settings: { maxConcurrentStreams: 1000 } }, answer);
  const h1 = https.createServer(tls, answer);
  await Promise.all([h2, h1].map((s) => new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))));
  const origin = (s: { address(): unknown }) => `https://127.0.0.1:${(s.address() as AddressInfo).port}`;
  process.stdout.write(`${origin(h2)} ${origin(h1)}\n`);
}

async function client(h2Origin: string, h1Origin: string, messages: number): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sender = {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    subject: 'mailto:bench@pushcast.example',
  };
  // web-push wants the raw keys, base64url.
  const jwk = createPrivateKey(sender.privateKeyPem).export({ format: 'jwk' });
  const pub = createPublicKey(sender.publicKeyPem).export({ format: 'jwk' });
  const vapidDetails = {
    subject: sender.subject,
    privateKey: jwk.d!,
    publicKey: Buffer.concat([Buffer.from([4]), Buffer.from(pub.x!, 'base64url'), Buffer.from(pub.y!, 'base64url')]).toString('base64url'),
  };

  const base: WebPushNotification = {
    id: 1, title: 'Benchmark', body: '', targetUrl: 'https://example.com/a', iconUrl: 'https://example.com/i.png',
    badgeUrl: null, imageUrl: null, requireInteraction: false, silent: false, customData: null, actions: [], ttl: 3600, urgent: false,
  };
  const n = { ...base, body: 'x'.repeat(1024 - Buffer.byteLength(webPushPayload(base))) };
  const payload = webPushPayload(n);

  const keys = Array.from({ length: 64 }, () => {
    const ecdh = createECDH('prime256v1');
    return { p256dh: ecdh.generateKeys().toString('base64url'), auth: randomBytes(16).toString('base64url') };
  });
  const targets = (origin: string, count: number): WebPushTarget[] =>
    Array.from({ length: count }, (_, i) => ({ subscriptionId: i, endpoint: `${origin}/push/${i}`, ...keys[i % keys.length]! }));

  const viaWebPush = async (list: WebPushTarget[]): Promise<number> => {
    let next = 0;
    let delivered = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < list.length) {
          const t = list[next++]!;
          const res = await webpush.sendNotification({ endpoint: t.endpoint, keys: { p256dh: t.p256dh, auth: t.auth } }, payload, {
            vapidDetails,
            TTL: n.ttl,
            urgency: 'normal',
            contentEncoding: 'aes128gcm',
          });
          if (res.statusCode === 201) delivered++;
        }
      }),
    );
    return delivered;
  };

  const viaClient = (c: WebPushClient) => async (list: WebPushTarget[]): Promise<number> => {
    // Chunks as the pipeline sends them, a few at once; the client caps what is in flight.
    const chunks: WebPushTarget[][] = [];
    for (let i = 0; i < list.length; i += 1_000) chunks.push(list.slice(i, i + 1_000));
    let delivered = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let chunk = chunks.shift(); chunk; chunk = chunks.shift()) {
          for (const o of await c.send(chunk, n, sender)) if (o.kind === 'delivered') delivered++;
        }
      }),
    );
    return delivered;
  };

  console.log(`${messages} messages, ${Buffer.byteLength(payload)}-byte payload, ${CONCURRENCY} in flight, client CPU only`);
  const h2Client = new WebPushClient({ allowedHosts: ['127.0.0.1'], maxInFlightPerOrigin: CONCURRENCY });
  const h1Client = new WebPushClient({ allowedHosts: ['127.0.0.1'], maxInFlightPerOrigin: CONCURRENCY });
  const results = [
    await measure('(a) web-push sendNotification, vapidDetails per call', h2Origin, viaWebPush),
    await measure('(b) WebPushClient, HTTP/2', h2Origin, viaClient(h2Client)),
    await measure('(c) WebPushClient, HTTP/1.1 server, 16 connections', h1Origin, viaClient(h1Client)),
  ];
  await Promise.all([h2Client.close(), h1Client.close()]);
  console.table(results);

  async function measure(label: string, origin: string, send: (list: WebPushTarget[]) => Promise<number>) {
    await send(targets(origin, WARMUP));
    const list = targets(origin, messages);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const delivered = await send(list);
    const wallMs = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return {
      client: label,
      'CPU µs/msg': Math.round((used.user + used.system) / messages),
      'msgs/s': Math.round(messages / (wallMs / 1000)),
      delivered,
    };
  }
}

function firstLine(stream: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: stream });
    lines.once('line', (line) => {
      resolve(line);
      lines.close();
    });
    lines.once('close', () => reject(new Error('the push service exited before listening')));
  });
}
