/**
 * The console's project page on a large project, idle and while a broadcast to every subscriber of
 * that project runs: the latency of each API call the page makes (issue 17's target: p99 under
 * 300 ms at 1,000,000 subscribers), a page load every 500 ms (BENCH_PACE_MS), one at a time: twice
 * what a person watching a broadcast causes (the console polls once a second); the page's calls go
 * out together, as the console sends them. In the same run, as a
 * baseline: the same page with no broadcast, and the exact count the page would need without the
 * maintained statistics (HEAD /projects/:id/subscriptions, a COUNT(*) over the project).
 *
 *   npm run bench:console                 # 200,000 subscribers
 *   npm run bench:console -- 1000000      # subscribers
 *
 * API, worker and the local push service each in a process of their own. Prints the machine, the
 * command and the figures. Not a test: on a shared machine compare ratios, not absolutes.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { deriveSubscription } from '@pushcast/local-push-service';
import { insertWebSubscriptionsBulk } from '@pushcast/store';
import { benchDeployment, connectApi, dropRedisPrefix, fmt, freePort, gitLine, loadLine, log, machineLine, sleep } from './common.ts';
import { percentile, run, type Proc } from './proc.ts';

const SUBSCRIBERS = Number(process.argv[2] ?? 200_000);
const IDLE_PAGES = 60;
/** A page load starts every PACE_MS (the console polls a running notification once a second: this is two people watching). */
const PACE_MS = Number(process.env.BENCH_PACE_MS ?? 500);
const COUNT_SAMPLES = 10;
const DATABASE = 'pushcast_bench_console';
const PREFIX = `pushcast-bench-console-${randomBytes(3).toString('hex')}`;

async function seed(db: pg.Pool, origin: string, projectId: number): Promise<void> {
  const started = Date.now();
  const BATCH = 10_000;
  for (let start = 0; start < SUBSCRIBERS; start += BATCH) {
    const subs = [];
    for (let i = start; i < Math.min(SUBSCRIBERS, start + BATCH); i += 1) {
      subs.push({ ...deriveSubscription(origin, `c${i}`), uid: `user-${i}`, tags: i % 10 === 0 ? ['news', 'vip'] : i % 2 === 0 ? ['news'] : ['sport'] });
    }
    await insertWebSubscriptionsBulk(db, projectId, subs);
    process.stderr.write(`\rseeding ${start + subs.length}/${SUBSCRIBERS}`);
  }
  await db.query('VACUUM ANALYZE subscriptions');
  process.stderr.write(`\rseeded ${SUBSCRIBERS} subscribers in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
}

type Timings = Map<string, number[]>;
const record = (t: Timings, route: string, ms: number) => (t.get(route) ?? t.set(route, []).get(route)!).push(ms);

log('# Console page benchmark');
log(machineLine());
log(`command: npm run bench:console -- ${SUBSCRIBERS}`);
log(gitLine());
log(`subscribers: ${SUBSCRIBERS.toLocaleString('en')} web, in one project; ${loadLine()} at the start`);

const procs: Proc[] = [];
try {
  const push = run('packages/local-push-service/src/main.ts', { PORT: '0', DECRYPT: '0', RECORD: '0' });
  procs.push(push);
  const { origin, caFile } = JSON.parse(await push.firstLine()) as { origin: string; caFile: string };
  const { db, adminToken, port, env: common } = await benchDeployment({
    database: DATABASE,
    prefix: PREFIX,
    caFile,
    // The page polls; a person watching it is far below the API's per-token limit, this loop is not.
    env: { API_RATE_LIMIT_PER_MINUTE: '0' },
  });
  const api = run('apps/api/src/main.ts', { ...common, PORT: String(port), HOST: '127.0.0.1' });
  procs.push(api);
  const { call } = await connectApi(api, port, adminToken);
  const sender = (await call('POST', '/senders', { name: 'bench' })).body;
  const project = (
    await call('POST', '/projects', { sender_id: sender.id, name: 'Bench', website: 'https://bench.example', quota_hourly: 0, quota_daily: 0 })
  ).body;
  const id = project.id as number;
  // A webhook whose receiver never answers (nothing listens there): its attempts are on the page too.
  const hook = await call('POST', `/projects/${id}/webhooks`, { url: `http://127.0.0.1:${await freePort()}/hook`, events: ['notification.*'] });
  if (hook.status !== 201) throw new Error(`webhook not created: ${JSON.stringify(hook.body)}`);
  await seed(db, origin, id);
  // Earlier notifications, so that "recent notifications" has a page of them.
  for (let i = 0; i < 10; i += 1) await call('POST', `/projects/${id}/notifications`, { body: `earlier ${i}`, tags: ['nobody'] });

  /** One load of the project page, its calls at once as the console makes them; `running` adds that notification's poll. */
  const pageLoad = async (t: Timings, running: number | null, compose: boolean) => {
    const timed = async (route: string, path: string, method = 'GET') => {
      const t0 = performance.now();
      const res = await call(method, path);
      record(t, route, performance.now() - t0);
      if (res.status >= 400) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const t0 = performance.now();
    await Promise.all([
      timed('GET /projects/:id', `/projects/${id}`),
      timed('GET /projects/:id/stats', `/projects/${id}/stats?days=30`),
      timed('GET /projects/:id/notifications', `/projects/${id}/notifications?per_page=10`),
      timed('GET /projects/:id/quota', `/projects/${id}/quota`),
      timed('GET /projects/:id/webhooks', `/projects/${id}/webhooks`).then((hooks: { id: number }[]) =>
        Promise.all(hooks.map((h) => timed('GET …/webhooks/:wid/attempts', `/projects/${id}/webhooks/${h.id}/attempts?per_page=3`))),
      ),
      timed('GET /stats/projects', `/stats/projects`),
      running === null ? null : timed('GET /notifications/:id', `/notifications/${running}`),
      compose ? timed('GET /projects/:id/audience (tags)', `/projects/${id}/audience?tags[]=${encodeURIComponent('news && !vip')}`) : null,
    ]);
    record(t, 'the whole page', performance.now() - t0);
  };

  // 1. Idle: no broadcast, no worker.
  const idle: Timings = new Map();
  for (let i = 0; i < IDLE_PAGES; i += 1) {
    const next = sleep(PACE_MS);
    await pageLoad(idle, null, i % 4 === 0);
    await next;
  }
  const counting: number[] = [];
  for (let i = 0; i < COUNT_SAMPLES; i += 1) {
    const t0 = performance.now();
    await call('HEAD', `/projects/${id}/subscriptions`);
    counting.push(performance.now() - t0);
  }

  // 2. While a broadcast to everyone runs.
  const worker = run('apps/worker/src/main.ts', common);
  procs.push(worker);
  await sleep(2000);
  const created = await call('POST', `/projects/${id}/notifications`, { title: 'Bench', body: 'x'.repeat(900), target_url: 'https://bench.example/a', ttl: 3600 });
  if (created.status !== 201) throw new Error(`broadcast not created: ${JSON.stringify(created.body)}`);
  const busy: Timings = new Map();
  const started = Date.now();
  let pages = 0;
  let lastPrint = 0;
  for (;;) {
    const next = sleep(PACE_MS);
    await pageLoad(busy, created.body.id, pages % 4 === 0);
    await next;
    pages += 1;
    const n = (await call('GET', `/notifications/${created.body.id}`)).body;
    const done = n.successfully_sent_count + n.failed_count + n.pruned_count + n.expired_count;
    if (Date.now() - lastPrint > 5000) {
      lastPrint = Date.now();
      process.stderr.write(`  ${done}/${SUBSCRIBERS} sent, ${pages} page loads\n`);
    }
    if (n.status === 'sent') break;
  }
  const seconds = (Date.now() - started) / 1000;
  log(`\nbroadcast to ${SUBSCRIBERS.toLocaleString('en')}: ${fmt(seconds, 1)} s (${fmt(SUBSCRIBERS / seconds)} msg/s) while the page was loaded ${pages} times (one starting every ${PACE_MS} ms, or when the last was done); ${loadLine()} at the end`);

  const row = (route: string, t: Timings) => {
    const xs = [...(t.get(route) ?? [])].sort((a, b) => a - b);
    if (xs.length === 0) return '– | – | – | –';
    return `${fmt(percentile(xs, 50), 1)} | ${fmt(percentile(xs, 95), 1)} | ${fmt(percentile(xs, 99), 1)} | ${fmt(xs[xs.length - 1]!, 1)}`;
  };
  log('\nms per call (client side, over HTTP on loopback): idle p50 | p95 | p99 | max, then during the broadcast the same, and samples during it');
  log('| call | idle p50 | idle p95 | idle p99 | idle max | broadcast p50 | broadcast p95 | broadcast p99 | broadcast max | samples |');
  log('|---|---|---|---|---|---|---|---|---|---|');
  for (const route of busy.keys()) log(`| ${route} | ${row(route, idle)} | ${row(route, busy)} | ${busy.get(route)!.length} |`);
  counting.sort((a, b) => a - b);
  log(`\nbaseline, what a page counting its subscribers would pay: HEAD /projects/:id/subscriptions (COUNT(*) of ${SUBSCRIBERS.toLocaleString('en')}), idle: p50 ${fmt(percentile(counting, 50), 1)} ms, max ${fmt(counting[counting.length - 1]!, 1)} ms (${COUNT_SAMPLES} samples)`);
  await db.end();
} finally {
  for (const p of procs.reverse()) await p.stop();
  await dropRedisPrefix(PREFIX);
}
