import { randomUUID } from 'node:crypto';
import { type Project, type TagExpr } from '@pushcast/domain';
import type { CoreDeps } from '../deps.ts';
import { parseInput } from '../input/parse.ts';
import { createNotification } from '../notifications/create-notification.ts';
import { beamsContent, beamsPayloads } from './payloads.ts';
import { publishToInterestsBody, publishToUsersBody } from './publish-input.ts';

/** Beams' publish ids: `pubid-` and a UUID, as Beams' SDKs show them. */
export const newPublishId = (): string => `pubid-${randomUUID()}`;

export type BeamsAudience = 'interests' | 'users';

/**
 * A Beams publish as a Pushcast notification: interests are tags (a device with any of them gets it
 * once), users are uids, each section goes to its platform as given (a platform without one is
 * skipped). Quotas, the pipeline, statistics and Pushcast's own API see it like any other.
 */
export async function publishToBeams(deps: CoreDeps, project: Project, audience: BeamsAudience, raw: unknown): Promise<{ publishId: string }> {
  const publishId = newPublishId();
  const result = await createNotification(deps, {
    project,
    keyed: { key: null, body: raw },
    route: { method: 'POST', path: `/publish_api/v1/instances/${project.beamsInstanceId}/publishes/${audience}` },
    draft: () => {
      const body = audience === 'interests' ? parseInput(publishToInterestsBody, raw, 'body') : parseInput(publishToUsersBody, raw, 'body');
      const payloads = beamsPayloads(body, { instanceId: project.beamsInstanceId, publishId }, Date.now());
      const interests = 'interests' in body ? [...new Set(body.interests)] : null;
      const tags: TagExpr | null = interests ? { kind: 'or', items: interests.map((tag) => ({ kind: 'tag', tag })) } : null;
      return {
        content: beamsContent(body, payloads),
        externalId: publishId,
        uids: 'users' in body ? [...new Set(body.users)] : null,
        tagExpressions: interests,
        tags,
        sendAt: null,
        throttleRatePerMinute: null,
        // A publish to users (at most 1,000 users) records every delivery: Beams' webhook
        // v1.PublishToUsersAttempt tells its per-user results from the records.
        ...('users' in body ? { recordAllUpTo: Number.MAX_SAFE_INTEGER } : {}),
      };
    },
    answer: () => ({ status: 200, body: { publishId } }),
  });
  return { publishId: (result.body as { publishId: string }).publishId };
}
