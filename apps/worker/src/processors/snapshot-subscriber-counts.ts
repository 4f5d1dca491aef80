import type { ParsedJobData } from '@pushcast/queues';
import { snapshotSubscriberCounts, type Db } from '@pushcast/store';

/**
 * Hourly: today's subscriber counts of every project into subscription_count_days. Hourly rather
 * than at midnight so that a worker down at midnight costs a day's last hour, not the day's figure.
 */
export function makeSnapshotSubscriberCountsProcessor(deps: { db: Db }) {
  return async (_data: ParsedJobData<'snapshot-subscriber-counts'>): Promise<void> => {
    await snapshotSubscriberCounts(deps.db);
  };
}
