import type { Writable } from 'node:stream';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Db, Queryable } from './db.ts';
import { inTransaction } from './db.ts';
import { REVIVE } from './subscriptions.ts';

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
  | { readonly line: number; readonly platform: 'web'; readonly endpoint: string; readonly p256dh: string; readonly auth: string; readonly uid: string | null; readonly tags: readonly string[]; readonly userEmail: string | null }
  | { readonly line: number; readonly platform: 'apns' | 'fcm'; readonly token: string; readonly uid: string | null; readonly tags: readonly string[]; readonly userEmail: string | null };

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

// COPY's text format: backslash, tab, newline and carriage return are escaped; \N is NULL. The
// test first: almost no value needs escaping, and a regex replace per field cost more than the
// COPY itself (5 µs a row for the whole line before, ~1 µs now).
const COPY_SPECIAL = /[\\\t\n\r]/;
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
const copyField = (value: string | null): string =>
  value === null ? '\\N' : COPY_SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]!) : value;
const ARRAY_SPECIAL = /["\\]/;
function arrayLiteral(items: readonly string[]): string {
  let literal = '{';
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i]!;
    literal += `${i === 0 ? '' : ','}"${ARRAY_SPECIAL.test(item) ? item.replace(/["\\]/g, '\\$&') : item}"`;
  }
  return `${literal}}`;
}

/** One staged row as a line of COPY's text format (the columns of openStagingCopy). */
export function stagedRowLine(importId: number, row: StagedRow): string {
  const head = `${importId}\t${row.line}\t${row.platform}\t`;
  const tail = `${copyField(row.uid)}\t${copyField(arrayLiteral(row.tags))}\t${copyField(row.userEmail)}\n`;
  return row.platform === 'web'
    ? `${head}${copyField(row.endpoint)}\t${copyField(row.p256dh)}\t${copyField(row.auth)}\t\\N\t${tail}`
    : `${head}\\N\t\\N\t\\N\t${copyField(row.token)}\t${tail}`;
}

/**
 * A COPY into the staging table on `client` (held for the whole upload): write stagedRowLine()s,
 * end it, and wait for 'finish'. One COPY per upload, so PostgreSQL takes rows as fast as they
 * are validated, whatever the upload's size.
 */
export function openStagingCopy(client: pg.PoolClient): Writable {
  return client.query(
    copyFrom(
      'COPY subscription_import_rows (import_id, line, platform, endpoint, p256dh, auth, device_token, uid, tags, user_email) FROM STDIN',
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

/** An accepted import as a worker starts (or resumes) applying it. */
export interface ImportToApply {
  readonly projectId: number;
  /** The lowest and highest staged lines still to apply; null when none is left. */
  readonly lines: { readonly first: number; readonly last: number } | null;
}

/**
 * Marks an accepted import running and says which staged lines are left (a retried job resumes
 * there: applied rows are deleted with the transaction that applied them). Null when the import is
 * not one to apply (gone, never accepted, or already finished).
 */
export async function beginApplyingImport(db: Queryable, importId: number): Promise<ImportToApply | null> {
  const { rows } = await db.query<{ project_id: number }>(
    `UPDATE subscription_imports SET status = 'running', updated_at = now()
     WHERE id = $1 AND status IN ('queued', 'running') RETURNING project_id`,
    [importId],
  );
  if (!rows[0]) return null;
  // Two probes of the primary key's ends, not an aggregate over the import's rows.
  const { rows: ends } = await db.query<{ first: string | null; last: string | null }>(
    `SELECT (SELECT line FROM subscription_import_rows WHERE import_id = $1 ORDER BY line LIMIT 1) AS first,
            (SELECT line FROM subscription_import_rows WHERE import_id = $1 ORDER BY line DESC LIMIT 1) AS last`,
    [importId],
  );
  const { first, last } = ends[0]!;
  return { projectId: Number(rows[0].project_id), lines: first === null || last === null ? null : { first: Number(first), last: Number(last) } };
}

/**
 * A share of an import's staged rows: the lines in (afterLine, throughLine] whose subscription key
 * (endpoint, or device token) hashes to `lane` of `lanes`. Lanes split by key, not by line, so that
 * every row for one endpoint or token is applied by one lane, in line order: lanes can run at once
 * (one transaction each, on their own connections) without ever touching the same subscription,
 * and "a later row wins" holds as if the rows were applied one after another.
 */
export interface ImportSlice {
  readonly afterLine: number;
  readonly throughLine: number;
  readonly lane: number;
  readonly lanes: number;
}

/**
 * Applies one slice of an import in one transaction: its staged rows are deleted and upserted into
 * subscriptions set-based (within the slice, the last row of a key wins), and the import's counters
 * move with them. The rows are found by a range of the staging table's primary key, so a slice
 * costs the same however large the import (no scan of what is left, no sort of it). Returns how many
 * staged rows it applied. A job that dies between two slices goes on from the rows still staged.
 */
export async function applyImportSlice(db: Db, importId: number, projectId: number, slice: ImportSlice): Promise<number> {
  return inTransaction(db, async (client) => {
    const { rows } = await client.query<{ staged: number; inserted: number; updated: number }>(
      `WITH batch AS (
         DELETE FROM subscription_import_rows
         WHERE import_id = $1 AND line > $3 AND line <= $4
           AND (hashtext(coalesce(endpoint, device_token)) & 2147483647) % $5 = $6
         RETURNING line, platform, endpoint, p256dh, auth, device_token, uid, tags, user_email
       ),
       web AS (
         SELECT DISTINCT ON (endpoint) line, endpoint, p256dh, auth, uid, tags, user_email
         FROM batch WHERE platform = 'web' ORDER BY endpoint, line DESC
       ),
       device AS (
         SELECT DISTINCT ON (platform, device_token) line, platform, device_token, uid, tags, user_email
         FROM batch WHERE platform <> 'web' ORDER BY platform, device_token, line DESC
       ),
       web_upsert AS (
         INSERT INTO subscriptions (project_id, platform, endpoint, p256dh, auth, uid, tags, user_email)
         SELECT $2, 'web', endpoint, p256dh, auth, uid, tags, user_email FROM web ORDER BY line
         ON CONFLICT (project_id, endpoint) WHERE platform = 'web'
         DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, uid = EXCLUDED.uid, tags = EXCLUDED.tags,
                       user_email = EXCLUDED.user_email, ${REVIVE}, updated_at = now()
         RETURNING (xmax = 0) AS inserted
       ),
       device_upsert AS (
         INSERT INTO subscriptions (project_id, platform, device_token, uid, tags, user_email)
         SELECT $2, platform, device_token, uid, tags, user_email FROM device ORDER BY line
         ON CONFLICT (project_id, platform, device_token) WHERE platform <> 'web'
         DO UPDATE SET uid = EXCLUDED.uid, tags = EXCLUDED.tags, user_email = EXCLUDED.user_email, ${REVIVE}, updated_at = now()
         RETURNING (xmax = 0) AS inserted
       ),
       upserted AS (SELECT inserted FROM web_upsert UNION ALL SELECT inserted FROM device_upsert)
       SELECT (SELECT count(*) FROM batch)::int AS staged,
              (SELECT count(*) FROM upserted WHERE inserted)::int AS inserted,
              (SELECT count(*) FROM upserted WHERE NOT inserted)::int AS updated`,
      [importId, projectId, slice.afterLine, slice.throughLine, slice.lanes, slice.lane],
    );
    const counts = rows[0]!;
    if (counts.staged === 0) return 0;
    // A row that a later row of the same slice replaced counts as updated: it was, by that row.
    const replacedInSlice = counts.staged - counts.inserted - counts.updated;
    // Last in the transaction: the import's row is the one lock lanes share, held only to commit.
    await client.query(
      `UPDATE subscription_imports SET inserted = inserted + $2, updated = updated + $3, updated_at = now() WHERE id = $1`,
      [importId, counts.inserted, counts.updated + replacedInSlice],
    );
    return counts.staged;
  });
}

/** Every staged row is applied: the import is completed (unless rows are left, when it stays running). */
export async function completeImport(db: Queryable, importId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `UPDATE subscription_imports SET status = 'completed', finished_at = now(), updated_at = now()
     WHERE id = $1 AND status = 'running' AND NOT EXISTS (SELECT 1 FROM subscription_import_rows WHERE import_id = $1)`,
    [importId],
  );
  return rowCount === 1;
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
