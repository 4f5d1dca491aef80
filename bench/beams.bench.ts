/**
 * Beams publish vs Pushpad broadcast (issue 15): the same audience (N web subscribers with the
 * interest/tag `news`), the same ~1 KB payload, through the same pipeline, each in processes of
 * their own (API, a fresh worker per round, the local push service), alternating in the same run.
 * It measures the worker's CPU per message of each, and the create latency of each dialect while
 * its broadcast runs: Beams' Publish API (a publish to an interest no device has, every 100 ms) and
 * Pushpad's notification create (likewise, to a tag no one has).
 *
 *   npm run bench:beams                       # 1,000,000 subscribers, 1 round of each
 *   npm run bench:beams -- 100000             # subscribers
 *   BENCH_ROUNDS=2 npm run bench:beams -- 100000   # Pushpad, Beams, Pushpad, Beams: medians
 *   BENCH_PROFILE_DIR=/tmp/prof npm run bench:beams -- 30000   # the workers' CPU profiles, in /tmp/prof/pushpad and /tmp/prof/beams
 *
 * Prints the machine, the command and the figures. Not a test: compare ratios, not absolutes.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { deriveSubscription } from '@pushcast/local-push-service';
import { insertWebSubscriptionsBulk } from '@pushcast/store';
import { benchDeployment, connectApi, dropRedisPrefix, gitLine, loadLine, log, machineLine, sleep } from './common.ts';
import { cpuSeconds, memoryMiB, percentile, run, type Proc } from './proc.ts';

const SUBSCRIBERS = Number(process.argv[2] ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
/** Its own database and Redis prefix: other benchmarks may run on the machine. */
const DATABASE = 'pushcast_bench_beams';
const PREFIX = `pushcast-bench-beams-${randomBytes(3).toString('hex')}`;
/** One create every this many ms while a broadcast runs (Beams allows 100 a second per instance). */
const PROBE_EVERY_MS = 100;
const BODY = 'x'.repeat(900);

async function seed(db: pg.Pool, origin: string, projectId: number): Promise<void> {
  const started = Date.now();
  const BATCH = 10_000;
  for (let start = 0; start < SUBSCRIBERS; start += BATCH) {
    const subs = [];
    for (let i = start; i < Math.min(SUBSCRIBERS, start + BATCH); i += 1) subs.push({ ...deriveSubscription(origin, `b${i}`), tags: ['news'] });
    await insertWebSubscriptionsBulk(db, projectId, subs);
    process.stderr.write(`\rseeding ${start + subs.length}/${SUBSCRIBERS}`);
  }
  await db.query('VACUUM ANALYZE subscriptions');
  process.stderr.write(`\rseeded ${SUBSCRIBERS} subscribers with the interest "news" in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

interface Round {
  readonly dialect: 'pushpad' | 'beams';
  readonly delivered: number;
  readonly seconds: number;
  readonly workerCpu: number;
  readonly apiCpu: number;
  readonly peakRss: number;
  /** Create latencies (ms) measured while the broadcast ran. */
  readonly latencies: number[];
}

log('# Pushcast: Beams publish vs Pushpad broadcast');
log(machineLine());
log(`command: BENCH_ROUNDS=${ROUNDS} npm run bench:beams -- ${SUBSCRIBERS}`);
log(gitLine());
log(`audience: ${SUBSCRIBERS.toLocaleString('en')} web subscribers with the interest (tag) "news", payload ~1 KB; ${loadLine()}`);

const procs: Proc[] = [];
try {
  const push = run('packages/local-push-service/src/main.ts', { PORT: '0', DECRYPT: '0', RECORD: '0' });
  procs.push(push);
  const { origin, caFile } = JSON.parse(await push.firstLine()) as { origin: string; caFile: string };
  const { db, adminToken, port, env: common } = await benchDeployment({ database: DATABASE, prefix: PREFIX, caFile });
  const api = run('apps/api/src/main.ts', { ...common, PORT: String(port), HOST: '127.0.0.1' });
  procs.push(api);
  const { call } = await connectApi(api, port, adminToken);
  const sender = (await call('POST', '/senders', { name: 'bench' })).body;
  const project = (await call('POST', '/projects', { sender_id: sender.id, name: 'Bench', website: 'https://bench.example' })).body;
  const instanceId: string = project.beams_instance_id;
  const secretKey: string = (await call('POST', `/projects/${project.id}/secret_keys`)).body.secret_key;
  await seed(db, origin, project.id);

  const root = `http://127.0.0.1:${port}`;
  const publish = async (interest: string) => {
    const res = await fetch(`${root}/publish_api/v1/instances/${instanceId}/publishes/interests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        interests: [interest],
        web: {
          time_to_live: 3600,
          notification: { title: 'Benchmark', body: BODY, deep_link: 'https://bench.example/article/42', icon: 'https://bench.example/icon.png' },
        },
      }),
    });
    const body = (await res.json()) as { publishId?: string };
    if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${JSON.stringify(body)}`);
    return body.publishId!;
  };
  const pushpad = async (tag: string) => {
    const res = await call('POST', `/projects/${project.id}/notifications`, {
      title: 'Benchmark',
      body: BODY,
      target_url: 'https://bench.example/article/42',
      icon_url: 'https://bench.example/icon.png',
      ttl: 3600,
      tags: [tag],
    });
    if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
    return res.body.id as number;
  };
  /** The Pushcast notification a publish became (newest of the project). */
  const notificationOf = async (publishId: string): Promise<number> => {
    const { rows } = await db.query<{ id: number }>(`SELECT id FROM notifications WHERE project_id = $1 AND external_id = $2`, [project.id, publishId]);
    return rows[0]!.id;
  };

  // BENCH_PROFILE_DIR=dir: each worker writes a V8 CPU profile there, named by its dialect (bench/profile-summary.ts).
  const profileDir = process.env.BENCH_PROFILE_DIR;
  const broadcast = async (dialect: Round['dialect']): Promise<Round> => {
    const worker = run('apps/worker/src/main.ts', common, [], profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}/${dialect}`] : []);
    procs.push(worker);
    await sleep(2000);
    const id = dialect === 'beams' ? await notificationOf(await publish('news')) : await pushpad('news');
    const cpu0 = cpuSeconds(worker.pid);
    const apiCpu0 = cpuSeconds(api.pid);
    const started = Date.now();
    // Creates of the same dialect meanwhile, to an audience of no one: the latency a caller sees
    // while the broadcast runs (each becomes an empty notification: planned, nothing to send).
    const latencies: number[] = [];
    let running = true;
    const probe = (async () => {
      for (let i = 0; running; i += 1) {
        const t0 = performance.now();
        if (dialect === 'beams') await publish('nobody');
        else await pushpad('nobody');
        latencies.push(performance.now() - t0);
        await sleep(Math.max(0, PROBE_EVERY_MS - (performance.now() - t0)));
      }
    })();
    let peakRss = 0;
    let delivered = 0;
    for (;;) {
      const n = (await call('GET', `/notifications/${id}`)).body;
      delivered = n.successfully_sent_count;
      const done = n.successfully_sent_count + n.failed_count + n.pruned_count + n.expired_count;
      peakRss = Math.max(peakRss, memoryMiB(worker.pid).rss);
      process.stderr.write(`\r  ${dialect}: ${done}/${SUBSCRIBERS}  ${(done / ((Date.now() - started) / 1000)).toFixed(0)} msg/s   `);
      if (done >= SUBSCRIBERS) break;
      await sleep(500);
    }
    const seconds = (Date.now() - started) / 1000;
    const workerCpu = cpuSeconds(worker.pid) - cpu0;
    const apiCpu = cpuSeconds(api.pid) - apiCpu0;
    running = false;
    await probe;
    process.stderr.write('\n');
    await worker.stop();
    latencies.sort((a, b) => a - b);
    return { dialect, delivered, seconds, workerCpu, apiCpu, peakRss, latencies };
  };

  const row = (x: Round) => {
    const name = x.dialect === 'beams' ? 'Beams publish to the interest' : 'Pushpad notification to the tag';
    const api = x.dialect === 'beams' ? 'Publish API' : 'Pushpad create';
    return `| ${name} | ${x.delivered.toLocaleString('en')} | ${x.seconds.toFixed(1)} | ${(x.delivered / x.seconds).toFixed(0)} | ${((x.workerCpu / x.delivered) * 1e6).toFixed(0)} | ${x.apiCpu.toFixed(1)} | ${x.peakRss.toFixed(0)} | ${x.latencies.length} (${api}) | ${percentile(x.latencies, 50).toFixed(1)} | ${percentile(x.latencies, 99).toFixed(1)} |`;
  };
  const rounds: Round[] = [];
  for (let r = 0; r < ROUNDS; r += 1) {
    // Alternating, Pushpad first in even rounds and Beams first in odd ones: drift on a shared machine falls on both.
    const order: Round['dialect'][] = r % 2 === 0 ? ['pushpad', 'beams'] : ['beams', 'pushpad'];
    for (const dialect of order) {
      const done = await broadcast(dialect);
      rounds.push(done);
      // Each broadcast's row as it ends: a long run cut short still leaves the rounds it finished.
      log(`round ${r + 1} ${dialect} done (${loadLine()}): ${row(done)}`);
    }
  }

  log('\n| broadcast | delivered | seconds | msgs/s | worker CPU µs/msg | API CPU s | worker peak RSS (MiB) | creates meanwhile | create p50 ms | create p99 ms |');
  log('|---|---|---|---|---|---|---|---|---|---|');
  for (const x of rounds) log(row(x));
  const median = (xs: number[]) => {
    const sorted = [...xs].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const perMsg = (d: Round['dialect']) => median(rounds.filter((x) => x.dialect === d).map((x) => (x.workerCpu / x.delivered) * 1e6));
  const p99 = (d: Round['dialect']) => median(rounds.filter((x) => x.dialect === d).map((x) => percentile(x.latencies, 99)));
  log(
    `\nBeams vs Pushpad, medians of ${ROUNDS} round(s): worker CPU ${perMsg('beams').toFixed(0)} vs ${perMsg('pushpad').toFixed(0)} µs/msg ` +
      `(${((perMsg('beams') / perMsg('pushpad') - 1) * 100).toFixed(1)} %); Publish API p99 ${p99('beams').toFixed(1)} ms while the publish ran ` +
      `(Pushpad create p99 ${p99('pushpad').toFixed(1)} ms while its broadcast ran)`,
  );
  await db.end();
} finally {
  for (const p of procs.reverse()) await p.stop();
  await dropRedisPrefix(PREFIX).catch(() => 0);
}
