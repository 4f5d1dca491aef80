/**
 * WebPushClient alone against the lean sender's sending loop, no queues or database: the provider's
 * own cost per message, for quick before/after comparisons of packages/providers/src/webpush. The
 * local push service runs in a process of its own; each sender runs in a fresh process of its own
 * (alternating, ROUNDS each), and its CPU is that process's `process.cpuUsage()` over the sends
 * (deriving the subscribers' keys left out).
 *   client: what apps/worker/src/channels/web.ts does: one `send` per slice of 100 recipients,
 *           each with its open token, outcomes as they arrive; 2 slices in flight (200 requests).
 *   lean:   bench/lean-web-push.ts's loop: web-push `encrypt`, one VAPID header, one node:http2
 *           session, 200 streams in flight.
 *
 *   node --import tsx bench/web-push-client.bench.ts [messages, default 20000] [rounds, default 2]
 */
import { createHmac, generateKeyPairSync, randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import { deriveSubscription } from '@pushcast/local-push-service';
import { WebPushClient, type WebPushTarget } from '@pushcast/providers';
import { openToken } from '@pushcast/domain';
import webpush from 'web-push';
import { gitLine, loadLine, log, machineLine } from './common.ts';
import { run } from './proc.ts';

const CHILD = process.argv[2] === 'child';
const N = Number((CHILD ? process.argv[5] : process.argv[2]) ?? 20_000);
const ROUNDS = Number(process.argv[3] ?? 2);
const NOTIFICATION = {
  id: 1,
  title: 'Benchmark',
  body: 'x'.repeat(900),
  targetUrl: 'https://bench.example/article/42',
  iconUrl: 'https://bench.example/icon.png',
  badgeUrl: null,
  imageUrl: null,
  requireInteraction: false,
  silent: false,
  customData: null,
  actions: [],
  ttl: 3600,
  urgent: false,
  topic: null,
};

async function child(mode: string, origin: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const sender = {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    subject: 'https://bench.example',
  };
  const targets: WebPushTarget[] = Array.from({ length: N }, (_, i) => ({ subscriptionId: i + 1, ...deriveSubscription(origin, `c${i}`) }));
  const key = randomBytes(32);
  let delivered = 0;
  const gc = { ms: 0 };
  const { PerformanceObserver } = await import('node:perf_hooks');
  new PerformanceObserver((l) => l.getEntries().forEach((e) => (gc.ms += e.duration))).observe({ entryTypes: ['gc'] });
  const cpu0 = process.cpuUsage();
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  if (mode === 'client') {
    const client = new WebPushClient({ allowedHosts: ['127.0.0.1'] });
    let next = 0;
    const slice = async (from: number) => {
      const batch = targets.slice(from, from + 100).map((t) => ({ ...t, openToken: openToken(key, 1, t.subscriptionId) }));
      await client.send(batch, NOTIFICATION, sender, undefined, (_, o) => {
        if (o.kind === 'delivered') delivered += 1;
      });
    };
    await Promise.all([0, 1].map(async () => {
      while (next < N) {
        const from = next;
        next += 100;
        await slice(from);
      }
    }));
    await client.close();
  } else {
    const jwk = publicKey.export({ format: 'jwk' });
    const vapidPublic = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('base64url');
    const vapidPrivate = privateKey.export({ format: 'jwk' }).d!;
    const authorization = (webpush.getVapidHeaders(origin, sender.subject, vapidPublic, vapidPrivate, 'aes128gcm') as { Authorization: string }).Authorization;
    const session = http2.connect(origin);
    const PH = '\u0000'.repeat(32);
    const json = JSON.stringify({ id: 1, title: NOTIFICATION.title, body: NOTIFICATION.body, icon: NOTIFICATION.iconUrl, target_url: NOTIFICATION.targetUrl, actions: [], require_interaction: false, silent: false, open_token: PH });
    const [head, tail] = json.split(JSON.stringify(PH).slice(1, -1)) as [string, string];
    const tok = (sid: number) => {
      const out = Buffer.allocUnsafe(24);
      out.writeBigUInt64BE(BigInt(sid), 0);
      createHmac('sha256', key).update(`pushcast-open:v1:1:${sid}`).digest().copy(out, 8, 0, 16);
      return out.toString('base64url');
    };
    const post = (t: WebPushTarget) =>
      new Promise<void>((resolve) => {
        const body = webpush.encrypt(t.p256dh, t.auth, Buffer.from(head + tok(t.subscriptionId) + tail), 'aes128gcm').cipherText;
        const req = session.request({ ':method': 'POST', ':path': new URL(t.endpoint).pathname, ttl: '3600', urgency: 'normal', 'content-encoding': 'aes128gcm', 'content-type': 'application/octet-stream', 'content-length': body.length, authorization });
        let status = 0;
        req.on('response', (h) => (status = Number(h[':status'])));
        req.on('error', () => {});
        req.on('close', () => {
          if (status === 201) delivered += 1;
          resolve();
        });
        req.resume();
        req.end(body);
      });
    let i = 0;
    await Promise.all(Array.from({ length: 200 }, async () => {
      while (i < N) await post(targets[i++]!);
    }));
    session.close();
  }
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1000;
  const activeMs = performance.eventLoopUtilization(elu0).active;
  process.stdout.write(`${JSON.stringify({ mode, delivered, cpuMs, seconds: (performance.now() - t0) / 1000, gcMs: gc.ms, activeMs })}\n`);
}

if (CHILD) {
  await child(process.argv[3]!, process.argv[4]!);
  process.exit(0);
}

log('# WebPushClient alone vs the lean sender');
log(machineLine());
log(`command: node --import tsx bench/web-push-client.bench.ts ${N} ${ROUNDS}  (${loadLine()})`);
log(gitLine());
const push = run('packages/local-push-service/src/main.ts', { PORT: '0', DECRYPT: '0', RECORD: '0' });
try {
  const { origin, caFile } = JSON.parse(await push.firstLine()) as { origin: string; caFile: string };
  const results: Record<string, number[]> = { client: [], lean: [] };
  for (let r = 0; r < ROUNDS; r += 1) {
    for (const mode of r % 2 === 0 ? ['client', 'lean'] : ['lean', 'client']) {
      const p = run('bench/web-push-client.bench.ts', { NODE_EXTRA_CA_CERTS: caFile }, ['child', mode, origin, String(N)]);
      const res = JSON.parse(await p.firstLine()) as { mode: string; delivered: number; cpuMs: number; seconds: number; gcMs: number; activeMs: number };
      await p.exited;
      const us = (res.cpuMs * 1000) / res.delivered;
      results[mode]!.push(us);
      log(`${mode}: ${res.delivered} delivered, ${us.toFixed(0)} µs CPU/msg, GC ${((res.gcMs / res.activeMs) * 100).toFixed(1)} % of the event loop's active time, ${(res.delivered / res.seconds).toFixed(0)} msg/s`);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  log(`median: client ${median(results.client!).toFixed(0)} µs/msg, lean ${median(results.lean!).toFixed(0)} µs/msg, client ÷ lean ${(median(results.client!) / median(results.lean!)).toFixed(2)}×  (${loadLine()})`);
} finally {
  await push.stop();
}
