import type { ParsedJobData } from '@pushcast/queues';
import { dropDeliveryRecordPartitionsBefore, ensureDeliveryRecordPartition, purgeGoneSubscriptions, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

/** Partitions made ahead of need, so that writers never wait for one (a notification scheduled further ahead gets its own on demand). */
export const PARTITIONS_AHEAD_DAYS = 7;
const DAY_MS = 86_400_000;
/** How long a gone subscription (expired, unregistered) stays listed (CloudSignal's clients) before it is deleted. */
export const GONE_SUBSCRIPTION_DAYS = 30;
const PURGE_BATCH = 5_000;

/** `YYYY-MM-DD` (UTC) of the day `offset` days from `nowMs`. */
const utcDay = (nowMs: number, offset: number): string => new Date(nowMs + offset * DAY_MS).toISOString().slice(0, 10);

/**
 * Keeps `delivery_records` partitioned by day: yesterday's to a week ahead exist, and days older
 * than the retention are dropped whole (a notification's records all live in its day's partition).
 * Also deletes the subscriptions gone for more than GONE_SUBSCRIPTION_DAYS, in batches (short
 * statements, so that nothing waits long on them).
 */
export function makeMaintainDeliveryRecordsProcessor(deps: { db: Db; logger: Logger; retentionDays: number; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return async (_data: ParsedJobData<'maintain-delivery-records'>): Promise<void> => {
    const at = now();
    for (let d = -1; d <= PARTITIONS_AHEAD_DAYS; d += 1) await ensureDeliveryRecordPartition(deps.db, utcDay(at, d));
    const dropped = await dropDeliveryRecordPartitionsBefore(deps.db, utcDay(at, -deps.retentionDays));
    if (dropped.length > 0) deps.logger.info({ days: dropped }, 'delivery records past their retention dropped');
    const before = new Date(at - GONE_SUBSCRIPTION_DAYS * DAY_MS);
    let purged = 0;
    for (let n = PURGE_BATCH; n === PURGE_BATCH; purged += n) n = await purgeGoneSubscriptions(deps.db, before, PURGE_BATCH);
    if (purged > 0) deps.logger.info({ purged }, 'subscriptions gone for 30 days deleted');
  };
}
