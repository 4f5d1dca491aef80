import { jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import { abandonStaleUploads, applyImportBatch, refreshSubscriptionStatistics, unfinishedImports, type Db } from '@pushcast/store';
import type { Job } from 'bullmq';
import type { Logger } from 'pino';

/** Rows per transaction: big enough for set-based speed, small enough to keep locks short. */
export const IMPORT_BATCH_ROWS = 10_000;
/** An upload with no progress for this long had its API process die under it. */
const STALE_UPLOAD_MS = 60 * 60 * 1000;

/** Applies an accepted import's staged rows, batch by batch, from wherever an earlier try stopped. */
export function makeImportSubscriptionsProcessor(deps: { db: Db; logger: Logger; batchRows?: number }) {
  const batchRows = deps.batchRows ?? IMPORT_BATCH_ROWS;
  return async ({ importId }: ParsedJobData<'import-subscriptions'>, job: Job): Promise<void> => {
    let applied = 0;
    for (;;) {
      const batch = await applyImportBatch(deps.db, importId, batchRows);
      applied += batch.applied;
      if (batch.done) break;
      await job.updateProgress(applied);
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
