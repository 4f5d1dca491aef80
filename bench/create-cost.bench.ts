/**
 * What one create costs, whatever the machine's load (issue 15): PostgreSQL statements and
 * transactions, Redis commands and the API's CPU per Beams publish
 * (`POST /publish_api/v1/instances/{i}/publishes/interests`) and per Pushpad notification create
 * (`POST /api/v1/projects/:id/notifications`), each to an interest/tag no subscriber has, as
 * bench/beams.bench.ts probes them while a broadcast runs.
 *
 * PostgreSQL and Redis are the benchmark's own (bench/private-servers.ts), so every statement
 * (pg_stat_statements), transaction (pg_stat_database) and command (INFO commandstats) counted is the
 * API's; the API is a process of its own and its CPU is read from /proc. Counts are exact and
 * load-independent; CPU µs per create is usable as a ratio within one run (not a latency).
 *
 *   npm run bench:create-cost                  # 500 creates of each, 20,000 subscribers with "news"
 *   npm run bench:create-cost -- 1000 100000   # creates, subscribers
 *   BENCH_COMPARE_TREE=/path/to/checkout npm run bench:create-cost   # before/after in one run: an API from that
 *       checkout too (same schema; its node_modules in place), each dialect measured on both, alternating
 *       BENCH_ROUNDS (default 2) times; CPU per create is then a same-run comparison
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { deriveSubscription } from '@pushcast/local-push-service';
import { insertWebSubscriptionsBulk } from '@pushcast/store';
import { benchDeployment, checkCompareTree, connectApi, freePort, gitLine, loadLine, log, machineLine, PG_SERVER, sleep } from './common.ts';
import { startPrivatePostgres, startPrivateRedis } from './private-servers.ts';
import { cpuSeconds, run, type Proc } from './proc.ts';

const CREATES = Number(process.argv[2] ?? 500);
const SUBSCRIBERS = Number(process.argv[3] ?? 20_000);
const WARMUP = 100;
const DATABASE = 'pushcast_bench_create_cost';
const PREFIX = `pushcast-bench-create-cost-${randomBytes(3).toString('hex')}`;
const BODY = 'x'.repeat(900);

log('# Pushcast: what one create costs (statements, transactions, Redis commands, API CPU)');
log(machineLine());
log(`command: npm run bench:create-cost -- ${CREATES} ${SUBSCRIBERS}`);
log(gitLine());
log(`${SUBSCRIBERS.toLocaleString('en')} web subscribers with the interest "news"; creates go to an interest no one has; ${loadLine()}`);

const procs: Proc[] = [];
const redisServer = await startPrivateRedis();
const pgServer = await startPrivatePostgres(PG_SERVER);
try {
  const push = run('packages/local-push-service/src/main.ts', { PORT: '0', DECRYPT: '0', RECORD: '0' });
  procs.push(push);
  const { origin, caFile } = JSON.parse(await push.firstLine()) as { origin: string; caFile: string };
  const { db, adminToken, port, env } = await benchDeployment({ database: DATABASE, prefix: PREFIX, caFile, pgServer: pgServer.url, redisUrl: redisServer.url });
  const profileDir = process.env.BENCH_PROFILE_DIR; // the API's V8 CPU profile (bench/profile-summary.ts)
  const api = run('apps/api/src/main.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' }, [], profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []);
  procs.push(api);
  const { call } = await connectApi(api, port, adminToken);
  const compareTree = process.env.BENCH_COMPARE_TREE;
  if (compareTree) checkCompareTree(compareTree);
  const apis: { tree: string; proc: Proc; root: string; call: typeof call }[] = [{ tree: '.', proc: api, root: `http://127.0.0.1:${port}`, call }];
  if (compareTree) {
    const otherPort = await freePort();
    const other = run(`${compareTree}/apps/api/src/main.ts`, { ...env, PORT: String(otherPort), HOST: '127.0.0.1' });
    procs.push(other);
    apis.push({ tree: compareTree, proc: other, root: `http://127.0.0.1:${otherPort}`, call: (await connectApi(other, otherPort, adminToken)).call });
  }
  const sender = (await call('POST', '/senders', { name: 'bench' })).body;
  const project = (await call('POST', '/projects', { sender_id: sender.id, name: 'Bench', website: 'https://bench.example' })).body;
  const instanceId: string = project.beams_instance_id;
  const secretKey: string = (await call('POST', `/projects/${project.id}/secret_keys`)).body.secret_key;
  for (let start = 0; start < SUBSCRIBERS; start += 10_000) {
    const subs = [];
    for (let i = start; i < Math.min(SUBSCRIBERS, start + 10_000); i += 1) subs.push({ ...deriveSubscription(origin, `b${i}`), tags: ['news'] });
    await insertWebSubscriptionsBulk(db, project.id, subs);
  }
  await db.query('VACUUM ANALYZE subscriptions');

  type Target = (typeof apis)[number];
  const beams = async ({ root }: Target) => {
    const res = await fetch(`${root}/publish_api/v1/instances/${instanceId}/publishes/interests`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secretKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        interests: ['nobody'],
        web: { time_to_live: 3600, notification: { title: 'Benchmark', body: BODY, deep_link: 'https://bench.example/article/42', icon: 'https://bench.example/icon.png' } },
      }),
    });
    if (res.status !== 200) throw new Error(`publish failed: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const pushpad = async ({ call }: Target) => {
    const res = await call('POST', `/projects/${project.id}/notifications`, {
      title: 'Benchmark',
      body: BODY,
      target_url: 'https://bench.example/article/42',
      icon_url: 'https://bench.example/icon.png',
      ttl: 3600,
      tags: ['nobody'],
    });
    if (res.status !== 201) throw new Error(`create failed: ${JSON.stringify(res.body)}`);
  };

  const stats = new pg.Client({ connectionString: `${pgServer.url}/postgres` });
  await stats.connect();
  await stats.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisServer.url);
  const dbOid = (await stats.query<{ oid: number }>(`SELECT oid FROM pg_database WHERE datname = $1`, [DATABASE])).rows[0]!.oid;
  const xacts = async () => {
    await stats.query('SELECT pg_stat_force_next_flush()').catch(() => {});
    const r = await stats.query<{ n: string }>(`SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datid = $1`, [dbOid]);
    return Number(r.rows[0]!.n);
  };

  /** Under Beams' 100 requests a second per instance: one create at most every 12 ms. */
  const paced = async (create: (t: Target) => Promise<void>, target: Target) => {
    const t = performance.now();
    await create(target);
    await sleep(Math.max(0, 12 - (performance.now() - t)));
  };
  const results: { tree: string; name: string; cpuUs: number; pgUs: number; statements: number; xacts: number; redis: number }[] = [];
  const measure = async (name: string, create: (t: Target) => Promise<void>, target: Target) => {
    const api = target.proc;
    for (let i = 0; i < WARMUP; i += 1) await paced(create, target);
    await sleep(11_000); // the API backends report their transactions to pg_stat_database when idle, within 10 s
    await stats.query('SELECT pg_stat_statements_reset()');
    await redis.config('RESETSTAT');
    const x0 = await xacts();
    const cpu0 = cpuSeconds(api.pid);
    const pg0 = pgServer.cpu();
    const redis0 = redisServer.cpu();
    const t0 = performance.now();
    for (let i = 0; i < CREATES; i += 1) await paced(create, target);
    const ms = performance.now() - t0;
    const cpu = cpuSeconds(api.pid) - cpu0;
    const pgCpu = pgServer.cpu() - pg0;
    const redisCpu = redisServer.cpu() - redis0;
    await sleep(11_000);
    const x = (await xacts()) - x0;
    const { rows } = await stats.query<{ calls: string; query: string; ms: number }>(
      `SELECT s.calls, s.query, s.mean_exec_time AS ms FROM pg_stat_statements s WHERE s.dbid = $1 ORDER BY s.calls DESC, s.query`,
      [dbOid],
    );
    const info = (await redis.info('commandstats')) as string;
    const commands = [...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)]
      .map((m) => ({ cmd: m[1]!, calls: Number(m[2]) }))
      .filter((c) => !['config', 'info'].includes(c.cmd))
      .sort((a, b) => b.calls - a.calls);
    const statements = rows.reduce((a, r) => a + Number(r.calls), 0);
    const redisCalls = commands.reduce((a, c) => a + c.calls, 0);
    results.push({ tree: target.tree, name, cpuUs: (cpu * 1e6) / CREATES, pgUs: (pgCpu * 1e6) / CREATES, statements: statements / CREATES, xacts: x / CREATES, redis: redisCalls / CREATES });
    log(`\n## ${name}: ${CREATES} sequential creates${target.tree === '.' ? '' : ` (API from ${target.tree})`}`);
    log(`per create: ${(statements / CREATES).toFixed(2)} statements, ${(x / CREATES).toFixed(2)} transactions, ${(redisCalls / CREATES).toFixed(2)} Redis commands, API CPU ${((cpu * 1e6) / CREATES).toFixed(0)} µs, PostgreSQL CPU ${((pgCpu * 1e6) / CREATES).toFixed(0)} µs, Redis CPU ${((redisCpu * 1e6) / CREATES).toFixed(0)} µs (each ±${(1e4 / CREATES).toFixed(0)} µs: /proc ticks), wall ${(ms / CREATES).toFixed(2)} ms (paced ≥ 12 ms; shared machine: not reliable)`);
    log('statements (calls ÷ creates, mean execution time on this shared machine):');
    for (const r of rows) log(`  ${(Number(r.calls) / CREATES).toFixed(2)}  ${r.ms.toFixed(3)} ms  ${r.query.replace(/\s+/g, ' ').slice(0, 160)}`);
    log(`Redis commands (calls ÷ creates): ${commands.map((c) => `${c.cmd} ${(c.calls / CREATES).toFixed(2)}`).join(', ')}`);
  };
  const rounds = compareTree ? Number(process.env.BENCH_ROUNDS ?? 2) : 1;
  for (let r = 0; r < rounds; r += 1) {
    for (const target of r % 2 === 0 ? [...apis].reverse() : apis) {
      await measure('Beams publishes/interests', beams, target);
      await measure('Pushpad notifications create', pushpad, target);
    }
  }
  if (compareTree) {
    log('\n## API and PostgreSQL CPU µs per create, same run (median of the rounds, each round in brackets); statements / transactions / Redis commands per create');
    log('| API | dialect | API CPU µs | PostgreSQL CPU µs | statements | transactions | Redis commands |\n|---|---|---|---|---|---|---|');
    const median = (xs: number[]) => {
      const v = [...xs].sort((a, b) => a - b);
      return (v[Math.floor((v.length - 1) / 2)]! + v[Math.ceil((v.length - 1) / 2)]!) / 2;
    };
    for (const { tree } of apis) {
      for (const name of ['Beams publishes/interests', 'Pushpad notifications create']) {
        const rs = results.filter((x) => x.tree === tree && x.name === name);
        log(`| ${tree === '.' ? 'this checkout' : tree} | ${name} | ${median(rs.map((x) => x.cpuUs)).toFixed(0)} (${rs.map((x) => x.cpuUs.toFixed(0)).join(', ')}) | ${median(rs.map((x) => x.pgUs)).toFixed(0)} (${rs.map((x) => x.pgUs.toFixed(0)).join(', ')}) | ${median(rs.map((x) => x.statements)).toFixed(2)} | ${median(rs.map((x) => x.xacts)).toFixed(2)} | ${median(rs.map((x) => x.redis)).toFixed(2)} |`);
      }
    }
  }
  log(`\n${loadLine()}`);
  await stats.end();
  redis.disconnect();
  await db.end();
} finally {
  for (const p of procs.reverse()) await p.stop();
  await pgServer.stop();
  await redisServer.stop();
}
