/**
 * A Redis and a PostgreSQL of the benchmark's own, on free local ports, from the machine's binaries:
 * every command, statement and CPU second they count is the benchmark's, whatever else the shared
 * servers are doing (other engineers' benchmarks), and PostgreSQL can preload pg_stat_statements,
 * which the machine's server does not (changing `shared_preload_libraries` there needs a restart).
 */
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, sleep } from './common.ts';
import { cpuSeconds } from './proc.ts';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** Fields of /proc/<pid>/stat after the command name (field 3, `state`, is index 0). */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU seconds of a process and all its children, living and exited: a PostgreSQL server is a
 * postmaster and a backend per connection, and backends that have exited are in the postmaster's
 * cutime/cstime once it has reaped them.
 */
export function treeCpuSeconds(pid: number): number {
  const f = statFields(pid);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const c = statFields(Number(entry));
      if (Number(c[1]) === pid) ticks += Number(c[11]) + Number(c[12]) + Number(c[13]) + Number(c[14]);
    } catch {
      // exited meanwhile
    }
  }
  return ticks / TICKS_PER_SECOND;
}

export interface PrivateServer {
  readonly url: string;
  /** CPU seconds the server (all its processes) has used so far. */
  cpu(): number;
  stop(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateServer> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const { Redis } = await import('ioredis');
  for (let i = 0; ; i += 1) {
    const probe = new Redis(port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    const up = await probe.connect().then(() => probe.ping(), () => null);
    probe.disconnect();
    if (up === 'PONG') break;
    if (i > 100) throw new Error(`redis-server did not start on port ${port}`);
    await sleep(100);
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    cpu: () => cpuSeconds(child.pid!),
    async stop() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The newest PostgreSQL server binaries installed (Debian's layout), or BENCH_PG_BIN. */
function pgBin(): string {
  if (process.env.BENCH_PG_BIN) return process.env.BENCH_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql (set BENCH_PG_BIN)');
  return join(root, newest, 'bin');
}

/**
 * Settings copied from the machine's own PostgreSQL, so that the private one behaves like the
 * server the other benchmarks use (this machine's turns autovacuum off, for one).
 */
const COPIED_SETTINGS = ['shared_buffers', 'autovacuum', 'fsync', 'synchronous_commit', 'max_wal_size', 'min_wal_size', 'work_mem', 'checkpoint_timeout'];

async function machineSettings(machineServer: string): Promise<string[]> {
  const client = new pg.Client({ connectionString: `${machineServer}/postgres` });
  try {
    await client.connect();
    const { rows } = await client.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])`,
      [COPIED_SETTINGS],
    );
    // pg_settings gives each value in its setting's base unit, which is how a unitless value is read back.
    return rows.map((r) => `${r.name}=${r.setting}`);
  } catch {
    return [];
  } finally {
    await client.end().catch(() => {});
  }
}

/**
 * A PostgreSQL cluster in a temporary directory (initdb; as the `postgres` user when run as root,
 * since PostgreSQL refuses to run as root), with pg_stat_statements preloaded and the machine
 * server's main settings. `settings` says what it was started with.
 */
export async function startPrivatePostgres(machineServer: string): Promise<PrivateServer & { settings: string[]; version: string }> {
  const bin = pgBin();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'pushcast-scale-pg-'));
  const data = join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  const pgUser = (() => {
    if (!asRoot) return undefined;
    const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
    if (!line) throw new Error('running as root without a postgres user to run PostgreSQL as');
    const [, , uid, gid] = line.split(':');
    return { uid: Number(uid), gid: Number(gid) };
  })();
  if (pgUser) chownSync(dir, pgUser.uid, pgUser.gid);
  const pgCommand = (file: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', join(bin, file), ...args], { stdio: 'pipe' }) : execFileSync(join(bin, file), args, { stdio: 'pipe' });
  pgCommand('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  const settings = [...(await machineSettings(machineServer)), 'shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=top', 'max_connections=200'];
  const options = [`-p ${port}`, `-k ${dir}`, `-c listen_addresses=127.0.0.1`, ...settings.map((s) => `-c ${s}`)].join(' ');
  pgCommand('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', 'start']);
  const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const version = execFileSync(join(bin, 'postgres'), ['--version'], { encoding: 'utf8' }).trim();
  return {
    url: `postgres://postgres@127.0.0.1:${port}`,
    settings,
    version,
    cpu: () => treeCpuSeconds(postmaster),
    async stop() {
      try {
        pgCommand('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } catch {
        process.kill(postmaster, 'SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
