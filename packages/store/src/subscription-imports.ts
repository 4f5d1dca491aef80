import type { Writable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db, Queryable } from './db.ts';
import { inTransaction } from './db.ts';

export type ImportFormat = 'ndjson' | 'csv';
export type ImportStatus = 'receiving' | 'queued' | 'running' | 'completed' | 'failed';

/** A rejected row of an upload: its 1-based line (record, for CSV) and the rule it broke. */
export interface ImportRowError {
  readonly line: number;
  readonly field: string;
  readonly rule: string;
  readonly message: string;
}

export interface SubscriptionImport {
  readonly id: number;
  readonly projectId: number;
  readonly format: ImportFormat;
  readonly status: ImportStatus;
  readonly rows: number;
  readonly inserted: number;
  readonly updated: number;
  readonly rejected: number;
  readonly errors: readonly ImportRowError[];
  readonly failure: string | null;
  readonly createdAt: Date;
  readonly finishedAt: Date | null;
}

/** A validated row waiting in the staging table. */
export type StagedRow =
  | { readonly line: number; readonly platform: 'web'; readonly endpoint: string; readonly p256dh: string; readonly auth: string; readonly uid: string | null; readonly tags: readonly string[] }
  | { readonly line: number; readonly platform: 'apns' | 'fcm'; readonly token: string; readonly uid: string | null; readonly tags: readonly string[] };

interface ImportRow {
  id: number;
  project_id: number;
  format: ImportFormat;
  status: ImportStatus;
  rows: number;
  inserted: number;
  updated: number;
  rejected: number;
  errors: ImportRowError[];
  failure: string | null;
  created_at: Date;
  finished_at: Date | null;
}

const COLUMNS = 'id, project_id, format, status, rows, inserted, updated, rejected, errors, failure, created_at, finished_at';

const toImport = (r: ImportRow): SubscriptionImport => ({
  id: r.id,
  projectId: r.project_id,
  format: r.format,
  status: r.status,
  rows: r.rows,
  inserted: r.inserted,
  updated: r.updated,
  rejected: r.rejected,
  errors: r.errors,
  failure: r.failure,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

export async function insertImport(db: Queryable, projectId: number, format: ImportFormat): Promise<SubscriptionImport> {
  const { rows } = await db.query<ImportRow>(
    `INSERT INTO subscription_imports (project_id, format) VALUES ($1, $2) RETURNING ${COLUMNS}`,
    [projectId, format],
  );
  return toImport(rows[0]!);
}

export async function findImport(db: Queryable, id: number): Promise<SubscriptionImport | null> {
  const { rows } = await db.query<ImportRow>(`SELECT ${COLUMNS} FROM subscription_imports WHERE id = $1`, [id]);
  return rows[0] ? toImport(rows[0]) : null;
}

// COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL.
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyField = (value: string | null): string => (value === null ? '\\N' : value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!));
const arrayLiteral = (items: readonly string[]): string => `{${items.map((t) => `"${t.replace(/["\\]/g, '\\$&')}"`).join(',')}}`;

/** One staged row as a line of COPY's text format (the columns of openStagingCopy). */
export function stagedRowLine(importId: number, row: StagedRow): string {
  const web = row.platform === 'web';
  return [
    String(importId),
    String(row.line),
    row.platform,
    copyField(web ? row.endpoint : null),
    copyField(web ? row.p256dh : null),
    copyField(web ? row.auth : null),
    copyField(web ? null : row.token),
    copyField(row.uid),
    copyField(arrayLiteral(row.tags)),
  ].join('\t') + '\n';
}

/**
 * A COPY into the staging table on `client` (held for the whole upload): write stagedRowLine()s,
 * end it, and wait for 'finish'. One COPY per upload, so PostgreSQL takes rows as fast as they
 * are validated, whatever the upload's size.
 */
export function openStagingCopy(client: pg.PoolClient): Writable {
  return client.query(
    copyFrom(
      'COPY subscription_import_rows (import_id, line, platform, endpoint, p256dh, auth, device_token, uid, tags) FROM STDIN',
    ),
  );
}

/** The upload is read: the import is accepted (queued for a worker) with what the API counted. */
export async function acceptImport(
  db: Queryable,
  id: number,
  counted: { rows: number; rejected: number; errors: readonly ImportRowError[] },
): Promise<SubscriptionImport> {
  const { rows } = await db.query<ImportRow>(
    `UPDATE subscription_imports SET status = 'queued', rows = $2, rejected = $3, errors = $4::jsonb, updated_at = now()
     WHERE id = $1 RETURNING ${COLUMNS}`,
    [id, counted.rows, counted.rejected, JSON.stringify(counted.errors)],
  );
  return toImport(rows[0]!);
}

/** An upload that could not be read to its end: nothing of it is applied, its staged rows go. */
export async function abandonImport(db: Db, id: number, failure: string): Promise<void> {
  await inTransaction(db, async (client) => {
    await client.query(`DELETE FROM subscription_import_rows WHERE import_id = $1`, [id]);
    await client.query(
      `UPDATE subscription_imports SET status = 'failed', failure = $2, updated_at = now(), finished_at = now() WHERE id = $1`,
      [id, failure],
    );
  });
}

export interface AppliedBatch {
  readonly applied: number;
  readonly done: boolean;
}

/**
 * Applies the next `maxRows` staged rows of an import, in line order, in one transaction: they
 * are deleted from the staging table and upserted into subscriptions set-based (a later row for
 * the same endpoint or token wins, as it would one request after another), and the import's
 * counters move with them. A job that dies between two batches goes on from the next one.
 */
export async function applyImportBatch(db: Db, importId: number, maxRows: number): Promise<AppliedBatch> {
  return inTransaction(db, async (client) => {
    const found = await client.query<{ project_id: number; status: ImportStatus }>(
      `SELECT project_id, status FROM subscription_imports WHERE id = $1 FOR UPDATE`,
      [importId],
    );
    const current = found.rows[0];
    if (!current || (current.status !== 'queued' && current.status !== 'running')) return { applied: 0, done: true };
    const { rows } = await client.query<{ staged: number; inserted: number; updated: number }>(
      `WITH batch AS (
         DELETE FROM subscription_import_rows
         WHERE import_id = $1 AND line IN (
           SELECT line FROM subscription_import_rows WHERE import_id = $1 ORDER BY line LIMIT $3)
         RETURNING *
       ),
       web AS (
         SELECT DISTINCT ON (endpoint) line, endpoint, p256dh, auth, uid, tags
         FROM batch WHERE platform = 'web' ORDER BY endpoint, line DESC
       ),
       device AS (
         SELECT DISTINCT ON (platform, device_token) line, platform, device_token, uid, tags
         FROM batch WHERE platform <> 'web' ORDER BY platform, device_token, line DESC
       ),
       web_upsert AS (
         INSERT INTO subscriptions (project_id, platform, endpoint, p256dh, auth, uid, tags)
         SELECT $2, 'web', endpoint, p256dh, auth, uid, tags FROM web ORDER BY line
         ON CONFLICT (project_id, endpoint) WHERE platform = 'web'
         DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, uid = EXCLUDED.uid, tags = EXCLUDED.tags,
                       updated_at = now()
         RETURNING (xmax = 0) AS inserted
       ),
       device_upsert AS (
         INSERT INTO subscriptions (project_id, platform, device_token, uid, tags)
         SELECT $2, platform, device_token, uid, tags FROM device ORDER BY line
         ON CONFLICT (project_id, platform, device_token) WHERE platform <> 'web'
         DO UPDATE SET uid = EXCLUDED.uid, tags = EXCLUDED.tags, updated_at = now()
         RETURNING (xmax = 0) AS inserted
       ),
       upserted AS (SELECT inserted FROM web_upsert UNION ALL SELECT inserted FROM device_upsert)
       SELECT (SELECT count(*) FROM batch)::int AS staged,
              (SELECT count(*) FROM upserted WHERE inserted)::int AS inserted,
              (SELECT count(*) FROM upserted WHERE NOT inserted)::int AS updated`,
      [importId, current.project_id, maxRows],
    );
    const counts = rows[0]!;
    // A row that a later row of the same batch replaced counts as updated: it was, by that row.
    const replacedInBatch = counts.staged - counts.inserted - counts.updated;
    const done = counts.staged < maxRows;
    await client.query(
      `UPDATE subscription_imports
       SET inserted = inserted + $2, updated = updated + $3,
           status = CASE WHEN $4 THEN 'completed' ELSE 'running' END,
           finished_at = CASE WHEN $4 THEN now() END, updated_at = now()
       WHERE id = $1`,
      [importId, counts.inserted, counts.updated + replacedInBatch, done],
    );
    return { applied: counts.staged, done };
  });
}

/**
 * After an import the planner's statistics on subscriptions are stale (a project of none looks
 * like a project of none): refreshed at once rather than at autovacuum's next pass, so that
 * audiences, exports and plans get index scans from the first query.
 */
export async function refreshSubscriptionStatistics(db: Queryable): Promise<void> {
  await db.query('ANALYZE subscriptions');
}

/** Imports a worker should be applying (their jobs may have been lost with Redis). */
export async function unfinishedImports(db: Queryable): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM subscription_imports WHERE status IN ('queued', 'running') ORDER BY id`,
  );
  return rows.map((r) => r.id);
}

/**
 * Uploads whose API process died while reading them: never answered, so never accepted; their
 * staged rows are dropped and the import marked failed after `olderThanMs` without progress.
 */
export async function abandonStaleUploads(db: Db, olderThanMs: number): Promise<number> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM subscription_imports WHERE status = 'receiving' AND updated_at < now() - make_interval(secs => $1 / 1000.0)`,
    [olderThanMs],
  );
  for (const { id } of rows) await abandonImport(db, id, 'the upload was interrupted');
  return rows.length;
}
