import { estimateAudience, subscriberCounts, type AudienceFilter } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';
import { EXACT_AUDIENCE_UP_TO } from './create-notification.ts';

/**
 * How many a notification with these filters would reach, before it is sent: the same figure as
 * `scheduled` in a create answer (exact up to EXACT_AUDIENCE_UP_TO, PostgreSQL's estimate above).
 * Without a filter, the maintained subscriber counts answer exactly, whatever the project's size.
 */
export async function countAudience({ db }: Pick<CoreDeps, 'db'>, filter: AudienceFilter): Promise<{ count: number; exact: boolean }> {
  if (filter.uids === undefined && filter.tags == null && filter.platforms === undefined) {
    const counts = await subscriberCounts(db, filter.projectId);
    return { count: filter.platform ? counts[filter.platform] : counts.web + counts.apns + counts.fcm, exact: true };
  }
  return estimateAudience(db, filter, EXACT_AUDIENCE_UP_TO);
}
