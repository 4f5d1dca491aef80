import { exactPayloadPlatforms, parseTagFilter, type Notification } from '@pushcast/domain';
import type { AudienceFilter } from '@pushcast/store';

/** The audience filter a notification was created with (its tags were validated then). */
export function notificationAudience(n: Notification): AudienceFilter {
  let tags = null;
  if (n.targetTags && n.targetTags.length > 0) {
    const parsed = parseTagFilter(n.targetTags);
    if (!parsed.ok) throw new Error(`notification ${n.id}: stored tag filter does not parse`);
    tags = parsed.value;
  }
  // A notification with exact payloads goes only to the platforms it has one for.
  const platforms = n.payloads === null ? undefined : exactPayloadPlatforms(n.payloads);
  return {
    projectId: n.projectId,
    uids: n.targetUids ?? undefined,
    tags,
    platforms,
    emails: n.targetEmails ?? undefined,
    ids: n.targetSubscriptionIds ?? undefined,
  };
}
