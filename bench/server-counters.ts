/**
 * What Redis and PostgreSQL counted over a window, for bench/scale.bench.ts: Redis `INFO
 * commandstats` and network bytes, PostgreSQL's pg_stat_statements (when it is loaded), the
 * database's and tables' row counters and the WAL written. Read through an observer of its own
 * (a separate PostgreSQL role, left out of the statement counts; Redis' INFO left out by name).
 */
import type { Redis } from 'ioredis';
import pg from 'pg';

export interface RedisCounters {
  /** Calls per command (commands run by Lua scripts included: Redis counts them too). */
  readonly calls: Map<string, number>;
  /** Microseconds Redis spent in each command (a script's EVALSHA includes the commands it ran). */
  readonly usec: Map<string, number>;
  readonly netIn: number;
  readonly netOut: number;
}

function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

export async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  for (const [key, value] of infoFields(await redis.info('commandstats'))) {
    const n = /calls=(\d+),usec=(\d+)/.exec(value);
    if (!key.startsWith('cmdstat_') || !n) continue;
    calls.set(key.slice('cmdstat_'.length), Number(n[1]));
    usec.set(key.slice('cmdstat_'.length), Number(n[2]));
  }
  const stats = infoFields(await redis.info('stats'));
  return { calls, usec, netIn: Number(stats.get('total_net_input_bytes')), netOut: Number(stats.get('total_net_output_bytes')) };
}

export async function redisUsedMemory(redis: Redis): Promise<number> {
  return Number(infoFields(await redis.info('memory')).get('used_memory'));
}

/** The benchmark's own INFO calls are not the pipeline's. */
const OBSERVER_COMMANDS = new Set(['info']);

export interface RedisDelta {
  readonly calls: Map<string, number>;
  readonly usec: Map<string, number>;
  readonly total: number;
  readonly netIn: number;
  readonly netOut: number;
}

export function redisDelta(a: RedisCounters, b: RedisCounters): RedisDelta {
  const calls = new Map<string, number>();
  const usec = new Map<string, number>();
  let total = 0;
  for (const [cmd, n] of b.calls) {
    const d = n - (a.calls.get(cmd) ?? 0);
    if (d <= 0 || OBSERVER_COMMANDS.has(cmd)) continue;
    calls.set(cmd, d);
    usec.set(cmd, (b.usec.get(cmd) ?? 0) - (a.usec.get(cmd) ?? 0));
    total += d;
  }
  return { calls, usec, total, netIn: b.netIn - a.netIn, netOut: b.netOut - a.netOut };
}

export interface Statement {
  readonly query: string;
  readonly calls: number;
  readonly rows: number;
  readonly ms: number;
  readonly walBytes: number;
}

export interface TableCounters {
  readonly ins: number;
  readonly upd: number;
  readonly hotUpd: number;
  readonly del: number;
  /** Rows read by sequential scans and fetched through indexes. */
  readonly seqRead: number;
  readonly idxFetch: number;
}

export interface PgCounters {
  readonly xactCommit: number;
  readonly tupReturned: number;
  readonly tupFetched: number;
  readonly tupInserted: number;
  readonly tupUpdated: number;
  readonly tupDeleted: number;
  readonly tables: Map<string, TableCounters>;
  /** pg_current_wal_lsn() as a byte position (the whole cluster's WAL). */
  readonly walLsn: bigint;
}

/**
 * A connection to the benchmark's database as a role of its own, so that its polling is told
 * apart from the pipeline's statements. `statements` is false when pg_stat_statements is not
 * loaded (the machine's shared server): then only the row counters are read.
 */
export class PgObserver {
  readonly #client: pg.Client;
  readonly statements: boolean;
  private constructor(client: pg.Client, statements: boolean) {
    this.#client = client;
    this.statements = statements;
  }

  static async connect(databaseUrl: string): Promise<PgObserver> {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    let statements = false;
    try {
      await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
      await admin.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
      statements = true;
    } catch {
      statements = false;
    }
    await admin.query(`DO $$ BEGIN CREATE ROLE pushcast_bench_observer LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await admin.end();
    const url = new URL(databaseUrl);
    url.username = 'pushcast_bench_observer';
    const client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    return new PgObserver(client, statements);
  }

  query<R extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.#client.query<R>(text, values);
  }

  /** Forgets the statements counted so far (a window starts). */
  async resetStatements(): Promise<void> {
    if (this.statements) await this.#client.query('SELECT pg_stat_statements_reset()');
  }

  /** The statements of this database since the last reset, but the observer's own. */
  async statementsSince(): Promise<Statement[]> {
    if (!this.statements) return [];
    const { rows } = await this.#client.query<{ query: string; calls: string; rows: string; ms: number; wal: string }>(
      `SELECT query, calls, rows, total_exec_time AS ms, wal_bytes::text AS wal FROM pg_stat_statements
       WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)
       ORDER BY calls DESC`,
    );
    return rows.map((r) => ({ query: r.query.replace(/\s+/g, ' ').trim(), calls: Number(r.calls), rows: Number(r.rows), ms: r.ms, walBytes: Number(r.wal) }));
  }

  async counters(): Promise<PgCounters> {
    const db = await this.#client.query<Record<string, string>>(
      `SELECT xact_commit, tup_returned, tup_fetched, tup_inserted, tup_updated, tup_deleted, pg_current_wal_lsn() - '0/0'::pg_lsn AS wal
       FROM pg_stat_database WHERE datname = current_database()`,
    );
    const t = await this.#client.query<Record<string, string>>(
      `SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, COALESCE(seq_tup_read, 0) AS seq, COALESCE(idx_tup_fetch, 0) AS idx
       FROM pg_stat_user_tables`,
    );
    const d = db.rows[0]!;
    const tables = new Map<string, TableCounters>();
    for (const r of t.rows) {
      tables.set(r.relname!, { ins: Number(r.n_tup_ins), upd: Number(r.n_tup_upd), hotUpd: Number(r.n_tup_hot_upd), del: Number(r.n_tup_del), seqRead: Number(r.seq), idxFetch: Number(r.idx) });
    }
    return {
      xactCommit: Number(d.xact_commit),
      tupReturned: Number(d.tup_returned),
      tupFetched: Number(d.tup_fetched),
      tupInserted: Number(d.tup_inserted),
      tupUpdated: Number(d.tup_updated),
      tupDeleted: Number(d.tup_deleted),
      tables,
      walLsn: BigInt(String(d.wal).split('.')[0]!),
    };
  }

  async end(): Promise<void> {
    await this.#client.end();
  }
}

export function tableDelta(a: PgCounters, b: PgCounters): Map<string, TableCounters> {
  const out = new Map<string, TableCounters>();
  for (const [name, t] of b.tables) {
    const o = a.tables.get(name) ?? { ins: 0, upd: 0, hotUpd: 0, del: 0, seqRead: 0, idxFetch: 0 };
    const d = { ins: t.ins - o.ins, upd: t.upd - o.upd, hotUpd: t.hotUpd - o.hotUpd, del: t.del - o.del, seqRead: t.seqRead - o.seqRead, idxFetch: t.idxFetch - o.idxFetch };
    if (d.ins || d.upd || d.del || d.seqRead || d.idxFetch) out.set(name, d);
  }
  return out;
}
