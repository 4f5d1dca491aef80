/**
 * End-to-end Web Push broadcast benchmark: API → plan job → chunk jobs → worker → local push
 * service, each in a process of its own, and in the same run two yardsticks over the same
 * subscribers and payload: the lean sender (bench/lean-web-push.ts: web-push's encryption, one
 * VAPID header, one HTTP/2 session with 200 streams in flight, no queues; issue 18 wants the worker
 * within 1.15× of its CPU per message) and the baseline a user would write (web-push
 * `sendNotification`, bounded concurrency).
 *
 *   npm run bench:web                    # 1,000,000 subscribers, baseline over the first 100,000
 *   npm run bench:web -- 200000 50000    # subscribers, baseline subscribers [, lean-sender subscribers: all by default]
 *   BENCH_WARMUP=2000 (default)          # first, a small broadcast of that many subscribers (another project) by a fresh worker, and the lean sender's over them (0: none)
 *   BENCH_DATABASE=pushcast_bench_me     # the database this run drops and creates (default pushcast_bench)
 *   BENCH_PROFILE_DIR=dir                # the worker writes a V8 CPU profile there (bench/profile-summary.ts)
 *   BENCH_COMPARE_TREE=/path/to/checkout # before/after in one run: the warm-up and the broadcast also by a worker started from that
 *                                        # checkout (same schema; its node_modules in place), alternating BENCH_ROUNDS (default 1) times
 *   BENCH_COMPARE_ENV='{"PUSH_MAX_IN_FLIGHT_PER_ORIGIN":"64"}'   # the same, by this checkout's worker with these variables set
 *   BENCH_PUSH_LATENCY_MS=50             # the local push service answers that late, as a push service far away would
 *   BENCH_WEBHOOKS=1 [BENCH_ROUNDS=3] npm run bench:web   # the broadcast without, then with a webhook taking every event (alternating, that many rounds)
 *   BENCH_RECORDS=1 [BENCH_ROUNDS=3] npm run bench:web    # record_deliveries "failures" (nothing to write when all are delivered), then "all" (a record per delivery), alternating
 * (`npm run bench` runs this and then bench/mobile.bench.ts, see bench/all.ts.)
 *
 * Prints the machine, the command and the figures. Not a test: compare ratios, not absolutes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicKey, randomBytes } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { createLocalCertificate } from '@pushcast/local-tls';
import type pg from 'pg';
import { deriveSubscription } from '@pushcast/local-push-service';
import { insertWebSubscriptionsBulk } from '@pushcast/store';
import { benchDeployment, checkCompareTree, connectApi, dropRedisPrefix, gitLine, loadLine, log, machineLine } from './common.ts';
import { cpuSeconds, memoryMiB, percentile, run, type Proc } from './proc.ts';

const SUBSCRIBERS = Number(process.argv[2] ?? 1_000_000);
const BASELINE = Math.min(SUBSCRIBERS, Number(process.argv[3] ?? 100_000));
const LEAN = Math.min(SUBSCRIBERS, Number(process.argv[4] ?? SUBSCRIBERS));
const WARMUP = Number(process.env.BENCH_WARMUP ?? 2000);
const CREATE_SAMPLES = 200;
/** Dropped and created by the run: concurrent runs need names of their own. */
const DATABASE = process.env.BENCH_DATABASE || 'pushcast_bench';
const PREFIX = `pushcast-bench-${randomBytes(3).toString('hex')}`;
/** BENCH_WEBHOOKS=1: the broadcast runs twice in the same run, without and then with a webhook. */
const WEBHOOKS = process.env.BENCH_WEBHOOKS === '1';
/** BENCH_RECORDS=1: the broadcast with record_deliveries "failures", then "all" (a delivery record per recipient). */
const RECORDS = process.env.BENCH_RECORDS === '1';
/** BENCH_PUSH_LATENCY_MS: how late the local push service answers (a push service tens of milliseconds away). */
const LATENCY_MS = Number(process.env.BENCH_PUSH_LATENCY_MS ?? 0);
/** BENCH_COMPARE_ENV: the compared worker is this checkout's, with these variables. */
const COMPARE_ENV = process.env.BENCH_COMPARE_ENV ? (JSON.parse(process.env.BENCH_COMPARE_ENV) as Record<string, string>) : undefined;

/** A local HTTPS webhook receiver answering 204; counts what it got. */
async function startReceiver(): Promise<{ url: string; caPem: string; count: () => number; close(): Promise<void> }> {
  const cert = await createLocalCertificate('bench-webhooks');
  let received = 0;
  const server = createHttpsServer({ key: cert.keyPem, cert: cert.certPem }, (req, res) => {
    req.resume();
    req.on('end', () => {
      received += 1;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `https://127.0.0.1:${(server.address() as { port: number }).port}/hook`,
    caPem: cert.certPem,
    count: () => received,
    close: async () => {
      server.close();
      await cert.remove();
    },
  };
}

async function seed(db: pg.Pool, origin: string, projectId: number, count: number, idPrefix: string): Promise<void> {
  const started = Date.now();
  const BATCH = 10_000;
  for (let start = 0; start < count; start += BATCH) {
    const subs = [];
    for (let i = start; i < Math.min(count, start + BATCH); i += 1) subs.push(deriveSubscription(origin, `${idPrefix}${i}`));
    await insertWebSubscriptionsBulk(db, projectId, subs);
    if ((start / BATCH) % 10 === 0) process.stderr.write(`\rseeding ${start + subs.length}/${count}`);
  }
  await db.query('VACUUM ANALYZE subscriptions');
  process.stderr.write(`\rseeded ${count} subscribers in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

/** The GC observer's last reading (bench/gc-observer.mjs): main-thread GC pauses and process CPU, ms. */
type GcReading = { gcMs: number; activeMs: number; cpuMs: number };
function readGc(file: string): GcReading & { seq: number } {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as GcReading & { seq: number };
  } catch {
    return { gcMs: NaN, activeMs: NaN, cpuMs: NaN, seq: 0 };
  }
}
/** Asks process `pid`'s GC observer for a reading now (SIGUSR2) and waits for it. */
async function gcNow(pid: number, file: string): Promise<GcReading> {
  const before = readGc(file).seq;
  process.kill(pid, 'SIGUSR2');
  for (let i = 0; i < 100; i += 1) {
    const r = readGc(file);
    if (r.seq > before) return r;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { gcMs: NaN, activeMs: NaN, cpuMs: NaN };
}
const GC_PRELOAD = ['--import', './bench/gc-observer.mjs'];
/** Main-thread GC pauses ÷ event-loop active time over the window (both wall-clock: see bench/gc-observer.mjs). */
const gcShare = (a: GcReading, b: GcReading) => (b.gcMs - a.gcMs) / (b.activeMs - a.activeMs);

/**
 * Waits until a fresh worker has finished starting: at least 2 s, then until its CPU over half a
 * second is under 10 % of a core (at most 30 s; a CPU profiler alone keeps it above 5 %). A fixed 2 s was not enough on a loaded machine:
 * the worker was still loading and transpiling its modules when the broadcast was created, and
 * that start-up CPU was counted as the broadcast's warm-up (the lean sender's figure leaves its
 * module loading out).
 */
async function startedUp(pid: number): Promise<void> {
  await new Promise((r) => setTimeout(r, 2000));
  const deadline = Date.now() + 30_000;
  let last = cpuSeconds(pid);
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    const now = cpuSeconds(pid);
    if (now - last < 0.05) return;
    last = now;
  }
}

/** Samples a process's CPU and memory while `until` is false. */
async function watch(proc: Proc, progress: () => Promise<number>, target: number) {
  const cpu0 = cpuSeconds(proc.pid);
  const started = Date.now();
  let rssAtTenth = 0;
  let maxRss = 0;
  let lastPrint = 0;
  for (;;) {
    const done = await progress();
    const { rss } = memoryMiB(proc.pid);
    maxRss = Math.max(maxRss, rss);
    if (!rssAtTenth && done >= target / 10) rssAtTenth = rss;
    if (process.stderr.isTTY || Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      process.stderr.write(`${process.stderr.isTTY ? '\r' : ''}  ${done}/${target}  ${(done / ((Date.now() - started) / 1000)).toFixed(0)} msg/s  rss ${rss.toFixed(0)} MiB${process.stderr.isTTY ? '   ' : '\n'}`);
    }
    if (done >= target) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  process.stderr.write('\n');
  const seconds = (Date.now() - started) / 1000;
  const cpu = cpuSeconds(proc.pid) - cpu0;
  return { seconds, cpu, rssAtTenth, maxRss, peak: memoryMiB(proc.pid).peak };
}

log(`# Pushcast broadcast benchmark`);
log(machineLine());
log(`command: ${WARMUP !== 2000 ? `BENCH_WARMUP=${WARMUP} ` : ''}${LATENCY_MS ? `BENCH_PUSH_LATENCY_MS=${LATENCY_MS} ` : ''}${COMPARE_ENV ? `BENCH_COMPARE_ENV='${JSON.stringify(COMPARE_ENV)}' ` : ''}npm run bench:web -- ${SUBSCRIBERS} ${BASELINE} ${LEAN}  (${loadLine()})`);
log(gitLine());
log(`subscribers: ${SUBSCRIBERS.toLocaleString('en')} (distinct keys), lean sender over the first ${LEAN.toLocaleString('en')}, baseline over the first ${BASELINE.toLocaleString('en')}, payload ~1 KB; warm-up broadcast: ${WARMUP.toLocaleString('en')} subscribers`);

const procs: Proc[] = [];
try {
  const push = run('packages/local-push-service/src/main.ts', { PORT: '0', DECRYPT: '0', RECORD: '0', LATENCY_MS: String(LATENCY_MS) });
  procs.push(push);
  const { origin, caFile } = JSON.parse(await push.firstLine()) as { origin: string; caFile: string };

  const receiver = WEBHOOKS ? await startReceiver() : null;
  let trusted = caFile;
  if (receiver) {
    trusted = join(mkdtempSync(join(tmpdir(), 'pushcast-bench-ca-')), 'ca.pem');
    writeFileSync(trusted, readFileSync(caFile, 'utf8') + receiver.caPem);
  }

  const { databaseUrl: DATABASE_URL, db, adminToken, port, env: common } = await benchDeployment({ database: DATABASE, prefix: PREFIX, caFile: trusted });
  const api = run('apps/api/src/main.ts', { ...common, PORT: String(port), HOST: '127.0.0.1' });
  procs.push(api);
  const { call } = await connectApi(api, port, adminToken);
  const sender = (await call('POST', '/senders', { name: 'bench' })).body;
  const project = (await call('POST', '/projects', { sender_id: sender.id, name: 'Bench', website: 'https://bench.example' })).body;
  await seed(db, origin, project.id, SUBSCRIBERS, 'b');
  // The warm-up broadcast's own project (same sender): most broadcasts are small, and a fresh worker's first seconds count.
  const small = WARMUP > 0 ? (await call('POST', '/projects', { sender_id: sender.id, name: 'Bench warm-up', website: 'https://bench.example' })).body : null;
  if (small) await seed(db, origin, small.id, WARMUP, 'w');
  const gcDir = mkdtempSync(join(tmpdir(), 'pushcast-bench-gc-'));
  let gcFiles = 0;

  const notification = {
    title: 'Benchmark',
    body: 'x'.repeat(900),
    target_url: 'https://bench.example/article/42',
    icon_url: 'https://bench.example/icon.png',
    ttl: 3600,
  };

  // 1. Create latency on the full project, with no worker running (each is cancelled at once).
  const latencies: number[] = [];
  for (let i = 0; i < CREATE_SAMPLES; i += 1) {
    const t0 = performance.now();
    const res = await call('POST', `/projects/${project.id}/notifications`, notification);
    latencies.push(performance.now() - t0);
    if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
    const cancelled = await call('DELETE', `/notifications/${res.body.id}/cancel`);
    if (cancelled.status !== 204) throw new Error(`cancel failed: ${JSON.stringify(cancelled.body)}`);
  }
  latencies.sort((a, b) => a - b);

  // 2. The broadcast through Pushcast (with BENCH_WEBHOOKS=1, again with a webhook taking every event).
  // BENCH_PROFILE_DIR=dir: the worker writes a V8 CPU profile there (see bench/profile-summary.ts).
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const withHooks: { result: Awaited<ReturnType<typeof watch>> & { gc: number }; final: any }[] = [];
  const broadcast = async (label: string, projectId = project.id, target = SUBSCRIBERS, tree = '.', env: Record<string, string> = {}) => {
    const gcFile = join(gcDir, `worker-${(gcFiles += 1)}.json`);
    const worker = run(`${tree}/apps/worker/src/main.ts`, { ...common, ...env, BENCH_GC_FILE: gcFile }, [], [...GC_PRELOAD, ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]);
    procs.push(worker);
    await startedUp(worker.pid);
    const gc0 = await gcNow(worker.pid, gcFile);
    const created = await call('POST', `/projects/${projectId}/notifications`, notification);
    const progress = async () => {
      const n = (await call('GET', `/notifications/${created.body.id}`)).body;
      return n.successfully_sent_count + n.failed_count + n.pruned_count + n.expired_count;
    };
    log(`\nPushcast broadcast${label} (scheduled ${created.body.scheduled}):`);
    const watched = await watch(worker, progress, target);
    const result = { ...watched, gc: gcShare(gc0, await gcNow(worker.pid, gcFile)) };
    const n = (await call('GET', `/notifications/${created.body.id}`)).body;
    if (receiver && label) {
      // created, sending, completed: wait for the last one before stopping the worker.
      const target = (withHooks.length + 1) * 3; // three events a round
      for (let i = 0; i < 100 && receiver.count() < target; i += 1) await new Promise((r) => setTimeout(r, 100));
      log(`webhook requests received so far: ${receiver.count()}`);
    }
    await worker.stop();
    return { result, final: n };
  };
  // A fresh worker's first broadcast, a small one: JIT warm-up, connections, the first chunks.
  const warm = small ? await broadcast(` of ${WARMUP.toLocaleString('en')} (warm-up, a fresh worker)`, small.id, WARMUP) : null;
  const { result: ours, final } = await broadcast('');
  // BENCH_COMPARE_TREE / BENCH_COMPARE_ENV: the same two broadcasts by the other worker, then again by this one's, alternating.
  if (process.env.BENCH_COMPARE_TREE) checkCompareTree(process.env.BENCH_COMPARE_TREE);
  const compareTree = process.env.BENCH_COMPARE_TREE ?? (COMPARE_ENV ? `this checkout with ${JSON.stringify(COMPARE_ENV)}` : undefined);
  const compared: { tree: string; warm: number; main: number; warmGc: number; mainGc: number; rate: number }[] = [];
  if (compareTree) {
    const perMsg = (x: { result: { cpu: number }; final: any }) => (x.result.cpu / x.final.successfully_sent_count) * 1e6;
    const rate = (x: { result: { seconds: number }; final: any }) => x.final.successfully_sent_count / x.result.seconds;
    compared.push({ tree: '.', warm: warm ? perMsg(warm) : NaN, main: perMsg({ result: ours, final }), warmGc: warm?.result.gc ?? NaN, mainGc: ours.gc, rate: rate({ result: ours, final }) });
    const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
    for (let r = 0; r < rounds; r += 1) {
      for (const tree of r === 0 ? [compareTree] : [compareTree, '.']) {
        const label = tree === '.' ? ' (this checkout again)' : ` (worker: ${tree})`;
        const [dir, env] = tree === '.' || !COMPARE_ENV ? [tree, {}] : ['.', COMPARE_ENV];
        const w = small ? await broadcast(` of ${WARMUP.toLocaleString('en')} (warm-up)${label}`, small.id, WARMUP, dir, env) : null;
        const m = await broadcast(label, project.id, SUBSCRIBERS, dir, env);
        compared.push({ tree, warm: w ? perMsg(w) : NaN, main: perMsg(m), warmGc: w?.result.gc ?? NaN, mainGc: m.result.gc, rate: rate(m) });
      }
    }
  }
  // BENCH_ROUNDS (with BENCH_WEBHOOKS=1): without and with the webhook, alternating, that many times.
  const without = [{ result: ours, final }];
  if (receiver) {
    const hook = await call('POST', `/projects/${project.id}/webhooks`, { url: receiver.url });
    if (hook.status !== 201) throw new Error(`webhook not created: ${JSON.stringify(hook.body)}`);
    const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
    for (let r = 0; r < rounds; r += 1) {
      if (r > 0) {
        await call('PATCH', `/projects/${project.id}/webhooks/${hook.body.id}`, { enabled: false });
        without.push(await broadcast(''));
        await call('PATCH', `/projects/${project.id}/webhooks/${hook.body.id}`, { enabled: true });
      }
      const before = receiver.count();
      withHooks.push(await broadcast(' with a webhook'));
      if (receiver.count() - before < 3) log(`(only ${receiver.count() - before} webhook requests in that round)`);
    }
    await receiver.close();
  } else if (RECORDS) {
    const recordDeliveries = async (mode: 'failures' | 'all') => {
      const res = await call('PATCH', `/projects/${project.id}`, { record_deliveries: mode });
      if (res.status !== 200) throw new Error(`record_deliveries not set: ${JSON.stringify(res.body)}`);
    };
    const rounds = Number(process.env.BENCH_ROUNDS ?? 1);
    for (let r = 0; r < rounds; r += 1) {
      if (r > 0) {
        await recordDeliveries('failures');
        without.push(await broadcast(''));
      }
      await recordDeliveries('all');
      withHooks.push(await broadcast(' recording every delivery'));
    }
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM delivery_records`);
    log(`delivery records written: ${rows[0]!.n.toLocaleString('en')}`);
  }

  const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-'));
  writeFileSync(join(dir, 'payload.json'), JSON.stringify({ ...notification, id: 1 }));
  // The sender's keys as the API answers them (the private key is sealed in PostgreSQL).
  const jwk = createPublicKey(sender.vapid_public_key).export({ format: 'jwk' });
  const { createPrivateKey } = await import('node:crypto');
  const priv = createPrivateKey(sender.vapid_private_key).export({ format: 'jwk' });
  const vapidPublic = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString('base64url');

  // 3. The lean sender, a fresh process each time: over the warm-up project, then over the first LEAN subscribers.
  const lean = async (projectId: number, limit: number) => {
    const proc = run(
      'bench/lean-web-push.ts',
      {
        DATABASE_URL,
        PROJECT_ID: String(projectId),
        LIMIT: String(limit),
        PAYLOAD_FILE: join(dir, 'payload.json'),
        VAPID_PUBLIC: vapidPublic,
        VAPID_PRIVATE: priv.d!,
        IN_FLIGHT: '200',
        NODE_EXTRA_CA_CERTS: caFile,
      },
    );
    procs.push(proc);
    const res = JSON.parse(await proc.firstLine()) as { delivered: number; failed: number; seconds: number; cpuSeconds: number; gcSeconds: number; activeSeconds: number };
    await proc.exited;
    return { ...res, gc: res.gcSeconds / res.activeSeconds };
  };
  log(`\nlean sender (web-push encrypt, one VAPID header, one HTTP/2 session, 200 streams in flight):`);
  const leanWarm = small ? await lean(small.id, WARMUP) : null;
  const leanMain = await lean(project.id, LEAN);

  // 4. The baseline over the first BASELINE subscribers.
  const baseline = run('bench/baseline-web-push.ts', {
    DATABASE_URL,
    PROJECT_ID: String(project.id),
    LIMIT: String(BASELINE),
    PAYLOAD_FILE: join(dir, 'payload.json'),
    VAPID_PUBLIC: vapidPublic,
    VAPID_PRIVATE: priv.d!,
    CONCURRENCY: '200',
    NODE_EXTRA_CA_CERTS: caFile,
  });
  procs.push(baseline);
  log(`\nbaseline: web-push sendNotification, 200 concurrent:`);
  const cpu0 = cpuSeconds(baseline.pid);
  let baseCpu = 0;
  let basePeak = 0;
  let baseRss10 = 0;
  const t0 = Date.now();
  const resultLine = baseline.firstLine();
  let done = false;
  void resultLine.then(() => (done = true), () => (done = true));
  while (!done) {
    try {
      baseCpu = cpuSeconds(baseline.pid) - cpu0;
      const m = memoryMiB(baseline.pid);
      basePeak = m.peak;
      if (!baseRss10 && Date.now() - t0 > 5000) baseRss10 = m.rss;
    } catch {
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const baseResult = JSON.parse(await resultLine) as { delivered: number; failed: number; seconds: number };

  const row = (name: string, delivered: number, seconds: number, cpu: number, rss10: number, peak: number) =>
    `| ${name} | ${delivered.toLocaleString('en')} | ${(delivered / seconds).toFixed(0)} | ${((cpu / delivered) * 1e6).toFixed(0)} | ${rss10.toFixed(0)} | ${peak.toFixed(0)} |`;
  log('\n| sender | delivered | msgs/s | worker CPU µs/msg | RSS at 10% (MiB) | peak RSS (MiB) |');
  log('|---|---|---|---|---|---|');
  log(row('Pushcast (API + queues + worker)', final.successfully_sent_count, ours.seconds, ours.cpu, ours.rssAtTenth, ours.peak));
  for (const [i, w] of withHooks.entries()) {
    if (i > 0) {
      const o = without[i]!;
      log(row('Pushcast, again without', o.final.successfully_sent_count, o.result.seconds, o.result.cpu, o.result.rssAtTenth, o.result.peak));
    }
    log(row(RECORDS ? 'Pushcast recording every delivery' : 'Pushcast with a webhook (every event)', w.final.successfully_sent_count, w.result.seconds, w.result.cpu, w.result.rssAtTenth, w.result.peak));
  }
  if (withHooks.length > 0) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const perMsg = (runs: typeof without) => median(runs.map((x) => (x.result.cpu / x.final.successfully_sent_count) * 1e6));
    const rate = (runs: typeof without) => median(runs.map((x) => x.final.successfully_sent_count / x.result.seconds));
    log(`${RECORDS ? 'record_deliveries all vs failures' : 'webhooks on vs off'}, medians of ${withHooks.length} rounds: worker CPU ${perMsg(withHooks).toFixed(0)} vs ${perMsg(without).toFixed(0)} µs/msg (${(((perMsg(withHooks) / perMsg(without)) - 1) * 100).toFixed(1)} %), ${rate(withHooks).toFixed(0)} vs ${rate(without).toFixed(0)} msgs/s (${(((rate(withHooks) / rate(without)) - 1) * 100).toFixed(1)} %)`);
  }
  log(row('baseline: web-push sendNotification', baseResult.delivered, baseResult.seconds, baseCpu, baseRss10, basePeak));

  if (compared.length > 0) {
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const of = (tree: string, k: 'warm' | 'main' | 'warmGc' | 'mainGc' | 'rate') => median(compared.filter((c) => c.tree === tree).map((c) => c[k]));
    log(`\nbefore/after in this run (worker CPU per delivered message; medians of ${compared.filter((c) => c.tree === '.').length} vs ${compared.filter((c) => c.tree !== '.').length} broadcasts, alternating):`);
    log('| worker | warm-up µs/msg | GC | broadcast µs/msg | GC | broadcast msg/s |');
    log('|---|---|---|---|---|---|');
    for (const tree of [compareTree!, '.']) log(`| ${tree === '.' ? `this checkout (${gitLine().replace('code: ', '')})` : tree} | ${of(tree, 'warm').toFixed(0)} | ${(of(tree, 'warmGc') * 100).toFixed(1)} % | ${of(tree, 'main').toFixed(0)} | ${(of(tree, 'mainGc') * 100).toFixed(1)} % | ${of(tree, 'rate').toFixed(0)} |`);
    log(`this ÷ compared: warm-up ${(of('.', 'warm') / of(compareTree!, 'warm')).toFixed(3)}×, broadcast ${(of('.', 'main') / of(compareTree!, 'main')).toFixed(3)}×, broadcast msg/s ${(of('.', 'rate') / of(compareTree!, 'rate')).toFixed(3)}×`);
    // Each broadcast, in the order run: the first is this checkout's on a cold database, and a
    // median of two is the larger of the two.
    log(`each, in order: ${compared.map((c) => `${c.tree === '.' ? 'this' : 'compared'} ${c.main.toFixed(0)} µs ${(c.mainGc * 100).toFixed(1)} % ${c.rate.toFixed(0)}/s`).join('; ')}`);
  }

  // Issue 18's yardstick: CPU per delivered message, worker ÷ lean sender, and the GC share of each.
  const us = (cpu: number, delivered: number) => (cpu / delivered) * 1e6;
  const pct = (x: number) => `${(x * 100).toFixed(1)} %`;
  log('\n| CPU per delivered message | worker µs | lean sender µs | worker ÷ lean | worker GC share | lean GC share |');
  log('|---|---|---|---|---|---|');
  if (warm && leanWarm) {
    const w = us(warm.result.cpu, warm.final.successfully_sent_count);
    const l = us(leanWarm.cpuSeconds, leanWarm.delivered);
    log(`| warm-up: ${WARMUP.toLocaleString('en')} subscribers, fresh processes | ${w.toFixed(0)} | ${l.toFixed(0)} | ${(w / l).toFixed(2)}× | ${pct(warm.result.gc)} | ${pct(leanWarm.gc)} |`);
  }
  {
    const w = us(ours.cpu, final.successfully_sent_count);
    const l = us(leanMain.cpuSeconds, leanMain.delivered);
    log(`| broadcast: ${SUBSCRIBERS.toLocaleString('en')} (lean over ${leanMain.delivered.toLocaleString('en')}) | ${w.toFixed(0)} | ${l.toFixed(0)} | ${(w / l).toFixed(2)}× | ${pct(ours.gc)} | ${pct(leanMain.gc)} |`);
  }
  log(`(worker: /proc CPU of the process from the broadcast's creation to its last outcome; lean sender: its own process.cpuUsage() from its first query to its last answer, a fresh process; GC share: main-thread GC pauses (perf_hooks) ÷ event-loop active time (ELU), both wall-clock. Lean sender: ${leanMain.delivered.toLocaleString('en')} delivered, ${leanMain.failed} failed, ${(leanMain.delivered / leanMain.seconds).toFixed(0)} msg/s wall clock.)`);
  if (final.successfully_sent_count !== SUBSCRIBERS || leanMain.delivered !== LEAN) log(`NOTE: not everything was delivered (worker ${final.successfully_sent_count}/${SUBSCRIBERS}, lean ${leanMain.delivered}/${LEAN}).`);
  log(`\nPushcast statistics: ${JSON.stringify({ scheduled: final.scheduled_count, delivered: final.successfully_sent_count, failed: final.failed_count, failures: final.failures })}`);
  log(`create latency on a ${SUBSCRIBERS.toLocaleString('en')}-subscription project (${CREATE_SAMPLES} creates, no worker): p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, max ${latencies[latencies.length - 1]!.toFixed(1)} ms`);
  await db.end();
  rmSync(gcDir, { recursive: true, force: true });
} finally {
  for (const p of procs.reverse()) await p.stop();
  await dropRedisPrefix(PREFIX).catch(() => 0);
}
