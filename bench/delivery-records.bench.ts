/**
 * What writing delivery records costs per recorded recipient, statement by statement: the batch
 * INSERT a worker makes for a round of outcomes (insertDeliveryRecords: one multi-row INSERT of
 * arrays, the uid joined from subscriptions, ON CONFLICT DO NOTHING, the batched-event calls), for
 * the batch sizes the worker's rounds have (a 10 ms round of Web Push at ~3,000 msgs/s is ~30
 * outcomes, of APNs at ~13,500 msgs/s ~135, a chunk's largest round 500). Measures the caller's CPU
 * (the worker's share), the PostgreSQL backend's CPU (read from /proc when it runs on the same host) and the wall
 * time of a statement, against a fresh database; rounds alternate batch sizes.
 *
 *   node --import tsx bench/delivery-records.bench.ts            # 200,000 records per batch size and round, 3 rounds
 *   node --import tsx bench/delivery-records.bench.ts 100000 5   # records per batch size and round, rounds
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createDb, insertDeliveryRecords, insertDeviceSubscriptionsBulk, migrate } from '@pushcast/store';
import { fmt, gitLine, loadLine, log, machineLine, progress, resetDatabase } from './common.ts';
import { createHash } from 'node:crypto';

const RECORDS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const BATCHES = [30, 135, 500];
const DATABASE = 'pushcast_bench_records';

/** CPU seconds of a process, from /proc (user + system); NaN when PostgreSQL runs where /proc does not show it (another container). */
function cpuOf(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

const url = await resetDatabase(DATABASE);
// One connection: its backend is the one whose CPU is read.
const db = createDb(url, 1);
await migrate(db);
// A sender as legacy rows look (a plaintext key): nothing here signs or sends.
const { rows: [sender] } = await db.query<{ id: number }>(`INSERT INTO senders (name, vapid_private_key, vapid_public_key) VALUES ('bench', 'x', 'x') RETURNING id`);
const { rows: [project] } = await db.query<{ id: number }>(`INSERT INTO projects (sender_id, name, website) VALUES ($1, 'bench', 'https://bench.example') RETURNING id`, [sender!.id]);
progress(`seeding ${RECORDS.toLocaleString('en')} devices…`);
for (let start = 0; start < RECORDS; start += 10_000) {
  const tokens = Array.from({ length: Math.min(10_000, RECORDS - start) }, (_, i) => ({
    token: createHash('sha256').update(`d${start + i}`).digest('hex'),
    uid: `user-${start + i}`,
  }));
  await insertDeviceSubscriptionsBulk(db, project!.id, 'apns', tokens);
}
const { rows: ids } = await db.query<{ id: number }>(`SELECT id FROM subscriptions WHERE project_id = $1 ORDER BY id`, [project!.id]);
const { rows: [backend] } = await db.query<{ pid: number }>(`SELECT pg_backend_pid() AS pid`);
const day = new Date().toISOString().slice(0, 10);

log('# Delivery records: the cost of a batch INSERT per record');
log(machineLine());
log(`command: node --import tsx bench/delivery-records.bench.ts ${RECORDS} ${ROUNDS}`);
log(`${gitLine()}; ${loadLine()}`);

type Figures = { client: number[]; server: number[]; wallPerStatement: number[] };
const results = new Map<number, Figures>(BATCHES.map((b) => [b, { client: [], server: [], wallPerStatement: [] }]));
let notification = 0;
for (let round = 0; round < ROUNDS; round += 1) {
  for (const size of BATCHES) {
    notification += 1; // a notification of its own: nothing conflicts, every row is written
    const batch = { projectId: project!.id, notificationId: notification, day, platform: 'apns' as const };
    const c0 = process.cpuUsage();
    const s0 = cpuOf(backend!.pid);
    const t0 = performance.now();
    let statements = 0;
    for (let start = 0; start < ids.length; start += size) {
      const records = ids.slice(start, start + size).map((r) => ({ subscriptionId: r.id, outcome: 'delivered' as const, status: null, reason: null }));
      await insertDeliveryRecords(db, batch, records);
      statements += 1;
    }
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    const f = results.get(size)!;
    f.client.push(((c.user + c.system) / ids.length));
    f.server.push(((cpuOf(backend!.pid) - s0) * 1e6) / ids.length);
    f.wallPerStatement.push(wall / statements);
    progress(`round ${round + 1}, batches of ${size}: ${fmt(f.client.at(-1)!, 1)} µs client, ${fmt(f.server.at(-1)!, 1)} µs server per record`);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
log(`\n${RECORDS.toLocaleString('en')} records per batch size and round, ${ROUNDS} rounds\n`);
log('| records per statement | caller CPU µs/record, each round | caller (median) | PostgreSQL backend CPU µs/record (median) | ms per statement (median) |');
log('|---|---|---|---|---|');
for (const [size, f] of results) {
  log(`| ${size} | ${f.client.map((x) => fmt(x, 1)).join(', ')} | ${fmt(median(f.client), 1)} | ${fmt(median(f.server), 1)} | ${fmt(median(f.wallPerStatement), 2)} |`);
}
await db.end();
