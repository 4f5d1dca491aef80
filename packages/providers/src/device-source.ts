import type { NotificationAction } from '@pushcast/domain';

/**
 * What the APNs and FCM mappings read from a notification: its content as stored, the TTL left
 * when it leaves, and that platform's override.
 */
export interface DeviceSource<Override> {
  readonly id: number;
  readonly title: string | null;
  readonly body: string;
  readonly targetUrl: string | null;
  readonly iconUrl: string | null;
  readonly imageUrl: string | null;
  readonly silent: boolean;
  readonly urgent: boolean;
  readonly customData: string | null;
  readonly actions: readonly NotificationAction[];
  /** Seconds left of the notification's TTL when it is sent. */
  readonly ttl: number;
  /** Web Push Topic doubles as the collapse id (APNs) and collapse key (FCM). */
  readonly topic: string | null;
  readonly override: Override | undefined;
}
