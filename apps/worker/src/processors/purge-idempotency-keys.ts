import type { ParsedJobData } from '@pushcast/queues';
import { deleteExpiredIdempotencyKeys, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

const BATCH = 5_000;

/** Deletes idempotency keys older than 24 hours (already ignored by the API), in batches. */
export function makePurgeIdempotencyKeysProcessor(deps: { db: Db; logger: Logger }) {
  return async (_data: ParsedJobData<'purge-idempotency-keys'>): Promise<void> => {
    let deleted = 0;
    for (;;) {
      const n = await deleteExpiredIdempotencyKeys(deps.db, BATCH);
      deleted += n;
      if (n < BATCH) break;
    }
    if (deleted > 0) deps.logger.info({ deleted }, 'expired idempotency keys purged');
  };
}
