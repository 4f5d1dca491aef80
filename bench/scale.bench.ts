/**
 * The scale model's measurements (docs/scaling.md): one broadcast to N APNs devices at the local
 * APNs server (cheap sends, so that coordination shows) with 1, 2 and 4 worker processes against one
 * Redis and one PostgreSQL, and per delivered message what Redis and PostgreSQL did for it:
 *
 *   npm run bench:scale                       # 100,000 devices; 1, 2 and 4 workers
 *   npm run bench:scale -- 50000 1,2          # devices, worker counts
 *
 * Redis and PostgreSQL are the benchmark's own (bench/private-servers.ts: a redis-server and a
 * PostgreSQL cluster from the machine's binaries, on free ports, with pg_stat_statements preloaded and
 * the machine server's main settings), so every command, statement and CPU second they count is this
 * benchmark's. BENCH_SHARED_SERVERS=1 uses BENCH_PG_URL / BENCH_REDIS_URL instead: Redis counts then
 * include whatever else uses that Redis, statements are counted only if pg_stat_statements is loaded
 * there, and the servers' CPU is not shown.
 *
 * Per worker count: the workers are started and left idle for BENCH_IDLE_S (default 5) seconds (what
 * idle workers cost Redis and PostgreSQL), then one notification to every device is created over the
 * API, and the window ends when PostgreSQL has every chunk done. Counted over that window: Redis
 * `INFO commandstats` (commands run by Lua scripts included) and network bytes, peak `used_memory`,
 * pg_stat_statements (the benchmark's polling runs as a role of its own and is left out), tuples
 * per table, WAL bytes, and CPU from /proc of the workers, Redis, PostgreSQL (postmaster and
 * backends, exited ones included), the local APNs server and the API.
 *
 * Environment: BENCH_WORKER_ENV (extra worker settings as JSON), BENCH_IDLE_S, BENCH_TIMEOUT_S
 * (default 600). Prints the machine, the command and the figures. Not a test.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { generateApnsKey } from '@pushcast/local-apns-service';
import { insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { benchDeployment, connectApi, fmt, gitLine, loadLine, log, machineLine, MachineWindow, PG_SERVER, ProcWindow, progress, REDIS_URL, sleep } from './common.ts';
import { startPrivatePostgres, startPrivateRedis } from './private-servers.ts';
import { cpuSeconds, run, type Proc } from './proc.ts';
import { PgObserver, redisCounters, redisDelta, redisUsedMemory, tableDelta, type RedisDelta, type Statement, type TableCounters } from './server-counters.ts';

const DEVICES = Number(process.argv[2] ?? 100_000);
const WORKER_COUNTS = (process.argv[3] ?? '1,2,4').split(',').map(Number);
const SHARED = process.env.BENCH_SHARED_SERVERS === '1';
const IDLE_S = Number(process.env.BENCH_IDLE_S ?? 5);
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 600);
const RECORDS_ALL = process.env.BENCH_RECORDS_ALL === '1';
const TOPIC = 'com.pushcast.bench';
const PREFIX = `pushcast-bench-scale-${randomBytes(3).toString('hex')}`;
if (!Number.isInteger(DEVICES) || DEVICES < 1 || !WORKER_COUNTS.every((k) => Number.isInteger(k) && k >= 1)) {
  process.stderr.write('usage: npm run bench:scale -- [devices] [worker counts, e.g. 1,2,4]\n');
  process.exit(2);
}

const apnsToken = (i: number) => createHash('sha256').update(`apns-${i}`).digest('hex');

interface Result {
  workers: number;
  /** The workers, and `records: all` when every delivery was recorded. */
  label: string;
  delivered: number;
  counted: number;
  chunks: number;
  seconds: number;
  /** From the notification's creation to its planning's end (PostgreSQL's clock). */
  plannedAfter: number;
  load: string;
  cpu: { workers: number; redis: number | null; pg: number | null; apns: number; api: number };
  machineBusy: number;
  redis: RedisDelta;
  redisPeakMiB: number;
  statements: Statement[];
  tables: Map<string, TableCounters>;
  xacts: number;
  walBytes: number;
  idle: { seconds: number; redisCommands: number; statements: number; redisCpu: number | null; pgCpu: number | null };
}

/** Waits until a freshly started process has stopped burning CPU (tsx compiling, connecting). */
async function settled(proc: Proc, maxMs = 30_000): Promise<void> {
  const until = Date.now() + maxMs;
  let last = cpuSeconds(proc.pid);
  await sleep(1000);
  while (Date.now() < until) {
    await sleep(500);
    const now = cpuSeconds(proc.pid);
    if (now - last < 0.03) return;
    last = now;
  }
}

async function serverCommand(server: Proc, command: string): Promise<any> {
  server.send(command);
  const answer = JSON.parse(await server.nextLine()) as { error?: string };
  if (answer.error) throw new Error(`local server: ${answer.error}`);
  return answer;
}

log('# Pushcast scale model: one Redis, one PostgreSQL, 1…n worker processes, APNs devices');
log(machineLine());
const benchEnv = Object.entries(process.env)
  .filter(([k, v]) => k.startsWith('BENCH_') && v)
  .map(([k, v]) => `${k}=${/^[\w.,:/-]+$/.test(v!) ? v : `'${v}'`} `)
  .join('');
log(`command: ${benchEnv}npm run bench:scale -- ${DEVICES} ${WORKER_COUNTS.join(',')}`);
log(gitLine());
log(`at start: ${loadLine()}`);

const procs: Proc[] = [];
const stops: (() => Promise<void>)[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => void Promise.all([...procs.map((p) => p.stop()), ...stops.map((s) => s())]).then(() => process.exit(130)));
}
const results: Result[] = [];
try {
  const redisServer = SHARED ? null : await startPrivateRedis();
  if (redisServer) stops.push(() => redisServer.stop());
  const pgServer = SHARED ? null : await startPrivatePostgres(PG_SERVER);
  if (pgServer) stops.push(() => pgServer.stop());
  const redisUrl = redisServer?.url ?? REDIS_URL;
  log(
    SHARED
      ? `servers: shared (${PG_SERVER}, ${REDIS_URL}); Redis counts include anyone else using it`
      : `servers: the benchmark's own redis-server and ${pgServer!.version} (${pgServer!.settings.join(', ')})`,
  );

  const apnsKey = generateApnsKey();
  const apns = run('bench/local-server.ts', {
    PLATFORM: 'apns',
    KEYS: JSON.stringify([{ keyId: apnsKey.keyId, teamId: apnsKey.teamId, keyPem: apnsKey.keyPem, topics: [TOPIC] }]),
  });
  procs.push(apns);
  const { origin, caFile } = JSON.parse(await apns.firstLine()) as { origin: string; caFile: string };

  const deployment = await benchDeployment({
    database: 'pushcast_bench_scale',
    prefix: PREFIX,
    caFile,
    ...(pgServer ? { pgServer: pgServer.url } : {}),
    redisUrl,
    env: { PUSHCAST_APNS_URL: origin },
  });
  const observer = await PgObserver.connect(deployment.databaseUrl);
  const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  const apiProc = run('apps/api/src/main.ts', { ...deployment.env, PORT: String(deployment.port), HOST: '127.0.0.1' });
  procs.push(apiProc);
  const api = await connectApi(apiProc, deployment.port, deployment.adminToken);
  const sender = (await api.call('POST', '/senders', { name: 'bench' })).body;
  const project = await api.call('POST', '/projects', {
    sender_id: sender.id,
    name: 'Bench scale',
    website: 'https://bench.example',
    apns_credentials: { key: apnsKey.keyPem, key_id: apnsKey.keyId, team_id: apnsKey.teamId, topic: TOPIC, production: true },
  });
  if (project.status !== 201) throw new Error(`project not created: ${JSON.stringify(project.body)}`);
  const seeded = Date.now();
  for (let start = 0; start < DEVICES; start += 10_000) {
    const rows = [];
    for (let i = start; i < Math.min(DEVICES, start + 10_000); i += 1) rows.push({ token: apnsToken(i) });
    await insertDeviceSubscriptionsBulk(deployment.db, project.body.id, 'apns', rows);
  }
  await deployment.db.query('VACUUM ANALYZE');
  progress(`seeded ${fmt(DEVICES)} APNs devices in ${((Date.now() - seeded) / 1000).toFixed(0)} s`);
  const workerEnv = { ...deployment.env, ...(process.env.BENCH_WORKER_ENV ? (JSON.parse(process.env.BENCH_WORKER_ENV) as Record<string, string>) : {}) };
  log(`devices: ${fmt(DEVICES)} APNs (distinct tokens), every one answered 200; chunks of 1,000; worker settings: WORKER_CONCURRENCY=${workerEnv.WORKER_CONCURRENCY ?? 'default (8)'}${process.env.BENCH_WORKER_ENV ? `, BENCH_WORKER_ENV=${process.env.BENCH_WORKER_ENV}` : ''}`);
  log(`Redis and PostgreSQL counters: ${observer.statements ? 'pg_stat_statements (the benchmark\'s own polling left out), ' : 'pg_stat_statements not loaded: statements not counted; '}INFO commandstats and stats, pg_stat_database, pg_stat_user_tables, pg_current_wal_lsn()`);

  const serverCpu = () => ({ redis: redisServer?.cpu() ?? null, pg: pgServer?.cpu() ?? null });
  const minus = (a: number | null, b: number | null) => (a === null || b === null ? null : a - b);

  const runs = [...WORKER_COUNTS.map((k) => ({ k, records: 'failures' })), ...(RECORDS_ALL ? [{ k: 1, records: 'all' }] : [])];
  let recording = 'failures';
  for (const { k, records } of runs) {
    if (records !== recording) {
      const patched = await api.call('PATCH', `/projects/${project.body.id}`, { record_deliveries: records });
      if (patched.status !== 200) throw new Error(`project not patched: ${JSON.stringify(patched.body)}`);
      recording = records;
    }
    await serverCommand(apns, 'reset');
    const workers = Array.from({ length: k }, () => run('apps/worker/src/main.ts', workerEnv));
    procs.push(...workers);
    // Started: every worker's webhook dispatcher (the last thing a worker starts) is LISTENing.
    // On a loaded machine tsx may take longer than settled()'s patience to compile a worker.
    for (let i = 0; ; i += 1) {
      const { rows } = await observer.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN%'`);
      if ((rows[0]?.n ?? 0) >= k) break;
      if (i > 600) throw new Error(`${k} workers not started after 120 s`);
      await sleep(200);
    }
    await Promise.all(workers.map((w) => settled(w)));

    // Idle: what k workers waiting for jobs cost the servers.
    await observer.resetStatements();
    const idle0 = { redis: await redisCounters(redis), cpu: serverCpu(), t: performance.now() };
    await sleep(IDLE_S * 1000);
    const idleRedis = redisDelta(idle0.redis, await redisCounters(redis));
    const idleStatements = (await observer.statementsSince()).reduce((n, s) => n + s.calls, 0);
    const idleCpu = serverCpu();
    const idle = {
      seconds: (performance.now() - idle0.t) / 1000,
      redisCommands: idleRedis.total,
      statements: idleStatements,
      redisCpu: minus(idleCpu.redis, idle0.cpu.redis),
      pgCpu: minus(idleCpu.pg, idle0.cpu.pg),
    };

    progress(`\n${k} worker${k > 1 ? 's' : ''}: broadcast to ${fmt(DEVICES)} devices`);
    const load = loadLine();
    await observer.resetStatements();
    const pg0 = await observer.counters();
    const r0 = await redisCounters(redis);
    const mem0 = await redisUsedMemory(redis);
    const cpu0 = serverCpu();
    const ww = workers.map((w) => new ProcWindow(w));
    const aw = new ProcWindow(apiProc);
    const sw = new ProcWindow(apns);
    const mw = new MachineWindow();
    const t0 = performance.now();
    const created = await api.call('POST', `/projects/${project.body.id}/notifications`, { title: 'Scale', body: 'Scale model benchmark', ttl: 3600 });
    if (created.status !== 201) throw new Error(`notification not created: ${JSON.stringify(created.body)}`);
    const id = created.body.id as number;
    let peakMem = mem0;
    let lastPrint = t0;
    for (;;) {
      const { rows } = await observer.query<{ planned: boolean; pending: boolean; done: string }>(
        `SELECT n.planned_at IS NOT NULL AS planned,
                EXISTS (SELECT 1 FROM notification_chunks c WHERE c.notification_id = n.id AND c.status = 'pending') AS pending,
                (SELECT COALESCE(sum(delivered), 0) FROM notification_chunks c WHERE c.notification_id = n.id AND c.status = 'done')::text AS done
         FROM notifications n WHERE n.id = $1`,
        [id],
      );
      for (const w of [...ww, aw, sw]) w.sample();
      peakMem = Math.max(peakMem, await redisUsedMemory(redis));
      if (rows[0]?.planned && !rows[0].pending) break;
      const now = performance.now();
      if ((now - t0) / 1000 > TIMEOUT_S) throw new Error(`not finished after ${TIMEOUT_S} s`);
      if (now - lastPrint > 5000) {
        lastPrint = now;
        progress(`  ${fmt(Number(rows[0]?.done ?? 0))} counted in finished chunks, ${fmt(Number(rows[0]?.done ?? 0) / ((now - t0) / 1000))} msg/s`);
      }
      await sleep(200);
    }
    const seconds = (performance.now() - t0) / 1000;
    for (const w of [...ww, aw, sw]) w.sample();
    const cpu1 = serverCpu();
    const machineBusy = mw.busyPercent();
    const redisWindow = redisDelta(r0, await redisCounters(redis));
    const statements = await observer.statementsSince();
    const served = await serverCommand(apns, 'stats');
    const stats = (await api.call('GET', `/notifications/${id}`)).body;
    const { rows: chunkRows } = await observer.query<{ n: string; planned: number }>(
      `SELECT (SELECT count(*) FROM notification_chunks WHERE notification_id = $1) AS n,
              extract(epoch FROM planned_at - created_at)::float8 AS planned FROM notifications WHERE id = $1`,
      [id],
    );
    // Stopped before the row counters are read: a backend reports its counts when it exits.
    await Promise.all(workers.map((w) => w.stop()));
    await sleep(1500);
    const pg1 = await observer.counters();
    results.push({
      workers: k,
      label: records === 'all' ? `${k}, records: all` : String(k),
      delivered: served.delivered,
      counted: stats.successfully_sent_count,
      chunks: Number(chunkRows[0]!.n),
      plannedAfter: chunkRows[0]!.planned,
      seconds,
      load,
      cpu: { workers: ww.reduce((s, w) => s + w.cpu, 0), redis: minus(cpu1.redis, cpu0.redis), pg: minus(cpu1.pg, cpu0.pg), apns: sw.cpu, api: aw.cpu },
      machineBusy,
      redis: redisWindow,
      redisPeakMiB: (peakMem - mem0) / 2 ** 20,
      statements,
      tables: tableDelta(pg0, pg1),
      xacts: pg1.xactCommit - pg0.xactCommit,
      walBytes: Number(pg1.walLsn - pg0.walLsn),
      idle,
    });
    progress(`  ${fmt(served.delivered)} delivered in ${seconds.toFixed(1)} s`);
  }
  print(results);
  log(`\nat the end: ${loadLine()}`);
  redis.disconnect();
  await observer.end();
  await deployment.db.end();
} finally {
  for (const p of procs.reverse()) await p.stop();
  for (const s of stops.reverse()) await s().catch(() => {});
}

function print(rs: Result[]): void {
  const us = (seconds: number | null, r: Result) => (seconds === null ? 'n/a' : fmt((seconds / r.delivered) * 1e6, 1));
  log('\n## Throughput and CPU per delivered message (µs of CPU per message, from /proc)\n');
  log('| workers | delivered (server) / counted (API) | chunks | planned after (s) | seconds | msg/s | msg/s per worker | workers µs/msg | Redis µs/msg | PostgreSQL µs/msg | APNs server µs/msg | API CPU s | Redis core busy | PostgreSQL cores busy | machine busy | load at start |');
  log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rs) {
    const busy = (s: number | null) => (s === null ? 'n/a' : `${((100 * s) / r.seconds).toFixed(0)}%`);
    log(
      `| ${r.label} | ${fmt(r.delivered)} / ${fmt(r.counted)} | ${r.chunks} | ${r.plannedAfter.toFixed(2)} | ${r.seconds.toFixed(1)} | ${fmt(r.delivered / r.seconds)} | ${fmt(r.delivered / r.seconds / r.workers)} | ${us(r.cpu.workers, r)} | ${us(r.cpu.redis, r)} | ${us(r.cpu.pg, r)} | ${us(r.cpu.apns, r)} | ${r.cpu.api.toFixed(1)} | ${busy(r.cpu.redis)} | ${busy(r.cpu.pg)} | ${r.machineBusy.toFixed(0)}% | ${r.load.replace('load average ', '')} |`,
    );
  }
  log('\n## Redis per delivered message\n');
  log('| workers | commands/msg | commands/chunk | bytes in/msg | bytes out/msg | peak used_memory above idle (MiB) | commands per 1,000 msgs (top) |');
  log('|---|---|---|---|---|---|---|');
  for (const r of rs) {
    const top = [...r.redis.calls].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([c, n]) => `${c} ${fmt((n / r.delivered) * 1000, 1)}`).join(', ');
    log(`| ${r.label} | ${fmt(r.redis.total / r.delivered, 3)} | ${fmt(r.redis.total / r.chunks, 1)} | ${fmt(r.redis.netIn / r.delivered, 1)} | ${fmt(r.redis.netOut / r.delivered, 1)} | ${r.redisPeakMiB.toFixed(1)} | ${top} |`);
  }
  const r0 = rs[0];
  if (r0) {
    log(`\n### Redis commands of the run with ${r0.label} worker(s) (INFO commandstats; commands run by scripts counted too, and inside their EVALSHA's time)\n`);
    log('| command | per 1,000 msgs | per chunk | µs per 1,000 msgs |');
    log('|---|---|---|---|');
    for (const [cmd, n] of [...r0.redis.calls].sort((a, b) => b[1] - a[1])) {
      log(`| ${cmd} | ${fmt((n / r0.delivered) * 1000, 1)} | ${fmt(n / r0.chunks, 2)} | ${fmt(((r0.redis.usec.get(cmd) ?? 0) / r0.delivered) * 1000, 0)} |`);
    }
  }
  log('\n## PostgreSQL per chunk and per delivered message\n');
  log('| workers | statements/chunk | statements/msg | rows/msg (statements) | transactions/chunk (incl. the benchmark polling) | tuples inserted/updated/deleted per chunk | index tuples fetched/msg | WAL bytes/msg |');
  log('|---|---|---|---|---|---|---|---|');
  for (const r of rs) {
    const calls = r.statements.reduce((n, s) => n + s.calls, 0);
    const rowsOut = r.statements.reduce((n, s) => n + s.rows, 0);
    let ins = 0, upd = 0, del = 0, idx = 0;
    for (const t of r.tables.values()) {
      ins += t.ins;
      upd += t.upd;
      del += t.del;
      idx += t.idxFetch;
    }
    const stmts = calls ? `${fmt(calls / r.chunks, 1)} | ${fmt(calls / r.delivered, 4)} | ${fmt(rowsOut / r.delivered, 3)}` : 'n/a | n/a | n/a';
    log(`| ${r.label} | ${stmts} | ${fmt(r.xacts / r.chunks, 1)} | ${fmt(ins / r.chunks, 2)} / ${fmt(upd / r.chunks, 2)} / ${fmt(del / r.chunks, 2)} | ${fmt(idx / r.delivered, 3)} | ${fmt(r.walBytes / r.delivered, 1)} |`);
  }
  const detailed = [rs[0], rs.find((r) => r.label.includes('records'))].filter((r): r is Result => r !== undefined);
  for (const first of detailed) {
    if (first.statements.length > 0) {
      log(`\n### Statements of the run with ${first.label} worker(s) (pg_stat_statements), by calls\n`);
      log('| calls/chunk | rows/call | mean ms | WAL bytes/call | statement |');
      log('|---|---|---|---|---|');
      for (const s of first.statements.slice(0, 16)) {
        log(`| ${fmt(s.calls / first.chunks, 2)} | ${fmt(s.rows / s.calls, 1)} | ${fmt(s.ms / s.calls, 3)} | ${fmt(s.walBytes / s.calls, 0)} | \`${s.query.slice(0, 140).replaceAll('|', '\\|')}${s.query.length > 140 ? '…' : ''}\` |`);
      }
    }
    if (first.tables.size > 0) {
      log(`\n### Tuples per table in the run with ${first.label} worker(s) (pg_stat_user_tables), per chunk\n`);
      log('| table | inserted | updated (HOT) | deleted | index fetched | seq read |');
      log('|---|---|---|---|---|---|');
      for (const [name, t] of [...first.tables].sort((a, b) => b[1].idxFetch + b[1].upd + b[1].ins - (a[1].idxFetch + a[1].upd + a[1].ins))) {
        const c = (n: number) => fmt(n / first.chunks, 2);
        log(`| ${name} | ${c(t.ins)} | ${c(t.upd)} (${c(t.hotUpd)}) | ${c(t.del)} | ${c(t.idxFetch)} | ${c(t.seqRead)} |`);
      }
    }
  }
  log('\n## Idle workers (before each broadcast)\n');
  log('| workers | seconds | Redis commands/s per worker | statements/s per worker | Redis CPU ms/s | PostgreSQL CPU ms/s |');
  log('|---|---|---|---|---|---|');
  for (const r of rs) {
    const i = r.idle;
    const ms = (s: number | null) => (s === null ? 'n/a' : fmt((s / i.seconds) * 1000, 1));
    log(`| ${r.label} | ${i.seconds.toFixed(1)} | ${fmt(i.redisCommands / i.seconds / r.workers, 1)} | ${fmt(i.statements / i.seconds / r.workers, 2)} | ${ms(i.redisCpu)} | ${ms(i.pgCpu)} |`);
  }
  log('\n## Projection from the per-message CPU (one core each)\n');
  for (const r of rs) {
    const per = (s: number | null) => (s === null || s === 0 ? 'n/a' : fmt(r.delivered / s));
    log(`- ${r.label} worker${r.workers > 1 ? 's' : ''}: one Redis core ≈ ${per(r.cpu.redis)} msg/s; one PostgreSQL core ≈ ${per(r.cpu.pg)} msg/s; one worker core ≈ ${per(r.cpu.workers)} msg/s`);
  }
}
