/** What the broadcast benchmarks share: ports, a fresh database, the machine line, the API, sampling /proc. */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { cpus, freemem, loadavg, release, totalmem } from 'node:os';
import pg from 'pg';
import { createDb, ensureDatabase, migrate, quoteIdentifier, type Db } from '@pushcast/store';
import { cpuSeconds, memoryMiB, type Proc } from './proc.ts';

export const PG_SERVER = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const log = (line: string): void => void process.stdout.write(`${line}\n`);
export const progress = (line: string): void => void process.stderr.write(`${line}\n`);
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Drops and recreates `database` on the benchmark's PostgreSQL server (or `server`); returns its URL. */
export async function resetDatabase(database: string, server = PG_SERVER): Promise<string> {
  const admin = new pg.Client({ connectionString: `${server}/postgres` });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(database)} WITH (FORCE)`);
  await admin.end();
  const url = `${server}/${database}`;
  await ensureDatabase(url);
  return url;
}

/** A benchmark's own deployment: a fresh, migrated database and the environment its Pushcast processes share. */
export interface BenchDeployment {
  readonly databaseUrl: string;
  readonly db: Db;
  readonly adminToken: string;
  /** A free port for the API. */
  readonly port: number;
  /** DATABASE_URL, REDIS_URL, the Redis prefix, an admin token, a fresh secret key, quiet logs, a free metrics port. */
  readonly env: Record<string, string>;
}

export async function benchDeployment(opts: {
  database: string;
  prefix: string;
  /** Push-service hosts the workers may reach (default: the local services at 127.0.0.1). */
  allowedPushHosts?: string;
  /** A CA file the processes trust (the local services' certificates). */
  caFile?: string;
  /** More environment, e.g. a limit a benchmark's loop would trip. */
  env?: Record<string, string>;
  /** Servers of the benchmark's own instead of BENCH_PG_URL / BENCH_REDIS_URL (bench/private-servers.ts). */
  pgServer?: string;
  redisUrl?: string;
}): Promise<BenchDeployment> {
  const databaseUrl = await resetDatabase(opts.database, opts.pgServer);
  const db = createDb(databaseUrl, 4);
  await migrate(db);
  const adminToken = randomBytes(24).toString('hex');
  const port = await freePort();
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl,
    REDIS_URL: opts.redisUrl ?? REDIS_URL,
    PUSHCAST_QUEUE_PREFIX: opts.prefix,
    PUSHCAST_ALLOWED_PUSH_HOSTS: opts.allowedPushHosts ?? '127.0.0.1',
    PUSHCAST_ADMIN_TOKEN: adminToken,
    LOG_LEVEL: 'warn',
    // Senders' VAPID private keys and webhook secrets are sealed under it (a fresh one per run).
    PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
    // A free port for the worker's /metrics: the default 9464 may be taken by another process on the machine.
    METRICS_PORT: '0',
    ...(opts.caFile === undefined ? {} : { NODE_EXTRA_CA_CERTS: opts.caFile }),
    ...opts.env,
  };
  return { databaseUrl, db, adminToken, port, env };
}

/** Cores, CPU model, memory, kernel and Node, as one line. */
export function machineLine(): string {
  const c = cpus();
  return `machine: ${c.length} × ${c[0]?.model ?? '?'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} free), Linux ${release()}, Node ${process.version}`;
}

/** The commit measured, and whether apps/ or packages/ had uncommitted changes (another engineer's work in progress). */
export function gitLine(): string {
  try {
    const git = (...args: string[]) => execFileSync('git', args, { encoding: 'utf8' }).trim();
    const dirty = git('status', '--porcelain', '--', 'apps', 'packages').split('\n').filter(Boolean).length;
    return `code: ${git('rev-parse', '--short', 'HEAD')}${dirty ? ` + uncommitted changes in ${dirty} files under apps/ and packages/` : ''}`;
  } catch {
    return 'code: (not a git checkout)';
  }
}

/**
 * A checkout to compare against runs its own packages only if its node_modules resolves
 * `@pushcast/*` inside it. A worktree whose node_modules is a symlink to this checkout's resolves
 * them here (the workspace links are relative), and the "comparison" runs this code twice.
 */
export function checkCompareTree(tree: string): void {
  const root = realpathSync(tree);
  const resolved = realpathSync(join(tree, 'node_modules', '@pushcast', 'providers'));
  if (!resolved.startsWith(`${root}/`)) {
    throw new Error(
      `${tree}/node_modules/@pushcast/providers resolves to ${resolved}, outside ${root}: the comparison would run this checkout's packages. ` +
        `Give the tree a node_modules of its own (npm ci there), or a real directory of links whose @pushcast/* are copied as the relative links they are.`,
    );
  }
}

export const loadLine = (): string => `load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}`;

/** Jiffies the whole machine spent busy and in all, from /proc/stat. */
function machineJiffies(): { busy: number; total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

/** How busy the whole machine was (all cores, every process) since it was created, 0–100%. */
export class MachineWindow {
  readonly #start = machineJiffies();
  busyPercent(): number {
    const now = machineJiffies();
    return (100 * (now.busy - this.#start.busy)) / Math.max(1, now.total - this.#start.total);
  }
}

export interface Api {
  readonly url: string;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

/** A client for the API process `proc` listening on `port`, with a bearer token; waits for /healthz first. */
export async function connectApi(proc: Proc, port: number, token: string): Promise<Api> {
  const url = `http://127.0.0.1:${port}/api/v1`;
  let exited = false;
  void proc.exited.then(() => (exited = true));
  for (let i = 0; ; i += 1) {
    if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
    if (exited || i > 300) throw new Error(`API did not start: ${proc.stderrTail()}`);
    await sleep(100);
  }
  return {
    url,
    async call(method, path, body) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    },
  };
}

/** CPU seconds and memory of one process over a window, read from /proc. */
export class ProcWindow {
  readonly #pid: number;
  readonly #cpu0: number;
  readonly #t0 = performance.now();
  #cpu = 0;
  #rss = 0;
  #maxRss = 0;
  #peak = 0;
  constructor(proc: Proc | number) {
    this.#pid = typeof proc === 'number' ? proc : proc.pid;
    this.#cpu0 = cpuSeconds(this.#pid);
  }
  /** Reads /proc now; false when the process is gone (the last reading stays). */
  sample(): boolean {
    try {
      this.#cpu = cpuSeconds(this.#pid) - this.#cpu0;
      const m = memoryMiB(this.#pid);
      this.#rss = m.rss;
      this.#maxRss = Math.max(this.#maxRss, m.rss);
      this.#peak = Math.max(this.#peak, m.peak);
      return true;
    } catch {
      return false;
    }
  }
  get cpu(): number {
    return this.#cpu;
  }
  get rss(): number {
    return this.#rss;
  }
  /** VmHWM: the process's peak resident memory over its whole life. */
  get peakRss(): number {
    return Math.max(this.#peak, this.#maxRss);
  }
  get seconds(): number {
    return (performance.now() - this.#t0) / 1000;
  }
}

/** Deletes every Redis key under `prefix:` (a benchmark's queues and ledgers), so runs leave nothing behind. */
export async function dropRedisPrefix(prefix: string): Promise<number> {
  const { Redis } = await import('ioredis');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  let dropped = 0;
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) dropped += await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return dropped;
}
