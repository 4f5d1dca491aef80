/**
 * The lean sender: the least a program must do to deliver the same broadcast, and the yardstick of
 * issue 18 (the worker's CPU per message within 1.15× of it). No queues, no ledger, no retries:
 * load the subscribers (keyset pages of 5,000, the next page read while the current one is sent),
 * build each recipient's payload (the same JSON with its own 32-character open-tracking token,
 * HMAC-SHA256 as Pushcast computes it), encrypt it with web-push's own `encrypt` (aes128gcm, a fresh
 * ECDH key and salt per message, RFC 8291), one VAPID header made once with web-push's
 * `getVapidHeaders`, and POST over ONE node:http2 session with IN_FLIGHT (200) streams in flight.
 * Run by broadcast.bench.ts in a process of its own.
 *   DATABASE_URL PROJECT_ID LIMIT PAYLOAD_FILE VAPID_PUBLIC VAPID_PRIVATE (base64url) [IN_FLIGHT=200]
 * Prints one JSON line: {delivered, failed, seconds, cpuSeconds, gcSeconds}. cpuSeconds is
 * process.cpuUsage() from just before the first query to the last answer (module loading left out,
 * as the worker's start is left out of its figure); JIT warm-up and the TLS handshake are in.
 * gcSeconds: main-thread GC pauses (perf_hooks) over the same window; activeSeconds: the event
 * loop's active time then (eventLoopUtilization), the GC share's denominator.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import pg from 'pg';
import webpush from 'web-push';

const env = (k: string) => process.env[k] ?? '';
const limit = Number(env('LIMIT'));
const inFlight = Number(env('IN_FLIGHT') || 200);
const notification = JSON.parse(readFileSync(env('PAYLOAD_FILE'), 'utf8')) as { id: number };
const PLACEHOLDER = '\u0000'.repeat(32);
const [head, tail] = JSON.stringify({ ...notification, open_token: PLACEHOLDER }).split(JSON.stringify(PLACEHOLDER).slice(1, -1)) as [string, string];
const openKey = randomBytes(32);

/** The same token as @pushcast/domain's openToken: subscription id (8 bytes BE) ‖ HMAC[0..16], base64url. */
function openToken(notificationId: number, subscriptionId: number): string {
  const out = Buffer.allocUnsafe(24);
  out.writeBigUInt64BE(BigInt(subscriptionId), 0);
  createHmac('sha256', openKey).update(`pushcast-open:v1:${notificationId}:${subscriptionId}`).digest().copy(out, 8, 0, 16);
  return out.toString('base64url');
}

const db = new pg.Client({ connectionString: env('DATABASE_URL') });
await db.connect();
let gcMs = 0;
new PerformanceObserver((list) => list.getEntries().forEach((e) => (gcMs += e.duration))).observe({ entryTypes: ['gc'] });
const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const started = Date.now();

type Row = { id: string; endpoint: string; p256dh: string; auth: string };
let cursor = 0;
let taken = 0;
async function page(): Promise<Row[]> {
  if (taken >= limit) return [];
  const { rows } = await db.query<Row>(
    `SELECT id, endpoint, p256dh, auth FROM subscriptions WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [env('PROJECT_ID'), cursor, Math.min(5000, limit - taken)],
  );
  if (rows.length > 0) cursor = Number(rows[rows.length - 1]!.id);
  taken += rows.length;
  return rows;
}

let session: http2.ClientHttp2Session | undefined;
let authorization = '';
let origin = '';
let delivered = 0;
let failed = 0;

function post(r: Row): Promise<void> {
  const url = new URL(r.endpoint);
  if (!session) {
    origin = url.origin;
    session = http2.connect(origin);
    session.on('error', () => {});
    authorization = (webpush.getVapidHeaders(origin, 'https://bench.example', env('VAPID_PUBLIC'), env('VAPID_PRIVATE'), 'aes128gcm') as { Authorization: string }).Authorization;
  }
  const payload = Buffer.from(head + openToken(notification.id, Number(r.id)) + tail);
  const body = webpush.encrypt(r.p256dh, r.auth, payload, 'aes128gcm').cipherText;
  return new Promise((resolve) => {
    const req = session!.request({
      ':method': 'POST',
      ':path': url.pathname,
      ttl: '3600',
      urgency: 'normal',
      'content-encoding': 'aes128gcm',
      'content-type': 'application/octet-stream',
      'content-length': body.length,
      authorization,
    });
    let status = 0;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.on('error', () => {});
    req.on('close', () => {
      if (status >= 200 && status < 300) delivered += 1;
      else failed += 1;
      resolve();
    });
    req.resume();
    req.end(body);
  });
}

let rows = await page();
while (rows.length > 0) {
  const next = page();
  let i = 0;
  await Promise.all(
    Array.from({ length: Math.min(inFlight, rows.length) }, async () => {
      while (i < rows.length) await post(rows[i++]!);
    }),
  );
  rows = await next;
}
const seconds = (Date.now() - started) / 1000;
const cpu = process.cpuUsage(cpu0);
const gcSeconds = gcMs / 1000;
const activeSeconds = performance.eventLoopUtilization(elu0).active / 1000;
session?.close();
await db.end();
process.stdout.write(`${JSON.stringify({ delivered, failed, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, gcSeconds, activeSeconds })}\n`);
