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
  type ImportFormat,
  type ImportRowError,
  type SubscriptionImport,
} from '@pushcast/store';
import type { CoreDeps } from '../../deps.ts';
import { csvRecords, ndjsonRecords, type UploadRecord } from './records.ts';
import type { ValidatedBatch } from './validate-records.ts';
import { validationThreads } from './validation-threads.ts';

/** An answer keeps the first errors; the counters count them all. */
export const MAX_REPORTED_ERRORS = 1000;
/** Validated rows are written to COPY in pieces of about this size. */
const COPY_PIECE_CHARS = 256 * 1024;
/** Records per batch sent to a validation thread: large enough that messages cost little. */
const BATCH_RECORDS = 500;
/** Batches being validated at once: enough to keep every thread busy, few enough to bound memory. */
const BATCHES_IN_FLIGHT = 8;
/**
 * Reading the upload hands the event loop back at least this often. While the upload is buffered
 * faster than it is read, records come from resolved promises only (microtasks), so without a
 * turn every other request of this API process would wait.
 */
const READING_TURN_MS = 5;

export interface ImportUpload {
  readonly projectId: number;
  readonly format: ImportFormat;
  /** The upload as it arrives, compressed when `gzip`; read once, never held whole. */
  readonly body: Readable;
  readonly gzip: boolean;
}

/**
 * Reads an upload of subscriptions through the single create's validation into the staging table
 * (one COPY, constant memory whatever its size), then accepts it: the import is queued and its
 * job enqueued, and the answer can be given. Records are split here and validated in batches on
 * the validation threads (validation-threads.ts), their results taken back in upload order. A row
 * that fails validation is counted and reported (the first MAX_REPORTED_ERRORS), never stored. An
 * upload that cannot be read to its end is abandoned whole: nothing of it is applied.
 */
export async function receiveImport(deps: CoreDeps, upload: ImportUpload): Promise<SubscriptionImport> {
  const { db } = deps;
  const hosts = deps.config.allowedPushHosts;
  const threads = validationThreads();
  const created = await insertImport(db, upload.projectId, upload.format);
  const log = deps.logger.child({ importId: created.id, projectId: upload.projectId });
  const errors: ImportRowError[] = [];
  let rows = 0;
  let rejected = 0;

  const client = await db.connect();
  const copy = openStagingCopy(client);
  const inFlight: Promise<ValidatedBatch>[] = [];
  let piece = '';
  // The oldest batch's result: its rejected rows counted, its valid rows on their way to COPY.
  const settleOldest = async () => {
    const done = await inFlight.shift()!;
    rejected += done.errors.length;
    for (const error of done.errors) {
      if (errors.length < MAX_REPORTED_ERRORS) errors.push(error);
    }
    piece += done.copy;
    if (piece.length >= COPY_PIECE_CHARS) {
      if (!copy.write(piece)) await once(copy, 'drain');
      piece = '';
    }
  };
  const send = (batch: readonly UploadRecord[]) => {
    const validated = threads.validate(created.id, hosts, batch);
    // Awaited in order by settleOldest; should reading fail first, its failure is not unhandled.
    validated.catch(() => {});
    inFlight.push(validated);
  };
  try {
    const source = upload.gzip ? upload.body.pipe(createGunzip()) : upload.body;
    if (upload.gzip) upload.body.on('error', (e) => source.destroy(e));
    const records: AsyncIterable<UploadRecord> = upload.format === 'ndjson' ? ndjsonRecords(source) : csvRecords(source);
    let batch: UploadRecord[] = [];
    let turnStarted = performance.now();
    for await (const record of records) {
      rows += 1;
      batch.push(record);
      if (batch.length === BATCH_RECORDS) {
        send(batch);
        batch = [];
        while (inFlight.length >= BATCHES_IN_FLIGHT) await settleOldest();
      }
      if ((rows & 63) === 0 && performance.now() - turnStarted >= READING_TURN_MS) {
        await nextTurn();
        turnStarted = performance.now();
      }
    }
    if (batch.length > 0) send(batch);
    while (inFlight.length > 0) await settleOldest();
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
