import { jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import {
  abandonStaleUploads,
  applyImportSlice,
  beginApplyingImport,
  completeImport,
  refreshSubscriptionStatistics,
  unfinishedImports,
  type Db,
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
/** An upload with no progress for this long had its API process die under it. */
const STALE_UPLOAD_MS = 60 * 60 * 1000;

/** Applies an accepted import's staged rows, lane by lane, from wherever an earlier try stopped. */
export function makeImportSubscriptionsProcessor(deps: { db: Db; logger: Logger; sliceLines?: number; lanes?: number }) {
  const sliceLines = deps.sliceLines ?? IMPORT_SLICE_LINES;
  const lanes = deps.lanes ?? IMPORT_LANES;
  return async ({ importId }: ParsedJobData<'import-subscriptions'>, job: Job): Promise<void> => {
    const target = await beginApplyingImport(deps.db, importId);
    if (!target) return;
    let applied = 0;
    if (target.lines) {
      const { first, last } = target.lines;
      await Promise.all(
        Array.from({ length: lanes }, async (_, lane) => {
          for (let afterLine = first - 1; afterLine < last; afterLine += sliceLines) {
            const slice = { afterLine, throughLine: Math.min(afterLine + sliceLines, last), lane, lanes };
            applied += await applyImportSlice(deps.db, importId, target.projectId, slice);
            await job.updateProgress(applied);
          }
        }),
      );
    }
    if (!(await completeImport(deps.db, importId))) {
      // Rows staged after `last` cannot exist (an import is staged whole before it is accepted),
      // so this is another try having finished it, or the project going away: nothing to do.
      deps.logger.warn({ importId, jobId: job.id }, 'import not completed by this try');
    }
    await refreshSubscriptionStatistics(deps.db);
    deps.logger.info({ importId, jobId: job.id, applied }, 'import applied');
  };
}

/** PostgreSQL is the truth: accepted imports whose job Redis lost get it back; dead uploads go. */
export async function reconcileImports(deps: { db: Db; queues: Queues }): Promise<void> {
  for (const importId of await unfinishedImports(deps.db)) {
    await deps.queues.enqueue('import-subscriptions', { importId }, { jobId: jobIds.importSubscriptions(importId) });
  }
  await abandonStaleUploads(deps.db, STALE_UPLOAD_MS);
}
