/**
 * Per-platform overrides given when a notification is created, as Pusher Beams' publish bodies
 * carry `apns`, `fcm` and `web` objects. They are JSON documents, validated at the API and stored
 * as given (snake_case, as on the wire); the payload builders merge them over the mapped fields.
 */

/** The Web Push payload's own fields, each replacing the notification's for browsers only. */
export interface WebOverride {
  readonly title?: string | null;
  readonly body?: string;
  readonly target_url?: string | null;
  readonly icon_url?: string | null;
  readonly badge_url?: string | null;
  readonly image_url?: string | null;
  readonly require_interaction?: boolean;
  readonly silent?: boolean;
  readonly urgent?: boolean;
  readonly custom_data?: string | null;
  readonly actions?: readonly { title: string; target_url?: string | null; icon?: string | null; action?: string | null }[];
  readonly topic?: string | null;
}

/** APNs request headers a notification may set for itself (apns-topic stays the credential's). */
export interface ApnsHeadersOverride {
  readonly 'apns-priority'?: 5 | 10 | 1;
  readonly 'apns-push-type'?: 'alert' | 'background';
  readonly 'apns-collapse-id'?: string;
  /** Epoch seconds; 0 = deliver once or never. */
  readonly 'apns-expiration'?: number;
}

/**
 * An APNs payload (`aps` and custom keys), deep-merged over the mapped one, plus the reserved
 * `headers` key for request headers. A Beams `apns` body works unchanged.
 */
export interface ApnsOverride {
  readonly aps?: Readonly<Record<string, unknown>>;
  readonly headers?: ApnsHeadersOverride;
  readonly [customKey: string]: unknown;
}

/** FCM HTTP v1 message fields (snake_case, as on the wire), merged over the mapped message. */
export interface FcmOverride {
  readonly notification?: { readonly title?: string; readonly body?: string; readonly image?: string };
  readonly data?: Readonly<Record<string, string>>;
  readonly android?: {
    readonly priority?: 'high' | 'normal';
    /** Seconds. */
    readonly ttl?: number;
    readonly collapse_key?: string;
    readonly restricted_package_name?: string;
    readonly notification?: Readonly<Partial<Record<FcmAndroidNotificationField, string>>>;
  };
  readonly fcm_options?: { readonly analytics_label: string };
}

export const FCM_ANDROID_NOTIFICATION_FIELDS = [
  'title',
  'body',
  'icon',
  'color',
  'sound',
  'tag',
  'click_action',
  'channel_id',
  'image',
] as const;
export type FcmAndroidNotificationField = (typeof FCM_ANDROID_NOTIFICATION_FIELDS)[number];

export interface PlatformOverrides {
  readonly web?: WebOverride;
  readonly apns?: ApnsOverride;
  readonly fcm?: FcmOverride;
}
