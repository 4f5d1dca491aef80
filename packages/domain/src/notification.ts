import type { ExactPayloads } from './exact-payloads.ts';
import type { PlatformOverrides } from './overrides.ts';

/** A notification as stored: its content, its audience and where the pipeline is with it. */
export type NotificationStatus = 'scheduled' | 'queued' | 'planning' | 'sending' | 'sent' | 'cancelled';

export interface NotificationAction {
  readonly title: string;
  readonly targetUrl: string | null;
  readonly icon: string | null;
  readonly action: string | null;
}

export interface NotificationContent {
  readonly title: string | null;
  readonly body: string;
  readonly targetUrl: string | null;
  readonly iconUrl: string | null;
  readonly badgeUrl: string | null;
  readonly imageUrl: string | null;
  readonly ttl: number;
  readonly requireInteraction: boolean;
  readonly silent: boolean;
  readonly urgent: boolean;
  readonly customData: string | null;
  readonly actions: readonly NotificationAction[];
  readonly starred: boolean;
  readonly customMetrics: readonly string[];
  /** Web Push Topic: replaces a pending message with the same topic at the push service. */
  readonly topic: string | null;
  /** Per-platform overrides (`apns`, `fcm`, `web`), merged over the mapped payloads. */
  readonly overrides: PlatformOverrides;
  /**
   * Payloads given whole per platform (Beams' sections), sent as they are instead of the mapped
   * ones; the notification then goes only to those platforms. Null = mapped from the content.
   */
  readonly payloads: ExactPayloads | null;
}

export interface Notification extends NotificationContent {
  readonly id: number;
  readonly projectId: number;
  /** The id a dialect knows the notification by (Beams' `publishId`), unique in its project; null for Pushpad's. */
  readonly externalId: string | null;
  readonly targetUids: readonly string[] | null;
  readonly targetTags: readonly string[] | null;
  /** Only subscriptions with one of these user emails (CloudSignal's target_user_emails); null = no such condition. */
  readonly targetEmails: readonly string[] | null;
  /** Only these subscriptions (CloudSignal's target_registration_ids); null = no such condition. */
  readonly targetSubscriptionIds: readonly number[] | null;
  /** Overrides the project's record_deliveries (a send someone waits for records every delivery); null = the project's. */
  readonly recordDeliveries: 'failures' | 'all' | null; // a RecordDeliveries (delivery-records.ts imports this file)
  readonly sendAt: Date | null;
  /** Sends spread evenly at most this many per minute, over all workers; null = as fast as possible. */
  readonly throttleRatePerMinute: number | null;
  readonly status: NotificationStatus;
  readonly scheduledCount: number;
  readonly createdAt: Date;
  readonly plannedAt: Date | null;
  /** When its first chunk started sending (null before). */
  readonly sendingAt: Date | null;
  readonly completedAt: Date | null;
  readonly cancelledAt: Date | null;
}

/** Counts per outcome, summed over a notification's recipients. */
export interface NotificationStats {
  readonly delivered: number;
  readonly pruned: number;
  readonly expired: number;
  readonly failed: Readonly<Record<string, number>>;
}

export const emptyStats = (): NotificationStats => ({ delivered: 0, pruned: 0, expired: 0, failed: {} });

export function addStats(a: NotificationStats, b: NotificationStats): NotificationStats {
  const failed: Record<string, number> = { ...a.failed };
  for (const [reason, n] of Object.entries(b.failed)) failed[reason] = (failed[reason] ?? 0) + n;
  return { delivered: a.delivered + b.delivered, pruned: a.pruned + b.pruned, expired: a.expired + b.expired, failed };
}

/**
 * The moment a notification's messages stop being worth delivering. A notification with a ttl of 0
 * has none (see `deliverNowOrDrop`): the value is only what its messages' own TTL is counted from.
 */
export function expiresAt(n: Pick<Notification, 'sendAt' | 'createdAt' | 'ttl'>): number {
  return (n.sendAt ?? n.createdAt).getTime() + n.ttl * 1000;
}

/**
 * A ttl of 0 means "deliver now or drop" (Web Push `TTL: 0`, APNs `apns-expiration: 0`, FCM
 * `ttl: "0s"`): each message goes out with a TTL of 0 whenever the pipeline reaches its recipient,
 * however long the broadcast takes, and what a push service does not take at once is dropped
 * (counted expired) rather than tried again later, which would no longer be "now".
 */
export const deliverNowOrDrop = (n: Pick<Notification, 'ttl'>): boolean => n.ttl === 0;

/** Whether the pipeline should count a recipient expired instead of sending to it at `nowMs`. */
export const isExpired = (n: Pick<Notification, 'sendAt' | 'createdAt' | 'ttl'>, nowMs: number): boolean =>
  !deliverNowOrDrop(n) && nowMs >= expiresAt(n);
