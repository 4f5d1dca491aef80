import type { ExactFcmPayload, FcmAndroidNotificationField, FcmOverride } from '@pushcast/domain';
import type { DeviceSource } from '../device-source.ts';
import type { AndroidConfig, AndroidNotification, TokenMessage } from 'firebase-admin/messaging';

/** FCM refuses a message whose notification and data exceed 4 KB. */
export const MAX_FCM_PAYLOAD_BYTES = 4096;

export type FcmSource = DeviceSource<FcmOverride>;

/** A message for every token of a send: firebase-admin's message without its `token`. */
export type FcmMessageTemplate = Omit<TokenMessage, 'token'>;

const ANDROID_NOTIFICATION_KEYS: Readonly<Record<FcmAndroidNotificationField, keyof AndroidNotification>> = {
  title: 'title',
  body: 'body',
  icon: 'icon',
  color: 'color',
  sound: 'sound',
  tag: 'tag',
  click_action: 'clickAction',
  channel_id: 'channelId',
  image: 'imageUrl',
};

/**
 * Maps a notification to an FCM HTTP v1 message (firebase-admin's shape): title/body/image →
 * `notification`; silent → a data-only message (title and body move into `data`); urgent →
 * Android priority high, else normal; ttl → `android.ttl`; topic → `android.collapseKey`; id,
 * URLs, actions and custom data → `data` (strings only, as FCM requires). The override's wire
 * (snake_case) fields are merged last.
 */
export function fcmMessage(n: FcmSource): FcmMessageTemplate {
  const data: Record<string, string> = { id: String(n.id) };
  const put = (key: string, value: string | null) => {
    if (value !== null) data[key] = value;
  };
  if (n.silent) {
    put('title', n.title);
    data.body = n.body;
  }
  put('target_url', n.targetUrl);
  put('icon', n.iconUrl);
  put('image', n.imageUrl);
  put('custom_data', n.customData);
  if (n.actions.length > 0) {
    data.actions = JSON.stringify(n.actions.map((a) => ({ title: a.title, action: a.action, target_url: a.targetUrl, icon: a.icon })));
  }

  const o = n.override ?? {};
  const android: AndroidConfig = {
    priority: o.android?.priority ?? (n.urgent ? 'high' : 'normal'),
    ttl: (o.android?.ttl ?? n.ttl) * 1000,
  };
  const collapseKey = o.android?.collapse_key ?? n.topic;
  if (collapseKey) android.collapseKey = collapseKey;
  if (o.android?.restricted_package_name) android.restrictedPackageName = o.android.restricted_package_name;
  if (o.android?.notification) {
    const an: Record<string, string> = {};
    for (const [field, value] of Object.entries(o.android.notification)) {
      if (value !== undefined) an[ANDROID_NOTIFICATION_KEYS[field as FcmAndroidNotificationField]] = value;
    }
    android.notification = an as AndroidNotification;
  }

  const message: FcmMessageTemplate = { data: { ...data, ...o.data }, android };
  if (!n.silent || o.notification) {
    const title = o.notification?.title ?? (n.silent ? undefined : (n.title ?? undefined));
    const body = o.notification?.body ?? (n.silent ? undefined : n.body);
    const imageUrl = o.notification?.image ?? (n.silent ? undefined : (n.imageUrl ?? undefined));
    message.notification = {
      ...(title !== undefined ? { title } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(imageUrl !== undefined ? { imageUrl } : {}),
    };
  }
  if (o.fcm_options?.analytics_label) message.fcmOptions = { analyticsLabel: o.fcm_options.analytics_label };
  return message;
}

/** FCM v1 `AndroidNotification` wire names an exact payload may carry, and firebase-admin's names for them. */
export const EXACT_ANDROID_NOTIFICATION_KEYS: Readonly<Record<string, keyof AndroidNotification>> = {
  ...ANDROID_NOTIFICATION_KEYS,
  body_loc_key: 'bodyLocKey',
  body_loc_args: 'bodyLocArgs',
  title_loc_key: 'titleLocKey',
  title_loc_args: 'titleLocArgs',
};

/** An exact payload (e.g. a Beams `fcm` section, already in FCM v1's terms) as firebase-admin's message. */
export function exactFcmMessage(exact: ExactFcmPayload, ttlLeft: number): FcmMessageTemplate {
  const android: AndroidConfig = { ttl: ttlLeft * 1000 };
  const a = exact.android ?? {};
  if (a.priority) android.priority = a.priority;
  if (a.collapse_key) android.collapseKey = a.collapse_key;
  if (a.restricted_package_name) android.restrictedPackageName = a.restricted_package_name;
  if (a.notification) {
    const an: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(a.notification)) {
      const key = EXACT_ANDROID_NOTIFICATION_KEYS[field];
      if (key !== undefined) an[key] = value;
    }
    android.notification = an as AndroidNotification;
  }
  const message: FcmMessageTemplate = { android };
  if (exact.data) message.data = { ...exact.data };
  if (exact.notification) {
    const { title, body, image } = exact.notification;
    message.notification = {
      ...(title !== undefined ? { title } : {}),
      ...(body !== undefined ? { body } : {}),
      ...(image !== undefined ? { imageUrl: image } : {}),
    };
  }
  return message;
}

/** What counts against FCM's 4 KB: the notification and the data, as JSON. */
export function fcmPayloadBytes(m: FcmMessageTemplate): number {
  return Buffer.byteLength(JSON.stringify({ notification: m.notification, data: m.data }), 'utf8');
}
