import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { PushcastError } from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import {
  abandonImport,
  acceptImport,
  insertImport,
  openStagingCopy,
  stagedRowLine,
  type ImportFormat,
  type ImportRowError,
  type StagedRow,
  type SubscriptionImport,
} from '@pushcast/store';
import type { CoreDeps } from '../../deps.ts';
import { subscriptionParser, type SubscriptionInput } from '../subscription-input.ts';
import { csvCellsToBody } from './columns.ts';
import { csvRecords, ndjsonRecords, type UploadRecord } from './records.ts';

/** An answer keeps the first errors; the counters count them all. */
export const MAX_REPORTED_ERRORS = 1000;
/** Validated rows are written to COPY in pieces of about this size. */
const COPY_PIECE_CHARS = 256 * 1024;
/**
 * Validation hands the event loop back at least this often. While the upload is buffered faster
 * than it is validated, records come from resolved promises only (microtasks), so without a turn
 * every other request of this API process would wait for a whole COPY piece (~1,000 rows, tens of
 * milliseconds on a busy machine) or longer.
 */
const VALIDATION_TURN_MS = 5;

export interface ImportUpload {
  readonly projectId: number;
  readonly format: ImportFormat;
  /** The upload as it arrives, compressed when `gzip`; read once, never held whole. */
  readonly body: Readable;
  readonly gzip: boolean;
}

/** A string PostgreSQL cannot store (NUL) or that UTF-8 cannot carry (a lone surrogate). */
function unstorable(value: string): 'no_nul' | 'well_formed_unicode' | null {
  if (value.includes('\u0000')) return 'no_nul';
  if (/\p{Cs}/u.test(value)) return 'well_formed_unicode';
  return null;
}

function storableProblem(input: SubscriptionInput): ImportRowError | null {
  const fields: [string, string | null][] =
    input.platform === 'web' ? [['endpoint', input.endpoint], ['uid', input.uid]] : [['token', input.token], ['uid', input.uid]];
  for (const [field, value] of fields) {
    const rule = value === null ? null : unstorable(value);
    if (rule) return { line: 0, field, rule, message: rule === 'no_nul' ? 'contains a NUL character' : 'contains a lone UTF-16 surrogate' };
  }
  return null;
}

function staged(line: number, input: SubscriptionInput): StagedRow {
  return input.platform === 'web'
    ? { line, platform: 'web', endpoint: input.endpoint, p256dh: input.p256dh, auth: input.auth, uid: input.uid, tags: input.tags }
    : { line, platform: input.platform, token: input.token, uid: input.uid, tags: input.tags };
}

/**
 * Reads an upload of subscriptions through the single create's validation into the staging table
 * (one COPY, constant memory whatever its size), then accepts it: the import is queued and its
 * job enqueued, and the answer can be given. A row that fails validation is counted and reported
 * (the first MAX_REPORTED_ERRORS), never stored. An upload that cannot be read to its end is
 * abandoned whole: nothing of it is applied.
 */
export async function receiveImport(deps: CoreDeps, upload: ImportUpload): Promise<SubscriptionImport> {
  const { db } = deps;
  const parse = subscriptionParser(deps.config.allowedPushHosts);
  const created = await insertImport(db, upload.projectId, upload.format);
  const log = deps.logger.child({ importId: created.id, projectId: upload.projectId });
  const errors: ImportRowError[] = [];
  let rows = 0;
  let rejected = 0;
  const reject = (error: ImportRowError) => {
    rejected += 1;
    if (errors.length < MAX_REPORTED_ERRORS) errors.push(error);
  };

  const client = await db.connect();
  const copy = openStagingCopy(client);
  try {
    const source = upload.gzip ? upload.body.pipe(createGunzip()) : upload.body;
    if (upload.gzip) upload.body.on('error', (e) => source.destroy(e));
    const records: AsyncIterable<UploadRecord> = upload.format === 'ndjson' ? ndjsonRecords(source) : csvRecords(source);
    let piece = '';
    let turnStarted = performance.now();
    for await (const record of records) {
      rows += 1;
      if ((rows & 63) === 0 && performance.now() - turnStarted >= VALIDATION_TURN_MS) {
        await nextTurn();
        turnStarted = performance.now();
      }
      if ('unreadable' in record) {
        reject({ line: record.line, ...record.unreadable });
        continue;
      }
      let input: SubscriptionInput;
      try {
        input = parse(upload.format === 'csv' ? csvCellsToBody(record.body as Record<string, string>) : record.body);
      } catch (error) {
        if (!(error instanceof PushcastError) || !error.details.field) throw error;
        reject({ line: record.line, field: error.details.field, rule: error.details.rule ?? 'invalid_value', message: error.message });
        continue;
      }
      const problem = storableProblem(input);
      if (problem) {
        reject({ ...problem, line: record.line });
        continue;
      }
      piece += stagedRowLine(created.id, staged(record.line, input));
      if (piece.length >= COPY_PIECE_CHARS) {
        if (!copy.write(piece)) await once(copy, 'drain');
        piece = '';
      }
    }
    copy.end(piece);
    await finished(copy);
  } catch (error) {
    // destroy() sends CopyFail: PostgreSQL rolls the COPY back and the connection stays usable.
    copy.destroy();
    await finished(copy).catch(() => {});
    client.release();
    await abandonImport(db, created.id, error instanceof PushcastError ? error.message : 'the upload could not be read').catch(
      (e: unknown) => log.warn({ err: e }, 'import not marked failed; the sweep will'),
    );
    if (error instanceof PushcastError) throw error;
    log.warn({ err: error }, 'import upload failed');
    throw new PushcastError('bad_request', 'the upload could not be read to its end (interrupted, or not valid gzip)', {
      field: 'body',
      rule: 'request',
    });
  }
  client.release();

  const accepted = await acceptImport(db, created.id, { rows, rejected, errors });
  await deps.queues
    .enqueue('import-subscriptions', { importId: accepted.id }, { jobId: jobIds.importSubscriptions(accepted.id) })
    .catch((err: unknown) => log.warn({ err }, 'import job not enqueued; the reconciler will'));
  log.info({ rows, rejected }, 'import accepted');
  return accepted;
}
