import type { RecordDeliveries } from './delivery-records.ts';
import type { ProjectQuota } from './quota.ts';

/** Domain types: what the store returns and the API serialises. */
export type Platform = 'web' | 'apns' | 'fcm';

/** A sender without its VAPID private key, which is sealed at rest and opened only where it is needed. */
export interface Sender {
  readonly id: number;
  readonly name: string;
  readonly vapidPublicKey: string;
  readonly createdAt: Date;
}

export interface ProjectSettings {
  readonly name: string;
  readonly website: string;
  readonly iconUrl: string | null;
  readonly badgeUrl: string | null;
  readonly notificationsTtl: number;
  readonly notificationsRequireInteraction: boolean;
  readonly notificationsSilent: boolean;
}

export interface Project extends ProjectSettings {
  readonly id: number;
  readonly senderId: number;
  readonly quota: ProjectQuota;
  /** Origins whose pages may use the browser endpoints; null = the origin of `website`. */
  readonly allowedOrigins: readonly string[] | null;
  /** Tags a browser may set on its own subscription: exact tags, or a prefix and `*`. */
  readonly browserTagsAllowed: readonly string[];
  /** The project as a Pusher Beams instance: the `instanceId` Beams' SDKs are given. */
  readonly beamsInstanceId: string;
  /** Whether each delivery is recorded, or only the recipients who did not get a notification. */
  readonly recordDeliveries: RecordDeliveries;
  readonly createdAt: Date;
}

export interface Subscription {
  readonly id: number;
  readonly projectId: number;
  readonly platform: Platform;
  readonly endpoint: string | null;
  readonly p256dh: string | null;
  readonly auth: string | null;
  readonly deviceToken: string | null;
  readonly uid: string | null;
  readonly tags: readonly string[];
  /** The address the subscription belongs to (CloudSignal targets by it); null when none was given. */
  readonly userEmail: string | null;
  /** Active, or gone (kept 30 days, listed, never targeted): expired = pruned by a push service; unregistered = deregistered (CloudSignal's API). */
  readonly state: SubscriptionState;
  readonly stateChangedAt: Date | null;
  /** The User-Agent of the browser that registered it (browser endpoints); null otherwise. */
  readonly userAgent: string | null;
  readonly lastClickAt: Date | null;
  readonly createdAt: Date;
  /** Last registered again or changed. */
  readonly updatedAt: Date;
}

export const SUBSCRIPTION_STATES = ['active', 'expired', 'unregistered'] as const;
export type SubscriptionState = (typeof SUBSCRIPTION_STATES)[number];

/** Who a request acts as: an admin, or a token limited to some projects. */
export type Principal =
  | { readonly kind: 'admin'; readonly tokenId: number | null }
  | { readonly kind: 'project'; readonly tokenId: number; readonly projectIds: ReadonlySet<number> };

export interface AccessToken {
  readonly id: number;
  readonly name: string;
  readonly prefix: string;
  readonly admin: boolean;
  readonly projectIds: readonly number[];
  readonly createdAt: Date;
}

export function canAccessProject(principal: Principal, projectId: number): boolean {
  return principal.kind === 'admin' || principal.projectIds.has(projectId);
}
