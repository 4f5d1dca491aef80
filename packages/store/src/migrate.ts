import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { Db } from './db.ts';

const MIGRATIONS_DIR = fileURLToPath(new URL('../migrations/', import.meta.url));
// Any constant shared by all Pushcast processes: concurrent starts (API and workers scaled out)
// take turns instead of racing to apply the same migration.
const MIGRATION_LOCK_KEY = 7_365_001;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

// The files ship with the code and never change while it runs: read once, not on every readiness probe.
let migrations: Promise<Migration[]> | undefined;

export function listMigrations(): Promise<Migration[]> {
  migrations ??= readMigrations().catch((error: unknown) => {
    migrations = undefined;
    throw error;
  });
  return migrations;
}

async function readMigrations(): Promise<Migration[]> {
  const files = (await readdir(MIGRATIONS_DIR)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => ({
      version: Number(file.slice(0, 4)),
      name: file.slice(5, -4),
      sql: await readFile(MIGRATIONS_DIR + file, 'utf8'),
    })),
  );
}

/** Applies pending migrations, each in its own transaction. Returns the versions applied. */
export async function migrate(db: Db): Promise<number[]> {
  const migrations = await listMigrations();
  const client = await db.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of migrations) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.version}_${m.name} failed: ${(error as Error).message}`, { cause: error });
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    client.release();
  }
}

/** True when every migration this code knows is applied (readiness). */
export async function migrationsApplied(db: Db): Promise<boolean> {
  const known = (await listMigrations()).map((m) => m.version);
  const exists = await db.query<{ t: string | null }>(`SELECT to_regclass('schema_migrations') AS t`);
  if (exists.rows[0]?.t == null) return known.length === 0;
  const { rows } = await db.query<{ version: number }>('SELECT version FROM schema_migrations');
  const done = new Set(rows.map((r) => r.version));
  return known.every((v) => done.has(v));
}
