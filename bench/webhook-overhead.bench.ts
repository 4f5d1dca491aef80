/**
 * What webhooks add to every chunk run, statement by statement, on the local PostgreSQL: the
 * `sending_at` update (made by chunks that loaded the notification before it was set) and completeNotificationIfDone
 * with the notification.completed emit in its statement, beside the same UPDATE without it.
 *
 *   node --import tsx bench/webhook-overhead.bench.ts [calls]
 *
 * Not part of `npm run bench`; the end-to-end figure is `BENCH_WEBHOOKS=1 npm run bench:web`.
 */
import { completeNotificationIfDone, createDb, markNotificationSending, migrate } from '@pushcast/store';
import { gitLine, log, machineLine, resetDatabase } from './common.ts';

const CALLS = Number(process.argv[2] ?? 5_000);
const DATABASE = 'pushcast_bench_webhook_overhead';

log('# What webhooks add per chunk run');
log(machineLine());
log(`command: node --import tsx bench/webhook-overhead.bench.ts ${CALLS}`);
log(gitLine());
const db = createDb(await resetDatabase(DATABASE), 2);
try {
  await migrate(db);
  const sender = await db.query(`INSERT INTO senders (name, vapid_private_key, vapid_public_key) VALUES ('s', 'x', 'y') RETURNING id`);
  const project = await db.query(`INSERT INTO projects (sender_id, name, website) VALUES ($1, 'p', 'https://example.com') RETURNING id`, [sender.rows[0].id]);
  // A notification in the middle of its broadcast: sending, a chunk pending, so nothing completes.
  const n = await db.query(`INSERT INTO notifications (project_id, body, status, planned_at, ttl) VALUES ($1, 'b', 'sending', now(), 3600) RETURNING id`, [project.rows[0].id]);
  const id: number = n.rows[0].id;
  await db.query(`INSERT INTO notification_chunks (notification_id, chunk_index, platform, first_id, last_id, size) VALUES ($1, 0, 'web', 1, 2, 2)`, [id]);
  await markNotificationSending(db, id);

  const time = async (f: () => Promise<unknown>) => {
    for (let i = 0; i < 500; i += 1) await f();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < CALLS; i += 1) await f();
    const wall = ((performance.now() - t0) * 1000) / CALLS;
    const cpu = process.cpuUsage(c0);
    return { wall, cpu: (cpu.user + cpu.system) / CALLS };
  };
  const plainComplete = () =>
    db.query(
      `UPDATE notifications SET status = 'sent', completed_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'sending' AND planned_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM notification_chunks WHERE notification_id = $1 AND status = 'pending')`,
      [id],
    );
  const cases: [string, () => Promise<unknown>][] = [
    ['SELECT 1 (one round trip)', () => db.query('SELECT 1')],
    ['markNotificationSending, already set (chunks that started before sending_at was set)', () => markNotificationSending(db, id)],
    ['completeNotificationIfDone with its emit (every chunk)', () => completeNotificationIfDone(db, id)],
    ['the same UPDATE before webhooks', plainComplete],
  ];
  log('\n| statement | µs per call (wall) | client CPU µs per call |');
  log('|---|---|---|');
  for (const [name, f] of cases) {
    const t = await time(f);
    log(`| ${name} | ${t.wall.toFixed(0)} | ${t.cpu.toFixed(0)} |`);
  }
} finally {
  await db.end();
}
