import type { Subscription } from '@pushcast/domain';
import { upsertDeviceSubscription, upsertWebSubscription, type Queryable } from '@pushcast/store';
import type { SubscriptionInput } from './subscription-input.ts';

/** Registers a subscription in a project; the same endpoint or token again updates it (uid, tags, keys). */
export async function registerSubscription(deps: { readonly db: Queryable }, projectId: number, input: SubscriptionInput): Promise<Subscription> {
  if (input.platform === 'web') {
    return upsertWebSubscription(deps.db, {
      projectId,
      endpoint: input.endpoint,
      p256dh: input.p256dh,
      auth: input.auth,
      uid: input.uid,
      tags: [...input.tags],
      userEmail: input.userEmail,
      userAgent: input.userAgent,
    });
  }
  return upsertDeviceSubscription(deps.db, {
    projectId,
    platform: input.platform,
    token: input.token,
    uid: input.uid,
    tags: [...input.tags],
    userEmail: input.userEmail,
  });
}
