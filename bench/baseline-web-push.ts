/**
 * The baseline: what a user would otherwise write — load the subscribers and call web-push's
 * `sendNotification` as documented, with bounded concurrency. Run by broadcast.bench.ts in a
 * process of its own so that its CPU and memory can be read.
 *   DATABASE_URL PROJECT_ID LIMIT PAYLOAD_FILE VAPID_PUBLIC VAPID_PRIVATE (base64url) CONCURRENCY
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import webpush from 'web-push';

const env = (k: string) => process.env[k] ?? '';
const db = new pg.Client({ connectionString: env('DATABASE_URL') });
await db.connect();
const payload = readFileSync(env('PAYLOAD_FILE'), 'utf8');
const limit = Number(env('LIMIT'));
const concurrency = Number(env('CONCURRENCY') || 200);
const options = {
  TTL: 3600,
  vapidDetails: { subject: 'https://bench.example', publicKey: env('VAPID_PUBLIC'), privateKey: env('VAPID_PRIVATE') },
};

let delivered = 0;
let failed = 0;
let cursor = 0;
let taken = 0;
const started = Date.now();
while (taken < limit) {
  const { rows } = await db.query<{ id: string; endpoint: string; p256dh: string; auth: string }>(
    `SELECT id, endpoint, p256dh, auth FROM subscriptions WHERE project_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
    [env('PROJECT_ID'), cursor, Math.min(5000, limit - taken)],
  );
  if (rows.length === 0) break;
  cursor = Number(rows[rows.length - 1]!.id);
  taken += rows.length;
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < rows.length) {
        const r = rows[next++]!;
        try {
          await webpush.sendNotification({ endpoint: r.endpoint, keys: { p256dh: r.p256dh, auth: r.auth } }, payload, options);
          delivered += 1;
        } catch {
          failed += 1;
        }
      }
    }),
  );
}
await db.end();
process.stdout.write(`${JSON.stringify({ delivered, failed, seconds: (Date.now() - started) / 1000 })}\n`);
