/**
 * `npm run bench:bulk -- [rows]`: bulk import and export of web subscriptions (issue 13 §3), through
 * the real API and worker processes, with the floor of each measured in the same run:
 *   - import: an NDJSON file streamed to POST /projects/:id/subscriptions/import, timed until the
 *     upload is accepted (read, validated, staged with COPY) and until a worker has applied every
 *     row; baseline: the same rows COPYed straight into a table of the same shape (no validation,
 *     no upsert), what PostgreSQL alone takes;
 *   - while it runs, GET /projects/:id every 20 ms: the API's latency for everyone else;
 *   - the API's RSS at a tenth of the upload and at its end (flat = streamed);
 *   - export: GET …/subscriptions/export read to its end; baseline: COPY … TO STDOUT of the same rows;
 *   - the API's own share of the import, alone: the import's validation (the single create's rules,
 *     COPY text out) run in this process over the file's first 200,000 rows, in the API's batches.
 * Prints the machine, the command and the figures. Not a test: compare ratios, not absolutes.
 * BENCH_CPU_PROF=DIR writes V8 CPU profiles of the API and the worker to DIR.
 */
import { createECDH, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { IMPORT_BATCH_BYTES, ndjsonPieces, validateWork } from '@pushcast/core';
import { benchDeployment, connectApi, dropRedisPrefix, fmt, gitLine, loadLine, log, machineLine } from './common.ts';
import { cpuSeconds, memoryMiB, percentile, run, type Proc } from './proc.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const DATABASE = process.env.BENCH_DATABASE ?? 'pushcast_bench_bulk';
const PREFIX = `pushcast-bench-bulk-${randomBytes(3).toString('hex')}`;

/** A thousand real browser key pairs, reused: validation checks each row's point all the same. */
const KEYS = Array.from({ length: 1000 }, () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
});
const row = (i: number) => ({ endpoint: `https://push.bench.example/send/${i.toString(36)}-${i}`, ...KEYS[i % KEYS.length]!, uid: `user-${i}`, tags: ['bench', `g${i % 10}`] });

async function writeNdjson(path: string): Promise<number> {
  const out = createWriteStream(path);
  for (let start = 0; start < ROWS; start += 10_000) {
    let piece = '';
    for (let i = start; i < Math.min(ROWS, start + 10_000); i += 1) piece += `${JSON.stringify(row(i))}\n`;
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return (await stat(path)).size;
}

/**
 * The API's validation alone, CPU µs a row: the file's first rows (200,000 at most) as the import
 * reads them (ndjsonPieces: runs of whole lines, here of the import's batch size,
 * IMPORT_BATCH_BYTES), validated in this process, three rounds (the first warms the JIT up; the
 * best of the other two is printed).
 */
async function validationAlone(path: string): Promise<number> {
  const rows = Math.min(ROWS, 200_000);
  const batches: Buffer[] = [];
  let seen = 0;
  for await (const piece of ndjsonPieces(createReadStream(path, { highWaterMark: IMPORT_BATCH_BYTES }))) {
    batches.push(piece.bytes);
    seen += piece.lines;
    if (seen >= rows) break;
  }
  let best = Infinity;
  for (let round = 0; round < 3; round += 1) {
    const before = process.cpuUsage();
    let line = 1;
    let checked = 0;
    for (const bytes of batches) {
      const batch = validateWork(1, ['push.bench.example'], { ndjson: { firstLine: line, bytes, overlongFirst: false } });
      if (batch.errors.length > 0) throw new Error(`validation refused a benchmark row: ${JSON.stringify(batch.errors[0])}`);
      line += batch.rows;
      checked += batch.rows;
    }
    const used = process.cpuUsage(before);
    if (round > 0) best = Math.min(best, (used.user + used.system) / checked);
  }
  return best;
}

/** The floor: the same rows COPYed into a bare table, no validation, no upsert. */
async function copyBaseline(db: pg.Pool): Promise<number> {
  await db.query(`CREATE TABLE IF NOT EXISTS bench_copy_floor (endpoint text, p256dh text, auth text, uid text, tags text[])`);
  await db.query('TRUNCATE bench_copy_floor');
  const client = await db.connect();
  const started = performance.now();
  try {
    const source = Readable.from(
      (function* () {
        for (let start = 0; start < ROWS; start += 10_000) {
          let piece = '';
          for (let i = start; i < Math.min(ROWS, start + 10_000); i += 1) {
            const r = row(i);
            piece += `${r.endpoint}\t${r.p256dh}\t${r.auth}\t${r.uid}\t{${r.tags.join(',')}}\n`;
          }
          yield piece;
        }
      })(),
    );
    await pipeline(source, client.query(copyFrom('COPY bench_copy_floor FROM STDIN')));
  } finally {
    client.release();
  }
  return (performance.now() - started) / 1000;
}

async function copyOutBaseline(db: pg.Pool, projectId: number): Promise<number> {
  const client = await db.connect();
  const started = performance.now();
  try {
    const stream = client.query(copyTo(`COPY (SELECT platform, endpoint, p256dh, auth, device_token, uid, tags FROM subscriptions WHERE project_id = ${projectId} ORDER BY id) TO STDOUT`));
    for await (const _chunk of stream) { /* read to the end */ }
  } finally {
    client.release();
  }
  return (performance.now() - started) / 1000;
}

log('# Pushcast bulk import / export benchmark');
log(machineLine());
log(`command: npm run bench:bulk -- ${ROWS}`);
log(gitLine());
log(`rows: ${fmt(ROWS)} web subscriptions (distinct endpoints, uid, 2 tags), NDJSON`);
log(loadLine());

const procs: Proc[] = [];
let stopping = false;
const dir = await mkdtemp(join(tmpdir(), 'pushcast-bench-bulk-'));
try {
  const file = join(dir, 'subscribers.ndjson');
  const bytes = await writeNdjson(file);
  const { db, adminToken, port, env: common } = await benchDeployment({ database: DATABASE, prefix: PREFIX, allowedPushHosts: 'push.bench.example' });
  // BENCH_CPU_PROF=DIR: V8 CPU profiles of the API and the worker, written to DIR when they stop.
  const profile = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
  const api = run('apps/api/src/main.ts', { ...common, PORT: String(port), HOST: '127.0.0.1' }, [], profile);
  procs.push(api);
  const worker = run('apps/worker/src/main.ts', common, [], profile);
  procs.push(worker);
  for (const [name, p] of [['API', api], ['worker', worker]] as const) {
    void p.exited.then((code) => {
      if (!stopping) log(`the ${name} process exited (${code}, signal ${p.child.signalCode}) during the benchmark: ${p.stderrTail()}`);
    });
  }
  const { call, url } = await connectApi(api, port, adminToken);
  const sender = (await call('POST', '/senders', { name: 'bench' })).body;
  const project = (await call('POST', '/projects', { sender_id: sender.id, name: 'Bulk', website: 'https://bench.example' })).body;
  if (typeof project.id !== 'number') throw new Error(`project not created: ${JSON.stringify(project)}`);

  const floorSeconds = await copyBaseline(db);
  const validationMicros = await validationAlone(file);

  // Other requests while the import runs: what everybody else sees of the API.
  // Split by phase: the upload loads the API process itself, the apply only PostgreSQL and the worker.
  const latencies: number[] = [];
  const byPhase: Record<'upload' | 'apply', number[]> = { upload: [], apply: [] };
  let phase: 'upload' | 'apply' = 'upload';
  let importing = true;
  const prober = (async () => {
    while (importing) {
      const t0 = performance.now();
      const during = phase;
      // A failure waits a moment first, so that a process's exit (and its stderr) is logged before it.
      await call('GET', `/projects/${project.id}`).catch(async (e: unknown) => {
        await new Promise((r) => setTimeout(r, 1000));
        throw e;
      });
      latencies.push(performance.now() - t0);
      byPhase[during].push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();

  let uploaded = 0;
  let rssAtTenth = 0;
  const rssBefore = memoryMiB(api.pid).rss;
  const cpuBefore = { api: cpuSeconds(api.pid), worker: cpuSeconds(worker.pid) };
  // PostgreSQL's share: the CPU of the backends of this benchmark's database (connections and
  // autovacuum on it), sampled from /proc every 250 ms (a backend that exits loses its last 250 ms);
  // the server's shared processes (WAL writer, checkpointer) are left out.
  const backendCpu = new Map<number, { first: number; last: number }>();
  const sampleBackends = async () => {
    const { rows } = await db.query<{ pid: number }>('SELECT pid FROM pg_stat_activity WHERE datname = current_database()');
    for (const { pid } of rows) {
      let used: number;
      try {
        used = cpuSeconds(pid);
      } catch {
        continue; // not on this machine's /proc (a remote server) or gone
      }
      const seen = backendCpu.get(pid);
      if (seen) seen.last = used;
      else backendCpu.set(pid, { first: used, last: used });
    }
  };
  await sampleBackends();
  const startedBackends = new Set(backendCpu.keys());
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise((r) => setTimeout(r, 250));
      await sampleBackends().catch(() => {});
    }
  })();
  // Opened only now: its 'data' listener starts the flow, and chunks read before fetch takes the
  // stream would be lost (an await in between cost an upload its first ~600 rows on a busy machine).
  const counting = createReadStream(file);
  counting.on('data', (chunk) => {
    uploaded += chunk.length;
    if (!rssAtTenth && uploaded >= bytes / 10) rssAtTenth = memoryMiB(api.pid).rss;
  });
  const started = performance.now();
  const res = await fetch(`${url}/projects/${project.id}/subscriptions/import`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/x-ndjson' },
    body: Readable.toWeb(counting) as ReadableStream,
    duplex: 'half',
  } as RequestInit);
  const accepted = (await res.json()) as { id: number; rows: number; rejected: number };
  const acceptSeconds = (performance.now() - started) / 1000;
  await sampleBackends().catch(() => {});
  const postgresSoFar = () => [...backendCpu].reduce((sum, [pid, { first, last }]) => sum + last - (startedBackends.has(pid) ? first : 0), 0);
  const cpuAtAccept = { api: cpuSeconds(api.pid) - cpuBefore.api, worker: cpuSeconds(worker.pid) - cpuBefore.worker, postgres: postgresSoFar() };
  phase = 'apply';
  const rssAtEnd = memoryMiB(api.pid).rss;
  if (res.status !== 202 || accepted.rows !== ROWS || accepted.rejected !== 0) throw new Error(`import not accepted: ${JSON.stringify(accepted)}`);
  let state: { status: string; inserted: number } = { status: 'queued', inserted: 0 };
  while (state.status !== 'completed') {
    await new Promise((r) => setTimeout(r, 200));
    state = (await call('GET', `/imports/${accepted.id}`)).body;
    if (state.status === 'failed') throw new Error(`import failed: ${JSON.stringify(state)}`);
  }
  const totalSeconds = (performance.now() - started) / 1000;
  const importCpu = { api: cpuSeconds(api.pid) - cpuBefore.api, worker: cpuSeconds(worker.pid) - cpuBefore.worker, postgres: 0 };
  sampling = false;
  await sampler;
  await sampleBackends().catch(() => {});
  // Backends that existed before the import count from then; new ones from their start.
  importCpu.postgres = postgresSoFar();
  importing = false;
  await prober;
  latencies.sort((a, b) => a - b);
  for (const list of Object.values(byPhase)) list.sort((a, b) => a - b);

  const floorOut = await copyOutBaseline(db, project.id);
  const exportStarted = performance.now();
  const exported = await fetch(`${url}/projects/${project.id}/subscriptions/export`, { headers: { authorization: `Bearer ${adminToken}` } });
  let lines = 0;
  let rssExportMax = memoryMiB(api.pid).rss;
  let sampled = performance.now();
  for await (const chunk of exported.body as unknown as AsyncIterable<Uint8Array>) {
    for (const byte of chunk) if (byte === 10) lines += 1;
    if (performance.now() - sampled > 200) {
      sampled = performance.now();
      rssExportMax = Math.max(rssExportMax, memoryMiB(api.pid).rss);
    }
  }
  const exportSeconds = (performance.now() - exportStarted) / 1000;
  if (lines !== ROWS) throw new Error(`export wrote ${lines} lines, not ${ROWS}`);

  log('');
  log('| step | rows/s | seconds | floor (same run) | ratio to floor |');
  log('|---|---|---|---|---|');
  log(`| import accepted (upload, validation, COPY to staging) | ${fmt(ROWS / acceptSeconds)} | ${acceptSeconds.toFixed(1)} | COPY alone: ${fmt(ROWS / floorSeconds)} rows/s | ${(acceptSeconds / floorSeconds).toFixed(2)}× |`);
  log(`| import applied (+ worker's set-based upsert), from the request's start | ${fmt(ROWS / totalSeconds)} | ${totalSeconds.toFixed(1)} | | |`);
  log(`| (the apply alone: accepted → completed) | ${fmt(ROWS / (totalSeconds - acceptSeconds))} | ${(totalSeconds - acceptSeconds).toFixed(1)} | | |`);
  log(`| export (NDJSON over HTTP) | ${fmt(ROWS / exportSeconds)} | ${exportSeconds.toFixed(1)} | COPY TO STDOUT: ${fmt(ROWS / floorOut)} rows/s | ${(exportSeconds / floorOut).toFixed(2)}× |`);
  log('');
  log(`CPU of the import (request → completed; includes the API's answers to the GET /projects/:id probe): API ${importCpu.api.toFixed(1)} s, worker ${importCpu.worker.toFixed(1)} s, PostgreSQL backends of the benchmark's database ${importCpu.postgres.toFixed(1)} s; per 1 M rows: API ${(importCpu.api * 1e6 / ROWS).toFixed(1)} s, worker ${(importCpu.worker * 1e6 / ROWS).toFixed(1)} s, PostgreSQL ${(importCpu.postgres * 1e6 / ROWS).toFixed(1)} s`);
  log(`  of which until the upload was accepted: API ${cpuAtAccept.api.toFixed(1)} s, worker ${cpuAtAccept.worker.toFixed(1)} s, PostgreSQL ${cpuAtAccept.postgres.toFixed(1)} s; all of it per row: ${(((importCpu.api + importCpu.worker + importCpu.postgres) * 1e6) / ROWS).toFixed(1)} µs (on ${availableParallelism()} cores, end to end can be no faster than ${fmt((availableParallelism() * ROWS) / (importCpu.api + importCpu.worker + importCpu.postgres))} rows/s, the benchmark's own client aside)`);
  log(`the API's validation alone (this process, the file's first ${fmt(Math.min(ROWS, 200_000))} rows in the import's batches): ${validationMicros.toFixed(2)} µs a row of CPU, against the API's ${((importCpu.api * 1e6) / ROWS).toFixed(1)} µs a row in the import`);
  log(`file: ${fmt(bytes / 1e6, 1)} MB; API RSS before ${rssBefore.toFixed(0)} MiB, at 10% of the upload ${rssAtTenth.toFixed(0)} MiB, at its end ${rssAtEnd.toFixed(0)} MiB; during the export ≤ ${rssExportMax.toFixed(0)} MiB`);
  log(`GET /projects/:id during the import: ${latencies.length} requests, p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`);
  for (const [name, list] of Object.entries(byPhase)) {
    if (list.length > 0) log(`  during the ${name}: ${list.length} requests, p50 ${percentile(list, 50).toFixed(1)} ms, p99 ${percentile(list, 99).toFixed(1)} ms, max ${list[list.length - 1]!.toFixed(1)} ms`);
  }
  log(loadLine());
  await db.end();
} finally {
  stopping = true;
  for (const p of procs.reverse()) await p.stop();
  await dropRedisPrefix(PREFIX).catch(() => {});
  await rm(dir, { recursive: true, force: true });
}
