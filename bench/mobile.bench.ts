/**
 * End-to-end APNs and FCM broadcast benchmark: API → plan job → per-platform chunk jobs → worker →
 * local APNs / FCM servers (real TLS + HTTP/2, provider tokens and OAuth checked), each in a process
 * of its own, and in the same run, for each platform, the baseline a user would write:
 *   APNs: @parse/node-apn, one `provider.send(note, allTokens)`            (bench/baseline-apns.ts)
 *   FCM:  firebase-admin `sendEachForMulticast`, 500 tokens a call, in a loop (bench/baseline-fcm.ts)
 * and for APNs, whose library call never delivers, the lean sender as a yardstick of what this
 * machine allows any Node sender (bench/lean-apns.ts: node:http2, 1,000 in flight, no queues).
 *
 *   npm run bench:mobile                     # 200,000 APNs and 200,000 FCM devices
 *   npm run bench:mobile -- 20000 apns       # devices per platform, platforms (apns, fcm, apns,fcm)
 *
 * Environment: BENCH_ROUNDS (default 1: Pushcast then its baseline, repeated; on a shared machine several
 * rounds show the noise), BENCH_TIMEOUT_S (Pushcast, default 900), BENCH_BASELINE_TIMEOUT_S (default: 5 × Pushcast's
 * time, at least 120 s; a baseline still running then is killed and reported as such),
 * BENCH_PROFILE_DIR (the worker and the baselines write V8 CPU profiles to <dir>/pushcast-<platform> and
 * <dir>/baseline-<platform>, the local servers to <dir>/server-<platform> when they stop, see
 * bench/profile-summary.ts; a baseline killed at its timeout writes none),
 * BENCH_WORKER_ENV (extra worker settings as JSON, e.g. '{"WORKER_CONCURRENCY":"16"}'),
 * BENCH_COMPARE_WORKER (a checkout of Pushcast, e.g. a worktree at an earlier commit with its own
 * node_modules: each round's baseline is then that checkout's worker instead of the library, over the
 * same devices, API and servers, in alternating order — a change's before and after in the same run),
 * BENCH_COMPARE_ENV (JSON, e.g. '{"NODE_OPTIONS":"--v8-pool-size=2"}': the same, with this checkout's
 * worker and these variables added to its settings, or to BENCH_COMPARE_WORKER's),
 * BENCH_WORKER_NODE_ARGS, BENCH_COMPARE_NODE_ARGS (node options of this checkout's worker and of the compared
 * one, space-separated, e.g. '--single-threaded-gc', a V8 flag NODE_OPTIONS does not take; the second alone
 * compares this checkout's worker with and without them),
 * BENCH_SERVER_NODE_ARGS (node options of the local APNs and FCM servers, space-separated, e.g.
 * '--max-semi-space-size=64': they share the two cores with the sender, so what they cost shows in its msg/s),
 * LEAN_APNS_REQUEST=pushcast (the lean APNs sender starts its requests with the worker's leanRequest,
 * so that the two differ only by the queues, ledger and statistics),
 * BENCH_VERBOSE=1 (the worker's log on stderr),
 * BENCH_FAULTS (default 0: every request answered 200): the fraction of devices whose first request the
 * local server answers as a provider under load does, the same devices for Pushcast and for the baseline:
 * with 0.01, every 100th device (0, 100, 200, …) gets one 429 with `retry-after: 1` (APNs TooManyRequests,
 * FCM QUOTA_EXCEEDED), and every 1,000th (50, 1,050, …) one 5xx without retry-after (FCM 503 UNAVAILABLE;
 * APNs 500 InternalServerError and 503 ServiceUnavailable in turn); every later request is answered 200.
 * BENCH_FAULTS_5XX (e.g. 503, or 500,503) sets those 5xx statuses, taken in turn, for both platforms.
 *
 * Each sender's CPU and memory are read from /proc for its own process only. Prints the machine, the
 * command and the figures. Not a test: compare ratios within a run, not absolutes.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateApnsKey } from '@pushcast/local-apns-service';
import { generateServiceAccount } from '@pushcast/local-fcm-service';
import { apnsMessage, apnsPayloadBytes, fcmMessage, fcmPayloadBytes } from '@pushcast/providers';
import { createDb, insertDeviceSubscriptionsBulk, migrate, type Db } from '@pushcast/store';
import { checkCompareTree, connectApi, dropRedisPrefix, fmt, freePort, gitLine, loadLine, log, machineLine, MachineWindow, ProcWindow, progress, REDIS_URL, resetDatabase, sleep, type Api } from './common.ts';
import { cpuSeconds, run, type Proc } from './proc.ts';

type Platform = 'apns' | 'fcm';
const DEVICES = Number(process.argv[2] ?? 200_000);
const PLATFORMS = (process.argv[3] ?? 'apns,fcm').split(',').filter((p): p is Platform => p === 'apns' || p === 'fcm');
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 900);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 1);
const BASELINE_TIMEOUT_S = process.env.BENCH_BASELINE_TIMEOUT_S ? Number(process.env.BENCH_BASELINE_TIMEOUT_S) : undefined;
const FAULTS = Number(process.env.BENCH_FAULTS ?? 0);
const FAULTS_5XX = process.env.BENCH_FAULTS_5XX?.split(',').map(Number);
const COMPARE_WORKER = process.env.BENCH_COMPARE_WORKER;
if (COMPARE_WORKER) checkCompareTree(COMPARE_WORKER);
const COMPARE_ENV = process.env.BENCH_COMPARE_ENV ? (JSON.parse(process.env.BENCH_COMPARE_ENV) as Record<string, string>) : undefined;
const nodeArgsOf = (name: string): string[] | undefined => process.env[name]?.trim().split(/\s+/).filter(Boolean);
const WORKER_NODE_ARGS = nodeArgsOf('BENCH_WORKER_NODE_ARGS');
const COMPARE_NODE_ARGS = nodeArgsOf('BENCH_COMPARE_NODE_ARGS');
const COMPARING = COMPARE_WORKER !== undefined || COMPARE_ENV !== undefined || COMPARE_NODE_ARGS !== undefined;
const DATABASE = 'pushcast_bench_mobile';
/** The APNs yardstick's row name (bench/lean-apns.ts). */
const LEAN_APNS = `lean sender: node:http2, one session, 1,000 in flight, no queues${process.env.LEAN_APNS_REQUEST === 'pushcast' ? ", Pushcast's leanRequest" : ''}`;
const PREFIX = `pushcast-bench-${randomBytes(3).toString('hex')}`;
const TOPIC = 'com.pushcast.bench';
if (!Number.isInteger(DEVICES) || DEVICES < 1 || PLATFORMS.length === 0) {
  process.stderr.write('usage: npm run bench:mobile -- [devices per platform] [apns|fcm|apns,fcm]\n');
  process.exit(2);
}
if (!(FAULTS >= 0 && FAULTS <= 1)) {
  process.stderr.write('BENCH_FAULTS must be a fraction from 0 to 1, e.g. 0.01\n');
  process.exit(2);
}
if (FAULTS_5XX && !FAULTS_5XX.every((s) => Number.isInteger(s) && s >= 500 && s <= 599)) {
  process.stderr.write('BENCH_FAULTS_5XX must list 5xx statuses, e.g. 503 or 500,503\n');
  process.exit(2);
}

const NOTIFICATION = {
  title: 'Benchmark',
  body: `Mobile broadcast benchmark: ${'x'.repeat(160)}`,
  target_url: 'https://bench.example/article/42',
  ttl: 3600,
};

/** Device tokens shaped like real ones: APNs 32 bytes as hex; FCM `<instance id>:APA91b…`. */
const apnsToken = (i: number) => createHash('sha256').update(`apns-${i}`).digest('hex');
const fcmToken = (i: number) =>
  `${createHash('md5').update(`fcm-${i}`).digest('base64url').slice(0, 22)}:APA91b${createHash('sha256').update(`fcm-${i}`).digest('base64url')}${createHash('sha512').update(`fcm-${i}`).digest('base64url')}`;

/**
 * The scripted answers of BENCH_FAULTS, by device index (the seeding order, which is also the order
 * both senders load the devices in): every `every`-th device one 429 with retry-after 1 s, every
 * 10 × `every`-th (offset by half a step) one 5xx. Deterministic: the same devices each run and sender.
 */
function faultPlan(platform: Platform): { answers: object[]; label: string; indexes: number[] }[] {
  if (FAULTS <= 0) return [];
  const every = Math.max(1, Math.round(1 / FAULTS));
  const statuses = FAULTS_5XX ?? (platform === 'apns' ? [500, 503] : [503]);
  const throttled: number[] = [];
  const unavailable: number[][] = statuses.map(() => []);
  for (let i = 0; i < DEVICES; i += 1) {
    if (i % every === 0) throttled.push(i);
    else if (i % (10 * every) === Math.floor(every / 2)) unavailable[Math.floor(i / (10 * every)) % statuses.length]!.push(i);
  }
  const names: Record<Platform, Record<number, string>> = {
    apns: { 429: 'TooManyRequests', 500: 'InternalServerError', 503: 'ServiceUnavailable' },
    fcm: { 429: 'QUOTA_EXCEEDED', 500: 'INTERNAL', 503: 'UNAVAILABLE' },
  };
  const label = (status: number) => `${status}${names[platform][status] ? ` ${names[platform][status]}` : ''}`;
  return [
    { answers: [{ status: 429, retryAfterSeconds: 1 }], label: `${label(429)}, retry-after 1`, indexes: throttled },
    ...statuses.map((status, k) => ({ answers: [{ status }], label: label(status), indexes: unavailable[k]! })),
  ];
}

function faultLine(platform: Platform): string {
  const plan = faultPlan(platform);
  if (plan.length === 0) return 'faults: none (BENCH_FAULTS=0: every request answered 200)';
  const parts = plan.map((g) => `${fmt(g.indexes.length)} × one ${g.label}`);
  return `faults (BENCH_FAULTS=${FAULTS}, the same devices for Pushcast and the baseline, each answer once, then 200): ${parts.join('; ')}`;
}

interface ServerStats {
  counters: {
    requests: number;
    byStatus: Record<string, number>;
    byReason?: Record<string, number>;
    byErrorCode?: Record<string, number>;
    tokensMintedByKey?: Record<string, number>;
    sessions?: number;
    peakInFlight?: number;
    filteredSessions?: number;
    oauthTokensIssued?: number;
  };
  delivered: number;
  ok200: number;
  duplicates: number;
  firstOkAt?: number;
  lastOkAt?: number;
}

interface Row {
  sender: string;
  round: number;
  /** Distinct devices the local server answered 200. */
  delivered: number;
  /** What the sender itself counted as delivered (Pushcast: its API statistics). */
  senderDelivered: number;
  /** Devices the sender reports as failed, by reason. */
  failed: number;
  reasons: Record<string, number>;
  /** Devices neither delivered nor reported failed (a baseline killed at its timeout). */
  unaccounted: number;
  duplicates: number;
  seconds: number;
  cpu: number;
  peakRss: number;
  note?: string;
  server: ServerStats;
  serverCpu: number;
  /** The API process's CPU over the window (Pushcast only: creating the notification, the progress polls). */
  apiCpu?: number;
  /** The whole machine's busy share over the window (both cores, every process: ours, PostgreSQL, Redis, anyone else's). */
  machineBusy: number;
  /** Pushcast: seconds from the POST to the server's first 200 and to its last. */
  phases?: { firstOk: number; lastOk: number };
}

async function seed(db: Db, projectId: number, platform: Platform): Promise<void> {
  const started = Date.now();
  const BATCH = 10_000;
  for (let start = 0; start < DEVICES; start += BATCH) {
    const rows = [];
    for (let i = start; i < Math.min(DEVICES, start + BATCH); i += 1) rows.push({ token: platform === 'apns' ? apnsToken(i) : fcmToken(i) });
    await insertDeviceSubscriptionsBulk(db, projectId, platform, rows);
  }
  await db.query('VACUUM ANALYZE subscriptions');
  progress(`seeded ${fmt(DEVICES)} ${platform} devices in ${((Date.now() - started) / 1000).toFixed(0)} s`);
}

/** Waits until a freshly started process has stopped burning CPU (tsx compiling, connecting). */
async function settled(proc: Proc, maxMs = 20_000): Promise<void> {
  const until = Date.now() + maxMs;
  const cpu = () => {
    try {
      return cpuSeconds(proc.pid);
    } catch {
      throw new Error(`the process exited while starting: ${proc.stderrTail()}`);
    }
  };
  let last = cpu();
  await sleep(1000);
  while (Date.now() < until) {
    await sleep(500);
    const now = cpu();
    if (now - last < 0.03) return;
    last = now;
  }
}

async function serverCommand(server: Proc, command: string): Promise<unknown> {
  server.send(command);
  const answer = JSON.parse(await server.nextLine()) as { error?: string };
  if (answer.error) throw new Error(`local server: ${answer.error}`);
  return answer;
}

/** Forgets the last run (requests, counters, scripts) and scripts BENCH_FAULTS's answers for the next. */
async function resetServer(server: Proc, platform: Platform): Promise<void> {
  await serverCommand(server, 'reset');
  const plan = faultPlan(platform);
  if (plan.length === 0) return;
  const token = platform === 'apns' ? apnsToken : fcmToken;
  const groups = plan.map((g) => ({ answers: g.answers, tokens: g.indexes.map(token) }));
  const expected = groups.reduce((n, g) => n + g.tokens.length, 0);
  const { scripted } = (await serverCommand(server, `script ${JSON.stringify({ groups })}`)) as { scripted: number };
  if (scripted !== expected) throw new Error(`local server scripted ${scripted} tokens, not ${expected}`);
}

log('# Pushcast mobile broadcast benchmark (APNs, FCM)');
log(machineLine());
const benchEnv = Object.entries(process.env)
  .filter(([k, v]) => k.startsWith('BENCH_') && v)
  .map(([k, v]) => `${k}=${/^[\w.,:/-]+$/.test(v!) ? v : `'${v}'`} `)
  .join('');
log(`command: ${benchEnv}npm run bench:mobile -- ${DEVICES} ${PLATFORMS.join(',')}`);
log(gitLine());
log(`at start: ${loadLine()}`);
const procs: Proc[] = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all(procs.map((p) => p.stop())).then(() => process.exit(130));
  });
}
try {
  // Credentials, and the local servers that trust them (each in its own process).
  const apnsKey = generateApnsKey();
  const serviceAccount = generateServiceAccount('pushcast-bench');
  const dir = mkdtempSync(join(tmpdir(), 'pushcast-bench-mobile-'));
  const servers = {} as Record<Platform, { proc: Proc; origin: string; caFile: string }>;
  const startServer = async (platform: Platform, env: Record<string, string>) => {
    const nodeArgs = nodeArgsOf('BENCH_SERVER_NODE_ARGS') ?? [];
    if (process.env.BENCH_PROFILE_DIR) nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${join(process.env.BENCH_PROFILE_DIR, `server-${platform}`)}`);
    const proc = run('bench/local-server.ts', { PLATFORM: platform, ...env }, [], nodeArgs);
    procs.push(proc);
    const { origin, caFile } = JSON.parse(await proc.firstLine()) as { origin: string; caFile: string };
    servers[platform] = { proc, origin, caFile };
  };
  await startServer('apns', {
    KEYS: JSON.stringify([{ keyId: apnsKey.keyId, teamId: apnsKey.teamId, keyPem: apnsKey.keyPem, topics: [TOPIC] }]),
  });
  await startServer('fcm', {
    ACCOUNTS: JSON.stringify([{ clientEmail: serviceAccount.clientEmail, projectId: serviceAccount.projectId, publicKeyPem: serviceAccount.publicKeyPem }]),
  });

  // The API, a sender, one project per platform with its credentials, and the devices.
  const databaseUrl = await resetDatabase(DATABASE);
  const db = createDb(databaseUrl, 4);
  await migrate(db);
  const adminToken = randomBytes(24).toString('hex');
  const common = {
    DATABASE_URL: databaseUrl,
    REDIS_URL,
    PUSHCAST_QUEUE_PREFIX: PREFIX,
    PUSHCAST_ADMIN_TOKEN: adminToken,
    PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
    PUSHCAST_APNS_URL: servers.apns.origin,
    PUSHCAST_FCM_URL: servers.fcm.origin,
    LOG_LEVEL: 'warn',
    // A free port for the worker's /metrics: the default 9464 may be taken by another process on the machine.
    METRICS_PORT: '0',
  };
  const port = await freePort();
  const apiProc = run('apps/api/src/main.ts', { ...common, PORT: String(port), HOST: '127.0.0.1' });
  procs.push(apiProc);
  const api: Api = await connectApi(apiProc, port, adminToken);
  const sender = (await api.call('POST', '/senders', { name: 'bench' })).body;
  const projects = {} as Record<Platform, number>;
  for (const platform of PLATFORMS) {
    const credentials =
      platform === 'apns'
        ? { apns_credentials: { key: apnsKey.keyPem, key_id: apnsKey.keyId, team_id: apnsKey.teamId, topic: TOPIC, production: true } }
        : { fcm_credentials: { service_account: serviceAccount.json } };
    const created = await api.call('POST', '/projects', { sender_id: sender.id, name: `Bench ${platform}`, website: 'https://bench.example', ...credentials });
    if (created.status !== 201) throw new Error(`project not created: ${JSON.stringify(created.body)}`);
    projects[platform] = created.body.id;
    await seed(db, created.body.id, platform);
  }

  const workerEnv = { ...common, ...(process.env.BENCH_WORKER_ENV ? (JSON.parse(process.env.BENCH_WORKER_ENV) as Record<string, string>) : {}) };
  const settings = ['WORKER_CONCURRENCY', 'APNS_MAX_IN_FLIGHT_PER_CREDENTIAL', 'APNS_CONNECTIONS_PER_CREDENTIAL', 'FCM_MAX_IN_FLIGHT_PER_CREDENTIAL']
    .map((k) => `${k}=${(workerEnv as Record<string, string>)[k] ?? 'default'}`)
    .concat(process.env.BENCH_WORKER_ENV ? [`BENCH_WORKER_ENV=${process.env.BENCH_WORKER_ENV}`] : [])
    .concat(WORKER_NODE_ARGS ? [`node ${WORKER_NODE_ARGS.join(' ')}`] : [])
    .join(', ');
  log(`devices: ${fmt(DEVICES)} per platform (distinct tokens); worker settings: ${settings}`);
  for (const platform of PLATFORMS) log(`${platform} ${faultLine(platform)}`);

  const profileDir = process.env.BENCH_PROFILE_DIR;
  const profile = (who: string, platform: Platform, round: number) =>
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${who}-${platform}${ROUNDS > 1 ? `-${round}` : ''}`)}`] : [];

  /** Pushcast: a worker process, a notification created over the API, done when PostgreSQL says sent. */
  const runPushcast = async (platform: Platform, round: number, compared = false): Promise<{ row: Row; n: any }> => {
    const server = servers[platform];
    await resetServer(server.proc, platform);
    // One CA per worker: the local servers' self-signed certificates share their subject (CN=localhost),
    // and OpenSSL trusts only the first of two such certificates in one NODE_EXTRA_CA_CERTS file.
    const checkout = compared ? COMPARE_WORKER : undefined;
    const entry = checkout ? join(checkout, 'apps/worker/src/main.ts') : 'apps/worker/src/main.ts';
    const env = { ...workerEnv, ...(compared ? COMPARE_ENV : undefined), NODE_EXTRA_CA_CERTS: server.caFile };
    const nodeArgs = (compared ? COMPARE_NODE_ARGS : WORKER_NODE_ARGS) ?? [];
    const worker = run(entry, env, [], [...nodeArgs, ...profile(compared ? 'compared' : 'pushcast', platform, round)]);
    procs.push(worker);
    if (process.env.BENCH_VERBOSE) worker.child.stdout.on('data', (d) => process.stderr.write(d));
    await settled(worker);
    progress(`\n${platform} round ${round}: Pushcast broadcast to ${fmt(DEVICES)} devices`);
    const w = new ProcWindow(worker);
    const sw = new ProcWindow(server.proc);
    const aw = new ProcWindow(apiProc);
    const mw = new MachineWindow();
    const t0 = performance.now();
    const t0Epoch = Date.now();
    const created = await api.call('POST', `/projects/${projects[platform]}/notifications`, NOTIFICATION);
    if (created.status !== 201) throw new Error(`notification not created: ${JSON.stringify(created.body)}`);
    const id = created.body.id as number;
    // Completion from PostgreSQL (one cheap query): every chunk done means every outcome is counted;
    // the notification should turn 'sent' at the same moment. The API's live statistics only every
    // 5 s for the progress line, so that polling costs the measured machine next to nothing.
    let lastPrint = performance.now();
    let note: string | undefined;
    let chunksDoneAt: number | undefined;
    let cpuAtDone: number | undefined;
    for (;;) {
      const { rows } = await db.query<{ status: string; planned: boolean; pending: boolean }>(
        `SELECT n.status, n.planned_at IS NOT NULL AS planned,
                EXISTS (SELECT 1 FROM notification_chunks c WHERE c.notification_id = n.id AND c.status = 'pending') AS pending
         FROM notifications n WHERE n.id = $1`,
        [id],
      );
      w.sample();
      sw.sample();
      aw.sample();
      const now = performance.now();
      const r = rows[0];
      if (r?.planned && !r.pending && chunksDoneAt === undefined) {
        chunksDoneAt = now;
        cpuAtDone = w.cpu;
      }
      if (r?.status === 'sent') break;
      if (chunksDoneAt !== undefined && now - chunksDoneAt > 30_000) {
        note = `every chunk was done after ${((chunksDoneAt - t0) / 1000).toFixed(1)} s, but the notification was still '${r?.status}' 30 s later`;
        break;
      }
      if ((now - t0) / 1000 > TIMEOUT_S) {
        note = `not finished after ${TIMEOUT_S} s`;
        break;
      }
      if (now - lastPrint > 5000) {
        lastPrint = now;
        const p = (await api.call('GET', `/notifications/${id}`)).body.platforms[platform];
        const done = p.successfully_sent_count + p.failed_count + p.pruned_count + p.expired_count;
        progress(`  ${fmt(done)}/${fmt(DEVICES)}  ${fmt(done / ((now - t0) / 1000))} msg/s  rss ${w.rss.toFixed(0)} MiB`);
      }
      await sleep(100);
    }
    // Delivered and counted: when the last chunk was done (the 'sent' mark comes with it, or never).
    const seconds = ((chunksDoneAt ?? performance.now()) - t0) / 1000;
    const machineBusy = mw.busyPercent();
    const n = (await api.call('GET', `/notifications/${id}`)).body;
    const ours = (await serverCommand(server.proc, 'stats')) as ServerStats;
    const stats = n.platforms[platform];
    await worker.stop();
    const row: Row = {
      sender: compared ? comparedName(checkout) : 'Pushcast (API + queues + worker)',
      round,
      delivered: ours.delivered,
      senderDelivered: stats.successfully_sent_count,
      failed: stats.failed_count + stats.pruned_count + stats.expired_count,
      reasons: { ...stats.failures, ...(stats.pruned_count ? { pruned: stats.pruned_count } : {}), ...(stats.expired_count ? { expired: stats.expired_count } : {}) },
      unaccounted: DEVICES - stats.successfully_sent_count - stats.failed_count - stats.pruned_count - stats.expired_count,
      duplicates: ours.duplicates,
      seconds,
      cpu: cpuAtDone ?? w.cpu,
      peakRss: w.peakRss,
      ...(note ? { note } : {}),
      server: ours,
      serverCpu: sw.cpu,
      apiCpu: aw.cpu,
      machineBusy,
      ...(ours.firstOkAt !== undefined && ours.lastOkAt !== undefined
        ? { phases: { firstOk: (ours.firstOkAt - t0Epoch) / 1000, lastOk: (ours.lastOkAt - t0Epoch) / 1000 } }
        : {}),
    };
    return { row, n };
  };

  /**
   * The baseline, over the same devices and the same bytes on the wire as notification `n`: the
   * library's documented call, or (APNs, `lean`) the lean node:http2 sender of bench/lean-apns.ts.
   */
  const runBaseline = async (platform: Platform, round: number, n: any, pushcastSeconds: number, lean = false): Promise<{ row: Row; payloadBytes: number }> => {
    const server = servers[platform];
    await resetServer(server.proc, platform);
    const source = {
      id: n.id,
      title: n.title,
      body: n.body,
      targetUrl: n.target_url,
      iconUrl: n.icon_url,
      imageUrl: n.image_url,
      silent: n.silent,
      urgent: n.urgent,
      customData: n.custom_data,
      actions: [],
      ttl: n.ttl,
      topic: n.topic,
      override: undefined,
    };
    const messageFile = join(dir, `${platform}-message.json`);
    let payloadBytes: number;
    let baseline: Proc;
    let label: string;
    if (platform === 'apns') {
      const message = apnsMessage(source, Date.now());
      payloadBytes = apnsPayloadBytes(message);
      writeFileSync(messageFile, JSON.stringify(message));
      writeFileSync(join(dir, 'key.p8'), apnsKey.keyPem);
      const url = new URL(server.origin);
      label = lean ? LEAN_APNS : 'baseline: node-apn, one provider.send(all tokens)';
      const env = {
        DATABASE_URL: databaseUrl,
        PROJECT_ID: String(projects.apns),
        LIMIT: String(DEVICES),
        MESSAGE_FILE: messageFile,
        APNS_HOST: url.hostname,
        APNS_PORT: url.port,
        CA_FILE: server.caFile,
        KEY_FILE: join(dir, 'key.p8'),
        KEY_ID: apnsKey.keyId,
        TEAM_ID: apnsKey.teamId,
        TOPIC,
      };
      baseline = run(lean ? 'bench/lean-apns.ts' : 'bench/baseline-apns.ts', env, [], profile(lean ? 'lean' : 'baseline', platform, round));
    } else {
      const message = fcmMessage(source);
      payloadBytes = fcmPayloadBytes(message);
      writeFileSync(messageFile, JSON.stringify(message));
      writeFileSync(join(dir, 'service-account.json'), JSON.stringify(serviceAccount.json));
      label = 'baseline: firebase-admin sendEachForMulticast, 500 a call, in a loop';
      const env = {
        DATABASE_URL: databaseUrl,
        PROJECT_ID: String(projects.fcm),
        LIMIT: String(DEVICES),
        MESSAGE_FILE: messageFile,
        FCM_ORIGIN: server.origin,
        CA_FILE: server.caFile,
        SERVICE_ACCOUNT_FILE: join(dir, 'service-account.json'),
      };
      baseline = run('bench/baseline-fcm.ts', env, [], profile('baseline', platform, round));
    }
    procs.push(baseline);
    await baseline.firstLine();
    await settled(baseline, 5000);
    progress(`${platform} round ${round}: ${label}`);
    // The lean sender is a yardstick, not a library on trial: BENCH_BASELINE_TIMEOUT_S does not cut it short.
    const defaultLimitS = Math.max(120, Math.ceil(5 * pushcastSeconds));
    const limitS = lean ? defaultLimitS : (BASELINE_TIMEOUT_S ?? defaultLimitS);
    const b = new ProcWindow(baseline);
    const bs = new ProcWindow(server.proc);
    const bm = new MachineWindow();
    const bt0 = performance.now();
    baseline.send('go');
    let outcome: { ok: true; line: string } | { ok: false; error: string } | undefined;
    void baseline.nextLine().then(
      (line) => (outcome = { ok: true, line }),
      (e: unknown) => (outcome = { ok: false, error: e instanceof Error ? e.message : String(e) }),
    );
    let lastPrint = performance.now();
    while (outcome === undefined && (performance.now() - bt0) / 1000 < limitS) {
      b.sample();
      bs.sample();
      if (performance.now() - lastPrint > 5000) {
        lastPrint = performance.now();
        progress(`  ${((performance.now() - bt0) / 1000).toFixed(0)} s  cpu ${b.cpu.toFixed(1)} s  rss ${b.rss.toFixed(0)} MiB`);
      }
      await sleep(100);
    }
    b.sample();
    bs.sample();
    const bSeconds = (performance.now() - bt0) / 1000;
    const machineBusy = bm.busyPercent();
    const theirs = (await serverCommand(server.proc, 'stats')) as ServerStats;
    const base = {
      sender: label,
      round,
      delivered: theirs.delivered,
      duplicates: theirs.duplicates,
      cpu: b.cpu,
      peakRss: b.peakRss,
      server: theirs,
      serverCpu: bs.cpu,
      machineBusy,
    };
    let row: Row;
    const result = outcome;
    if (result?.ok) {
      const r = JSON.parse(result.line) as { delivered: number; failed: number; reasons: Record<string, number>; seconds: number };
      row = { ...base, senderDelivered: r.delivered, failed: r.failed, reasons: r.reasons, unaccounted: DEVICES - r.delivered - r.failed, seconds: r.seconds };
    } else {
      const note = result ? `the process died: ${result.error.replace(/\s+/g, ' ').slice(0, 300)}` : `no answer after ${limitS} s: killed`;
      row = { ...base, senderDelivered: 0, failed: 0, reasons: {}, unaccounted: DEVICES, seconds: bSeconds, note };
    }
    baseline.child.stdin.end();
    await Promise.race([baseline.exited, sleep(5000)]);
    await baseline.stop();
    return { row, payloadBytes };
  };

  for (const platform of PLATFORMS) {
    const rows: Row[] = [];
    let payloadBytes = 0;
    let lastN: any;
    let lastSeconds = 0;
    for (let round = 1; round <= ROUNDS; round += 1) {
      if (COMPARING) {
        // Odd rounds this checkout first, even rounds the other: neither always runs on a warmer machine.
        const first = await runPushcast(platform, round, round % 2 === 0);
        const second = await runPushcast(platform, round, round % 2 === 1);
        rows.push(...(round % 2 === 1 ? [first.row, second.row] : [second.row, first.row]));
        continue;
      }
      // APNs: the lean sender too, before the worker in even rounds (with the previous round's
      // notification, the same bytes), so that neither always runs on a warmer machine.
      const leanFirst = platform === 'apns' && lastN !== undefined && round % 2 === 0;
      const leanBefore = leanFirst ? await runBaseline(platform, round, lastN, lastSeconds, true) : undefined;
      const ours = await runPushcast(platform, round);
      rows.push(ours.row);
      const theirs = await runBaseline(platform, round, ours.n, ours.row.seconds);
      rows.push(theirs.row);
      payloadBytes = theirs.payloadBytes;
      if (platform === 'apns') rows.push((leanBefore ?? (await runBaseline(platform, round, ours.n, ours.row.seconds, true))).row);
      lastN = ours.n;
      lastSeconds = ours.row.seconds;
    }
    printPlatform(platform, rows, payloadBytes);
  }
  log(`\nat the end: ${loadLine()}`);
  await db.end();
} finally {
  for (const p of procs.reverse()) await p.stop();
  await dropRedisPrefix(PREFIX).catch(() => 0);
}

/** The compared worker's row name: another checkout's, or this one's with other settings. */
function comparedName(checkout: string | undefined): string {
  const args = COMPARE_NODE_ARGS ? ` with node ${COMPARE_NODE_ARGS.join(' ')}` : '';
  const env = `${COMPARE_ENV ? ` with ${JSON.stringify(COMPARE_ENV)}` : ''}${args}`;
  return checkout ? `before: the worker of ${checkout} (${gitCommit(checkout)})${env}` : `compared: this worker${env}`;
}

/** The commit a checkout is at, and whether its apps/ or packages/ have uncommitted changes. */
function gitCommit(dir: string): string {
  try {
    const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'apps', 'packages').split('\n').filter(Boolean).length;
    return `${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + ${dirty} uncommitted files` : ''}`;
  } catch {
    return 'not a git checkout';
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function printPlatform(platform: Platform, rows: Row[], payloadBytes: number): void {
  const name = platform === 'apns' ? 'APNs' : 'FCM';
  log(`\n## ${name}: ${fmt(DEVICES)} devices, payload ${payloadBytes} bytes${ROUNDS > 1 ? `, ${ROUNDS} rounds (Pushcast, then its baseline, each round${platform === 'apns' && !COMPARING ? '; the lean sender after them in odd rounds, before them in even ones' : ''})` : ''}`);
  if (FAULTS > 0) log(`\n${faultLine(platform)}`);
  log(`\n| ${ROUNDS > 1 ? 'round | ' : ''}sender | delivered (at the server) | sender counted delivered | sender reported failed | not delivered | duplicates | seconds | msgs/s | CPU µs/msg | peak RSS (MiB) |`);
  log(`|${ROUNDS > 1 ? '---|' : ''}---|---|---|---|---|---|---|---|---|---|`);
  for (const r of rows) {
    // Per delivered message; meaningless when next to nothing was delivered, so the CPU is shown instead.
    const perMsg = r.delivered >= DEVICES / 100 ? fmt((r.cpu / r.delivered) * 1e6) : `n/a (${r.cpu.toFixed(1)} s CPU)`;
    log(
      `| ${ROUNDS > 1 ? `${r.round} | ` : ''}${r.sender} | ${fmt(r.delivered)} | ${fmt(r.senderDelivered)} | ${fmt(r.failed)} | ${fmt(DEVICES - r.delivered)} | ${fmt(r.duplicates)} | ${r.seconds.toFixed(1)} | ${fmt(r.delivered / r.seconds)} | ${perMsg} | ${r.peakRss.toFixed(0)} |`,
    );
  }
  log('');
  for (const r of rows) {
    const reasons = Object.entries(r.reasons)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', ');
    const c = r.server.counters;
    const serverSide = [
      `requests ${fmt(c.requests)}`,
      `by status ${JSON.stringify(c.byStatus)}`,
      ...(c.byReason && Object.keys(c.byReason).length ? [`reasons ${JSON.stringify(c.byReason)}`] : []),
      ...(c.byErrorCode && Object.keys(c.byErrorCode).length ? [`errors ${JSON.stringify(c.byErrorCode)}`] : []),
      ...(c.tokensMintedByKey ? [`provider tokens minted per key ${JSON.stringify(Object.values(c.tokensMintedByKey))}`] : []),
      ...(c.sessions !== undefined ? [`HTTP/2 sessions ${c.sessions}${c.filteredSessions !== undefined ? ` (${c.filteredSessions} through the :scheme filter)` : ''}, peak in flight ${c.peakInFlight}, OAuth tokens ${c.oauthTokensIssued}`] : []),
      `server CPU ${r.serverCpu.toFixed(1)} s`,
    ].join('; ');
    const phases = r.phases
      ? `; after the POST: first 200 at ${r.phases.firstOk.toFixed(2)} s, last at ${r.phases.lastOk.toFixed(2)} s (${fmt(r.delivered / (r.phases.lastOk - r.phases.firstOk))} msg/s between), every chunk done at ${r.seconds.toFixed(2)} s`
      : '';
    const machine = `${r.apiCpu !== undefined ? `API CPU ${r.apiCpu.toFixed(1)} s; ` : ''}machine ${r.machineBusy.toFixed(0)}% busy (both cores, every process)`;
    log(
      `- ${ROUNDS > 1 ? `round ${r.round}, ` : ''}${r.sender}: ${r.note ? `**${r.note}**; ` : ''}sender-reported failures: ${reasons || 'none'}${r.unaccounted ? `; never reported: ${fmt(r.unaccounted)}` : ''}`,
    );
    log(`  - at the local server: ${serverSide}; ${machine}${phases}`);
  }
  const ours = rows.filter((r) => r.sender.startsWith('Pushcast'));
  const leans = rows.filter((r) => r.sender === LEAN_APNS);
  const theirs = rows.filter((r) => !r.sender.startsWith('Pushcast') && r.sender !== LEAN_APNS);
  if (leans.length === ours.length && leans.length > 0) {
    // The worker against what this machine allows a plain Node sender in the same round.
    const perMsg = (r: Row) => (r.cpu / Math.max(1, r.delivered)) * 1e6;
    const rate = (r: Row) => r.delivered / r.seconds;
    const cpu = ours.map((o, i) => perMsg(o) / perMsg(leans[i]!));
    const speed = ours.map((o, i) => rate(o) / rate(leans[i]!));
    log(
      `- Pushcast ÷ the lean sender, per round: CPU a message ${cpu.map((x) => `${x.toFixed(2)}×`).join(', ')}; ` +
        `msg/s ${speed.map((x) => `${x.toFixed(2)}×`).join(', ')} (the lean sender: ${leans.map((r) => `${fmt(rate(r))} msg/s at ${fmt(perMsg(r))} µs`).join(', ')})`,
    );
  }
  if (ROUNDS > 1) {
    const rate = (r: Row) => r.delivered / r.seconds;
    const ratios = ours.map((o, i) => rate(o) / Math.max(1e-9, rate(theirs[i]!)));
    log(
      `- medians over ${ROUNDS} rounds: Pushcast ${fmt(median(ours.map(rate)))} msgs/s, ${fmt(median(ours.map((r) => (r.cpu / r.delivered) * 1e6)))} µs/msg; ` +
        `baseline ${fmt(median(theirs.map(rate)))} msgs/s${theirs.every((r) => r.delivered >= DEVICES / 100) ? `, ${fmt(median(theirs.map((r) => (r.cpu / r.delivered) * 1e6)))} µs/msg` : ''}; ` +
        `Pushcast/baseline msgs/s per round: ${ratios.map((x) => (x > 100 ? '∞' : x.toFixed(2))).join(', ')}`,
    );
  }
  if (platform === 'apns') {
    const minted = ours.map((r) => Object.values(r.server.counters.tokensMintedByKey ?? {}).join('+') || '0');
    log(`- APNs provider tokens minted by Pushcast for its one key: ${minted.join(', ')} (expected 1${ROUNDS > 1 ? ' per round' : ''})`);
  }
}
