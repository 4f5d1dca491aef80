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

/** A project's imports, newest first (an upload cut short, whose client never saw its id, is found here). */
export async function listImports(db: Queryable, projectId: number, page: { readonly page: number; readonly perPage: number }): Promise<SubscriptionImport[]> {
  const { rows } = await db.query<ImportRow>(
    `SELECT ${COLUMNS} FROM subscription_imports WHERE project_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
    [projectId, page.perPage, (page.page - 1) * page.perPage],
  );
  return rows.map(toImport);
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
 * A COPY into the staging table on `client`: write stagedRowLine()s, end it, and wait for 'finish'
 * (which commits it). An upload is staged in pieces, one COPY each on the same connection
 * (markStaged after each), so that a worker can apply each piece while the next is arriving.
 */
export function openStagingCopy(client: pg.PoolClient): Writable {
  return client.query(
    copyFrom(
      'COPY subscription_import_rows (import_id, line, platform, endpoint, p256dh, auth, device_token, uid, tags, user_email) FROM STDIN',
    ),
  );
}

/** What the API has counted of an upload so far (or in all). */
export interface ImportCounts {
  readonly rows: number;
  readonly rejected: number;
  readonly errors: readonly ImportRowError[];
}

/**
 * Deletes import $1's staged rows past its staged_through_line (`i` is the import's row): rows a
 * COPY committed for a piece that was never recorded, so never counted and never applied. Each
 * caller adds when that holds (its CTE's condition on `i.status`, or on its own update).
 */
const DELETE_UNRECORDED = `DELETE FROM subscription_import_rows r USING subscription_imports i
       WHERE i.id = $1 AND r.import_id = $1 AND r.line > i.staged_through_line`;

/**
 * A piece of a still-arriving upload is committed to the staging table: every line through
 * `stagedThroughLine` is staged (`stagedRows` valid rows in all so far) or was rejected. A worker
 * may apply them from now on. `errors` is written only when given (it changes rarely).
 */
export async function markStaged(
  db: Queryable,
  id: number,
  staged: { readonly stagedThroughLine: number; readonly stagedRows: number; readonly rows: number; readonly rejected: number; readonly errors?: readonly ImportRowError[] },
): Promise<boolean> {
  // An upload that is no longer receiving (the stale-upload sweep ended it while this API was
  // still reading) records nothing more: the rows its pieces committed since are past its
  // staged_through_line, never counted, and go in the same statement. False tells the reader to stop.
  const { rows } = await db.query<{ marked: boolean }>(
    `WITH marked AS (
       UPDATE subscription_imports
       SET staged_through_line = $2, staged_rows = $3, rows = $4, rejected = $5, errors = coalesce($6::jsonb, errors), updated_at = now()
       WHERE id = $1 AND status = 'receiving' RETURNING id
     ), unrecorded AS (
       ${DELETE_UNRECORDED} AND NOT EXISTS (SELECT 1 FROM marked)
     )
     SELECT EXISTS (SELECT 1 FROM marked) AS marked`,
    [id, staged.stagedThroughLine, staged.stagedRows, staged.rows, staged.rejected, staged.errors ? JSON.stringify(staged.errors) : null],
  );
  return rows[0]?.marked === true;
}

/**
 * The upload is read whole and its last piece committed: the import is accepted (queued for a
 * worker, which may already have applied the earlier pieces) with what the API counted. Every
 * valid row is staged, so staged_rows is rows - rejected; the last staged line is probed (one
 * look at the primary key's end) rather than trusted from the caller.
 */
export async function acceptImport(db: Queryable, id: number, counted: ImportCounts): Promise<SubscriptionImport> {
  // Only an upload still receiving is accepted. One the stale-upload sweep interrupted meanwhile
  // (its API stopped making progress for an hour, then finished reading) keeps its interruption:
  // what its last pieces committed after it was never recorded, so it goes (as interruptUpload
  // does), and the import is answered as it stands.
  const { rows } = await db.query<ImportRow>(
    `WITH accepted AS (
       UPDATE subscription_imports
       SET status = 'queued', rows = $2, rejected = $3, errors = $4::jsonb, staged_rows = $2::bigint - $3::bigint,
           staged_through_line = greatest(staged_through_line,
             coalesce((SELECT line FROM subscription_import_rows WHERE import_id = $1 ORDER BY line DESC LIMIT 1), 0)),
           updated_at = now()
       WHERE id = $1 AND status = 'receiving' RETURNING ${COLUMNS}
     ), unrecorded AS (
       ${DELETE_UNRECORDED} AND i.status <> 'receiving'
     )
     SELECT * FROM accepted`,
    [id, counted.rows, counted.rejected, JSON.stringify(counted.errors)],
  );
  if (rows[0]) return toImport(rows[0]);
  const now = await findImport(db, id);
  if (!now) throw new Error(`import ${id} is gone`);
  return now;
}

/**
 * An upload that stopped before its end (the client went away, a body that is not valid gzip, the
 * API process dying under it). What was committed before the cut stays staged and is applied: the
 * import is queued for a worker, which ends it 'failed' with `reason` and what was applied
 * (finishImport). With nothing staged, it fails at once. Returns the import as it now is, or null
 * if it was no longer receiving.
 */
export async function interruptUpload(db: Queryable, id: number, reason: string): Promise<SubscriptionImport | null> {
  // Rows past staged_through_line were committed by a COPY whose piece was never recorded (the
  // API failed or died between the two): not counted in staged_rows, and past where the lanes
  // stop, they would keep the import from ever finishing. They go, in the same statement, as the
  // failure's message says ("nothing after it was").
  const { rows } = await db.query<ImportRow>(
    `WITH unrecorded AS (
       ${DELETE_UNRECORDED} AND i.status = 'receiving'
     )
     UPDATE subscription_imports
     SET upload_interrupted = $2,
         status = CASE WHEN staged_rows > 0 THEN 'queued' ELSE 'failed' END,
         failure = CASE WHEN staged_rows > 0 THEN NULL ELSE $2 || ': nothing was applied' END,
         finished_at = CASE WHEN staged_rows > 0 THEN NULL ELSE now() END,
         updated_at = now()
     WHERE id = $1 AND status = 'receiving' RETURNING ${COLUMNS}`,
    [id, reason],
  );
  return rows[0] ? toImport(rows[0]) : null;
}

/** Where an import stands for the worker applying it. */
export interface ImportProgress {
  readonly projectId: number;
  readonly status: ImportStatus;
  /** Lines through this one are staged and committed (or were rejected): safe to apply. */
  readonly stagedThroughLine: number;
}

/** Where an import stands now; an accepted one a worker is applying is marked running. */
export async function importProgress(db: Queryable, importId: number): Promise<ImportProgress | null> {
  type Row = { project_id: string; status: ImportStatus; staged_through_line: string };
  const { rows } = await db.query<Row>(`SELECT project_id, status, staged_through_line FROM subscription_imports WHERE id = $1`, [importId]);
  let r = rows[0];
  if (r?.status === 'queued') {
    const started = await db.query<Row>(
      `UPDATE subscription_imports SET status = 'running', updated_at = now() WHERE id = $1 AND status = 'queued'
       RETURNING project_id, status, staged_through_line`,
      [importId],
    );
    r = started.rows[0] ?? r;
  }
  return r ? { projectId: Number(r.project_id), status: r.status, stagedThroughLine: Number(r.staged_through_line) } : null;
}

/** An import as a worker starts (or resumes) applying it. */
export interface ImportToApply extends ImportProgress {
  /** The lowest line still staged (a retried job resumes there); null when none is. */
  readonly firstStagedLine: number | null;
}

/**
 * A worker starts (or resumes) applying an import: an accepted one is marked running; one still
 * receiving stays so (its upload goes on; its committed pieces can be applied). Says where to
 * start: applied rows are deleted with the transaction that applied them. Null when the import is
 * not one to apply (gone, or finished).
 */
export async function beginApplyingImport(db: Queryable, importId: number): Promise<ImportToApply | null> {
  const { rows } = await db.query<{ project_id: string; status: ImportStatus; staged_through_line: string }>(
    `UPDATE subscription_imports SET status = CASE WHEN status = 'queued' THEN 'running' ELSE status END, updated_at = now()
     WHERE id = $1 AND status IN ('receiving', 'queued', 'running') RETURNING project_id, status, staged_through_line`,
    [importId],
  );
  const r = rows[0];
  if (!r) return null;
  const { rows: first } = await db.query<{ line: string }>(
    `SELECT line FROM subscription_import_rows WHERE import_id = $1 ORDER BY line LIMIT 1`,
    [importId],
  );
  return {
    projectId: Number(r.project_id),
    status: r.status,
    stagedThroughLine: Number(r.staged_through_line),
    firstStagedLine: first[0] ? Number(first[0].line) : null,
  };
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

/**
 * Every staged row of an accepted (or interrupted) upload is applied: the import ends. Completed
 * when its upload was read whole and every staged row was applied; failed, saying what was
 * applied, when the upload was cut short or staged rows were lost (the staging table is unlogged:
 * a PostgreSQL crash empties it). False when rows are still staged (it stays running) or it is
 * not this try's to finish.
 */
export async function finishImport(db: Queryable, importId: number): Promise<boolean> {
  // Rows past staged_through_line of an upload that is over were committed by a piece that was
  // never recorded (an API still reading after the stale-upload sweep ended its upload, or racing
  // it): not counted, never applied (the lanes stop at that line), as the failure says. They go
  // here, so that they cannot keep the import from ever ending.
  const { rowCount } = await db.query(
    `WITH unrecorded AS (
       ${DELETE_UNRECORDED} AND i.status IN ('queued', 'running')
     ), ended AS (
       SELECT id, inserted + updated AS applied, staged_rows, staged_through_line, upload_interrupted
       FROM subscription_imports s
       WHERE id = $1 AND status IN ('queued', 'running')
         AND NOT EXISTS (SELECT 1 FROM subscription_import_rows r WHERE r.import_id = $1 AND r.line <= s.staged_through_line)
     )
     UPDATE subscription_imports i
     SET status = CASE WHEN e.upload_interrupted IS NULL AND e.applied >= e.staged_rows THEN 'completed' ELSE 'failed' END,
         failure = CASE
           WHEN e.upload_interrupted IS NULL AND e.applied >= e.staged_rows THEN NULL
           ELSE concat_ws('; ',
             CASE WHEN e.upload_interrupted IS NOT NULL THEN e.upload_interrupted || format(
               ' after line %s: %s rows up to it were applied and stay applied (%s inserted, %s updated, %s rejected), nothing after it was; send the rest again (from line %s) or the whole file (an import updates what it finds)',
               e.staged_through_line, e.applied, i.inserted, i.updated, i.rejected, e.staged_through_line + 1) END,
             CASE WHEN e.applied < e.staged_rows THEN format(
               '%s of %s staged rows were lost before they were applied (PostgreSQL restarted: the staging table does not survive a crash) and %s were applied; send the file again',
               e.staged_rows - e.applied, e.staged_rows, e.applied) END)
         END,
         finished_at = now(), updated_at = now()
     FROM ended e WHERE i.id = e.id`,
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
 * Uploads whose API process died while reading them: never answered, so never accepted. What was
 * staged before is applied, and the import ends failed (interruptUpload) after `olderThanMs`
 * without progress. Returns the imports that now need a worker.
 */
export async function interruptStaleUploads(db: Db, olderThanMs: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM subscription_imports WHERE status = 'receiving' AND updated_at < now() - make_interval(secs => $1 / 1000.0)`,
    [olderThanMs],
  );
  const queued: number[] = [];
  for (const { id } of rows) {
    const now = await interruptUpload(db, id, 'the upload was interrupted (its API process stopped reading it)');
    if (now?.status === 'queued') queued.push(id);
  }
  return queued;
}
