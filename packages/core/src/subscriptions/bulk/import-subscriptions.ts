import { once } from 'node:events';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { PushcastError } from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import {
  acceptImport,
  insertImport,
  interruptUpload,
  markStaged,
  openStagingCopy,
  type ImportFormat,
  type ImportRowError,
  type SubscriptionImport,
} from '@pushcast/store';
import type { CoreDeps } from '../../deps.ts';
import { csvRecords, ndjsonPieces, type NdjsonPiece, type UploadRecord } from './records.ts';
import { validateWork, type ValidationWork } from './validate-records.ts';

/** An answer keeps the first errors; the counters count them all. */
export const MAX_REPORTED_ERRORS = 1000;
/**
 * An upload is committed to the staging table in pieces of about this many rows, each applied by
 * a worker while the next arrives (the two halves of an import overlap; an upload cut short keeps
 * what was committed). Also the apply's slice (IMPORT_SLICE_LINES): one slice per piece.
 */
const STAGED_PIECE_ROWS = 20_000;
/** ... or after this long with rows in the piece (a slow upload is applied as it trickles in). */
const STAGED_PIECE_MS = 1_000;
/**
 * CSV records per batch validated at once (a few milliseconds of the event loop at a time; the
 * reader hands it back between them, READING_TURN_MS).
 */
const BATCH_RECORDS = 500;
/** Bytes of NDJSON lines per batch validated at once (~500 web subscriptions, ~2-3 ms). */
export const BATCH_BYTES = 128 * 1024;
/** Batches read and waiting for the ones before them to be written to COPY: bounds memory. */
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
 * (constant memory whatever its size), in pieces that a worker applies as they land: every
 * STAGED_PIECE_ROWS rows (or STAGED_PIECE_MS while rows trickle in) the COPY is committed, the
 * import row says how far it got (staged_through_line) and the import's job is enqueued (a no-op
 * while it runs: it looks for the next piece itself). Once the upload is read whole the import is
 * accepted and the answer given; by then much of it is applied. NDJSON is cut into runs of whole
 * lines as bytes and each batch of them decoded, split, parsed and validated at once
 * (validate-records.ts; CSV records are read one by one), in upload order, on a chain of their own
 * so that a piece is staged even while the reader waits for the client. Validation runs on the
 * event loop, in batches of a few milliseconds: it used to run on two worker threads, which kept it
 * off the event loop but cost more CPU in all (each thread loads tsx and the core's modules, ~2 s
 * of CPU and ~85 MiB per process, and every batch was copied to and from them), and CPU per row
 * is what bounds an import on a small machine (docs/benchmarks.md). A row that fails validation
 * is counted and reported (the first MAX_REPORTED_ERRORS), never stored. An upload that cannot be read to its end keeps what was
 * committed before the cut: it is applied, and the import ends failed saying so.
 */
export async function receiveImport(deps: CoreDeps, upload: ImportUpload): Promise<SubscriptionImport> {
  const { db } = deps;
  const hosts = deps.config.allowedPushHosts;
  const created = await insertImport(db, upload.projectId, upload.format);
  const log = deps.logger.child({ importId: created.id, projectId: upload.projectId });
  const errors: ImportRowError[] = [];
  // What the settled batches (in upload order) hold: rows, rejected rows, staged rows, last line.
  let settledRows = 0;
  let rejected = 0;
  let stagedRows = 0;
  let settledThroughLine = 0;
  // The last line of the last piece committed AND recorded on the import: what an upload cut short
  // keeps (settledThroughLine may be ahead of it, in the piece still open, which is rolled back).
  let committedThroughLine = 0;
  // Of the piece being written: rows staged in it, when the last piece was committed, whether
  // errors grew since (the import row's copy of them is rewritten only then).
  let pieceRows = 0;
  let pieceStarted = performance.now();
  let errorsChanged = false;
  let enqueued = false;

  const client = await db.connect();
  let copy = openStagingCopy(client);
  const enqueue = () =>
    deps.queues
      .enqueue('import-subscriptions', { importId: created.id }, { jobId: jobIds.importSubscriptions(created.id) })
      .catch((err: unknown) => log.warn({ err }, 'import job not enqueued; the reconciler will'));

  /** Commits the piece written so far and says so on the import row: a worker may apply it. */
  const commitPiece = async () => {
    const ending = copy;
    ending.end();
    await finished(ending);
    copy = openStagingCopy(client);
    const staged = pieceRows;
    pieceRows = 0;
    pieceStarted = performance.now();
    const through = settledThroughLine;
    const marked = await markStaged(db, created.id, {
      stagedThroughLine: through,
      stagedRows,
      rows: settledRows,
      rejected,
      ...(errorsChanged ? { errors } : {}),
    });
    if (!marked) {
      throw new PushcastError(
        'conflict',
        `the import ended while its upload was arriving (no progress was recorded for too long): lines up to ${committedThroughLine} are kept, nothing after it; see GET /imports/${created.id}`,
        { field: 'body', rule: 'request' },
      );
    }
    errorsChanged = false;
    committedThroughLine = through;
    // The job looks for the next pieces itself while it runs; enqueued again after it went idle.
    if (staged > 0 || !enqueued) {
      enqueued = true;
      void enqueue();
    }
  };

  // Batches settle in upload order on this chain, apart from the reader: a failure stops it and
  // is rethrown to the reader (which is woken by destroying the source).
  let chain: Promise<void> = Promise.resolve();
  let chainFailure: unknown = null;
  const settled: Promise<void>[] = [];
  let source: Readable | undefined;
  const onChain = (step: () => Promise<void>): Promise<void> => {
    chain = chain.then(step);
    const link = chain;
    link.catch((error: unknown) => {
      if (chainFailure === null) {
        chainFailure = error;
        source?.destroy(error instanceof Error ? error : new Error(String(error)));
      }
    });
    return link;
  };
  // The reader and the chain's validation both hand the event loop back at least every
  // READING_TURN_MS: batches resolved one after another (microtasks) would otherwise run back to
  // back and hold up every other request of this process.
  let turnStarted = performance.now();
  const turn = async () => {
    if (performance.now() - turnStarted >= READING_TURN_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
  };
  const send = (work: ValidationWork, lastLine: number) => {
    settled.push(
      onChain(async () => {
        await turn();
        const done = validateWork(created.id, hosts, work);
        rejected += done.errors.length;
        for (const error of done.errors) {
          if (errors.length < MAX_REPORTED_ERRORS) {
            errors.push(error);
            errorsChanged = true;
          }
        }
        const staged = done.rows - done.errors.length;
        settledRows += done.rows;
        stagedRows += staged;
        pieceRows += staged;
        settledThroughLine = lastLine;
        let flowing = true;
        for (const segment of done.copy) flowing = copy.write(segment);
        if (!flowing) await once(copy, 'drain');
        if (pieceRows >= STAGED_PIECE_ROWS || (pieceRows > 0 && performance.now() - pieceStarted >= STAGED_PIECE_MS)) {
          await commitPiece();
        }
      }),
    );
  };

  // What is read and not yet sent: CSV records, or runs of NDJSON lines (their bytes, in order).
  let batch: UploadRecord[] = [];
  let lines: NdjsonPiece[] = [];
  let linesBytes = 0;
  const sendLines = () => {
    const last = lines[lines.length - 1]!;
    const bytes = lines.length === 1 ? last.bytes : Buffer.concat(lines.map((p) => p.bytes), linesBytes);
    send({ ndjson: { firstLine: lines[0]!.firstLine, bytes, overlongFirst: lines[0]!.overlongFirst } }, last.firstLine + last.lines - 1);
    lines = [];
    linesBytes = 0;
  };
  const sendRead = () => {
    if (batch.length > 0) send({ records: batch }, batch[batch.length - 1]!.line);
    batch = [];
    if (lines.length > 0) sendLines();
  };
  // A slow upload: a partial batch waiting for more records is sent after a while, and a piece
  // with rows in it committed, so that what arrived is applied without waiting for the rest.
  let lastRecordAt = performance.now();
  let reading = true;
  let commitQueued = false;
  const trickle = setInterval(() => {
    if (!reading || chainFailure !== null) return;
    const quiet = performance.now() - lastRecordAt >= STAGED_PIECE_MS / 2;
    if (quiet) sendRead();
    if (quiet && !commitQueued && pieceRows > 0 && performance.now() - pieceStarted >= STAGED_PIECE_MS) {
      commitQueued = true;
      void onChain(async () => {
        commitQueued = false;
        if (pieceRows > 0) await commitPiece();
      });
    }
  }, STAGED_PIECE_MS / 4);
  trickle.unref();

  try {
    source = upload.gzip ? upload.body.pipe(createGunzip()) : upload.body;
    if (upload.gzip) upload.body.on('error', (e) => source!.destroy(e));
    let read = 0;
    if (upload.format === 'ndjson') {
      for await (const piece of ndjsonPieces(source)) {
        lastRecordAt = performance.now();
        // A batch is one run of lines: only its first line can be the end of an overlong one.
        if (piece.overlongFirst && lines.length > 0) sendLines();
        lines.push(piece);
        linesBytes += piece.bytes.length;
        if (linesBytes >= BATCH_BYTES) {
          sendLines();
          while (settled.length >= BATCHES_IN_FLIGHT) await settled.shift();
        }
        await turn();
      }
    } else {
      for await (const record of csvRecords(source)) {
        lastRecordAt = performance.now();
        batch.push(record);
        if (batch.length === BATCH_RECORDS) {
          sendRead();
          while (settled.length >= BATCHES_IN_FLIGHT) await settled.shift();
        }
        if ((++read & 63) === 0) await turn();
      }
    }
    reading = false;
    sendRead();
    while (settled.length > 0) await settled.shift();
    await chain;
    if (chainFailure !== null) throw chainFailure;
    copy.end();
    await finished(copy);
  } catch (caught) {
    reading = false;
    clearInterval(trickle);
    const error = chainFailure ?? caught;
    // The batches already read settle first (and may commit a piece: rows received whole and
    // validated); then the piece still open is rolled back. Nothing is committed after that.
    settled.length = 0;
    await chain.catch(() => {});
    // destroy() sends CopyFail: PostgreSQL rolls the piece back and the connection stays usable.
    copy.destroy();
    await finished(copy).catch(() => {});
    client.release();
    const reason = error instanceof PushcastError ? `the upload was refused (${error.message})` : 'the upload was interrupted';
    const interrupted = await interruptUpload(db, created.id, reason).catch((e: unknown) => {
      log.warn({ err: e }, 'import not marked interrupted; the sweep will');
      return null;
    });
    if (interrupted?.status === 'queued') void enqueue();
    if (error instanceof PushcastError) throw error;
    log.warn({ err: error, stagedThroughLine: committedThroughLine }, 'import upload failed');
    throw new PushcastError(
      'bad_request',
      `the upload could not be read to its end (interrupted, or not valid gzip); ${
        interrupted?.status === 'queued' ? `lines up to ${committedThroughLine} are kept and being applied (nothing after it is): see GET /imports/${created.id}` : 'nothing of it is applied'
      }`,
      { field: 'body', rule: 'request' },
    );
  }
  clearInterval(trickle);
  client.release();

  const accepted = await acceptImport(db, created.id, { rows: settledRows, rejected, errors });
  await enqueue();
  log.info({ rows: settledRows, rejected }, 'import accepted');
  return accepted;
}
