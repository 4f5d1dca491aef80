import type { Platform } from './model.ts';

/**
 * Payloads a dialect gives whole, per platform (Pusher Beams' `apns`, `fcm` and `web` sections):
 * each is sent to that platform's devices as it is, instead of being mapped from the
 * notification's content, and a notification that has them goes only to the platforms it has one
 * for. Stored as JSON with the notification; the providers turn each into its request.
 */
export interface ExactPayloads {
  readonly web?: ExactWebPayload;
  readonly apns?: ExactApnsPayload;
  readonly fcm?: ExactFcmPayload;
}

/** Web Push: the JSON a service worker reads, as the encrypted message's plaintext. */
export interface ExactWebPayload {
  readonly payload: Readonly<Record<string, unknown>>;
  /** Seconds the push service keeps the message (`TTL`). */
  readonly ttl: number;
}

/** APNs: the request's JSON body, and the headers that go with it (apns-topic stays the credential's). */
export interface ExactApnsPayload {
  readonly payload: Readonly<Record<string, unknown>>;
  readonly pushType: 'alert' | 'background';
  readonly priority: 5 | 10;
  /** Seconds Apple keeps trying (`apns-expiration` = send time + this; 0 = once, now or never). */
  readonly ttl: number;
  readonly collapseId?: string;
}

/** FCM HTTP v1: a message without its token, in FCM's wire names (snake_case). */
export interface ExactFcmPayload {
  readonly notification?: { readonly title?: string; readonly body?: string; readonly image?: string };
  /** Strings only, as FCM requires. */
  readonly data?: Readonly<Record<string, string>>;
  readonly android?: {
    readonly priority?: 'high' | 'normal';
    readonly collapse_key?: string;
    readonly restricted_package_name?: string;
    /** FCM v1 `AndroidNotification` fields by their wire names (`click_action`, `body_loc_args`, …). */
    readonly notification?: Readonly<Record<string, string | readonly string[]>>;
  };
  /** Seconds FCM keeps the message (`android.ttl`). */
  readonly ttl: number;
}

const ORDER: readonly Platform[] = ['web', 'apns', 'fcm'];

/** The platforms a notification with exact payloads goes to: those it has a payload for. */
export function exactPayloadPlatforms(p: ExactPayloads): Platform[] {
  return ORDER.filter((platform) => p[platform] !== undefined);
}

/** The longest of the payloads' TTLs: how long the notification as a whole is worth sending. */
export function exactPayloadsTtl(p: ExactPayloads): number {
  return Math.max(0, ...exactPayloadPlatforms(p).map((platform) => p[platform]!.ttl));
}
