import { estimateAudience, subscriberCounts, type AudienceFilter } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/**
 * Above this many matches a preview of the audience is PostgreSQL's estimate. Lower than a create's
 * EXACT_AUDIENCE_UP_TO: a form asks again as its filters are typed, and an exact count visits every
 * row it counts (100,000 of them took 160 ms at the median on a 1,000,000-subscriber project, over
 * 300 ms at p99 while a broadcast ran: docs/benchmarks.md).
 */
export const PREVIEW_EXACT_UP_TO = 10_000;

/**
 * How many a notification with these filters would reach, before it is sent: exact up to
 * PREVIEW_EXACT_UP_TO, PostgreSQL's estimate above. Without a filter, the maintained subscriber
 * counts answer exactly, whatever the project's size.
 */
export async function countAudience({ db }: Pick<CoreDeps, 'db'>, filter: AudienceFilter): Promise<{ count: number; exact: boolean }> {
  if (filter.uids === undefined && filter.tags == null && filter.platforms === undefined) {
    const counts = await subscriberCounts(db, filter.projectId);
    return { count: filter.platform ? counts[filter.platform] : counts.web + counts.apns + counts.fcm, exact: true };
  }
  return estimateAudience(db, filter, PREVIEW_EXACT_UP_TO);
}
