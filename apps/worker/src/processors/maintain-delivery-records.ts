import type { ParsedJobData } from '@pushcast/queues';
import { dropDeliveryRecordPartitionsBefore, ensureDeliveryRecordPartition, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

/** Partitions made ahead of need, so that writers never wait for one (a notification scheduled further ahead gets its own on demand). */
export const PARTITIONS_AHEAD_DAYS = 7;
const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` (UTC) of the day `offset` days from `nowMs`. */
const utcDay = (nowMs: number, offset: number): string => new Date(nowMs + offset * DAY_MS).toISOString().slice(0, 10);

/**
 * Keeps `delivery_records` partitioned by day: yesterday's to a week ahead exist, and days older
 * than the retention are dropped whole (a notification's records all live in its day's partition).
 */
export function makeMaintainDeliveryRecordsProcessor(deps: { db: Db; logger: Logger; retentionDays: number; now?: () => number }) {
  const now = deps.now ?? Date.now;
  return async (_data: ParsedJobData<'maintain-delivery-records'>): Promise<void> => {
    const at = now();
    for (let d = -1; d <= PARTITIONS_AHEAD_DAYS; d += 1) await ensureDeliveryRecordPartition(deps.db, utcDay(at, d));
    const dropped = await dropDeliveryRecordPartitionsBefore(deps.db, utcDay(at, -deps.retentionDays));
    if (dropped.length > 0) deps.logger.info({ days: dropped }, 'delivery records past their retention dropped');
  };
}
