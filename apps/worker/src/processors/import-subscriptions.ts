import { setTimeout as sleep } from 'node:timers/promises';
import { jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import {
  applyImportSlice,
  beginApplyingImport,
  finishImport,
  importProgress,
  interruptStaleUploads,
  refreshSubscriptionStatistics,
  unfinishedImports,
  type Db,
  type ImportProgress,
} from '@pushcast/store';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';

/**
 * Lines of the upload per slice: each lane applies its share of them (about LINES / LANES rows) in
 * one transaction. Large enough for set-based speed, small enough to keep each transaction short.
 */
export const IMPORT_SLICE_LINES = 20_000;
/**
 * Transactions applying one import at once, each on its own connection. The upsert's cost is
 * PostgreSQL's (index maintenance, WAL), single-threaded per transaction: two lanes keep two cores
 * busy (1M rows: 22.9 k rows/s with one, 44.8 k with two, 42.5 k with three on the 2-core
 * benchmark machine; docs/benchmarks.md).
 */
export const IMPORT_LANES = 2;
/** While an upload is arriving and every committed piece is applied, its import is looked at this often. */
const IMPORT_POLL_MS = 100;
/**
 * An upload that commits nothing new for this long has its job return (a slow client; the API
 * enqueues the job again with its next piece, the reconciler if that is lost), so that a worker
 * does not sit on a slow upload, nor wait for one to shut down.
 */
const IMPORT_IDLE_MS = 5_000;
/** An upload with no progress for this long had its API process die under it. */
const STALE_UPLOAD_MS = 60 * 60 * 1000;

/**
 * Applies an import's staged rows, lane by lane, from wherever an earlier try stopped, while its
 * upload is still arriving: each lane applies the lines the API has committed so far
 * (staged_through_line), then looks again, until the upload has ended and everything staged is
 * applied; the import then ends (completed, or failed if the upload was cut short: finishImport).
 */
export function makeImportSubscriptionsProcessor(deps: {
  db: Db;
  logger: Logger;
  sliceLines?: number;
  lanes?: number;
  pollMs?: number;
  idleMs?: number;
  handBack?: AbortSignal;
}) {
  const sliceLines = deps.sliceLines ?? IMPORT_SLICE_LINES;
  const lanes = deps.lanes ?? IMPORT_LANES;
  const pollMs = deps.pollMs ?? IMPORT_POLL_MS;
  const idleMs = deps.idleMs ?? IMPORT_IDLE_MS;
  return async ({ importId }: ParsedJobData<'import-subscriptions'>, job: Job): Promise<void> => {
    const start = await beginApplyingImport(deps.db, importId);
    if (!start) return;
    let state: ImportProgress | null = start;
    let applied = 0;
    let lastChange = Date.now();
    // One look at the import for every lane that caught up, at most one per pollMs.
    let looking: Promise<void> | null = null;
    let lookedAt = Date.now();
    const lookAgain = () =>
      (looking ??= (async () => {
        const wait = lookedAt + pollMs - Date.now();
        if (wait > 0) await sleep(wait);
        const before = state?.stagedThroughLine;
        state = await importProgress(deps.db, importId);
        lookedAt = Date.now();
        if (state?.stagedThroughLine !== before || state?.status !== 'receiving') lastChange = lookedAt;
      })().finally(() => {
        looking = null;
      }));
    const uploadOver = (s: ImportProgress | null) => !s || s.status !== 'receiving';
    let idle = false;

    const from = (start.firstStagedLine ?? start.stagedThroughLine + 1) - 1;
    // Where each lane stands, kept across rounds: a round ends when every lane has caught up.
    const afterLines: number[] = Array.from({ length: lanes }, () => from);
    for (;;) {
      idle = false;
      await Promise.all(
        afterLines.map(async (_, lane) => {
          for (;;) {
            if (deps.handBack?.aborted) throw new Error('the worker is stopping: the import is handed back to be resumed');
            const s: ImportProgress | null = state;
            if (!s || s.status === 'completed' || s.status === 'failed') return;
            const afterLine = afterLines[lane]!;
            if (afterLine < s.stagedThroughLine) {
              const throughLine = Math.min(afterLine + sliceLines, s.stagedThroughLine);
              applied += await applyImportSlice(deps.db, importId, s.projectId, { afterLine, throughLine, lane, lanes });
              afterLines[lane] = throughLine;
              // Applying a backlog is progress: the idle clock starts when there is nothing to apply.
              lastChange = Date.now();
              await job.updateProgress(applied);
              continue;
            }
            // Caught up with what is committed: done if the upload is over (its status and its last
            // staged line change together), else wait for its next piece.
            if (uploadOver(s)) return;
            if (idle || Date.now() - lastChange > idleMs) {
              idle = true;
              return;
            }
            await lookAgain();
          }
        }),
      );
      if (!idle) break;
      // Idle, as one lane saw it: one fresh look decides, so that a piece or the upload's end that
      // landed meanwhile (whose enqueue was a no-op while this job ran) is not left waiting.
      await lookAgain();
      const now = state as ImportProgress | null;
      if (now && now.status === 'receiving' && afterLines.every((line) => line >= now.stagedThroughLine)) {
        deps.logger.info({ importId, jobId: job.id, applied }, 'import upload idle: its next piece enqueues the job again');
        return;
      }
    }
    const last = state as ImportProgress | null;
    if (!last || last.status === 'completed' || last.status === 'failed') return;
    // The lanes saw the upload over with everything committed applied: one more look, for a
    // status that moved from queued to running (finishImport takes either) or rows still staged.
    if (!(await finishImport(deps.db, importId))) {
      // Rows still staged cannot be (the upload is over and every committed line was applied),
      // so this is another try having finished it, or the project going away: nothing to do.
      deps.logger.warn({ importId, jobId: job.id }, 'import not finished by this try');
    }
    await refreshSubscriptionStatistics(deps.db);
    deps.logger.info({ importId, jobId: job.id, applied }, 'import applied');
  };
}

/** PostgreSQL is the truth: accepted imports whose job Redis lost get it back; dead uploads end (what they staged applied). */
export async function reconcileImports(deps: { db: Db; queues: Queues }): Promise<void> {
  for (const importId of await unfinishedImports(deps.db)) {
    await deps.queues.enqueue('import-subscriptions', { importId }, { jobId: jobIds.importSubscriptions(importId) });
  }
  for (const importId of await interruptStaleUploads(deps.db, STALE_UPLOAD_MS)) {
    await deps.queues.enqueue('import-subscriptions', { importId }, { jobId: jobIds.importSubscriptions(importId) });
  }
}
