import { exactPayloadsTtl, validationError, type ExactFcmPayload, type ExactPayloads, type NotificationContent } from '@pushcast/domain';
import {
  apnsPayloadBytes,
  exactFcmMessage,
  fcmPayloadBytes,
  MAX_APNS_PAYLOAD_BYTES,
  MAX_FCM_PAYLOAD_BYTES,
  MAX_WEB_PUSH_PLAINTEXT,
} from '@pushcast/providers';
import { BEAMS_MAX_TTL, type BeamsApnsSection, type BeamsFcmSection, type BeamsPublishSections, type BeamsWebSection } from './publish-input.ts';

/**
 * A Beams publish's sections as exact payloads: each goes to its platform as given, with
 * `data.pusher` = {instanceId, publishId, hasDisplayableContent, hasData}, which Beams' SDKs read to
 * report delivery and opens (web and APNs: an object in `data`; FCM: a JSON string, since FCM data
 * values are strings). FCM's legacy fields become FCM HTTP v1's.
 */

export interface PusherMetadata {
  readonly instanceId: string;
  readonly publishId: string;
  readonly hasDisplayableContent: boolean;
  readonly hasData: boolean;
}

type Ids = Pick<PusherMetadata, 'instanceId' | 'publishId'>;

const hasKeys = (o: Readonly<Record<string, unknown>> | undefined): boolean => o !== undefined && Object.keys(o).length > 0;

export function webPayload(section: BeamsWebSection, ids: Ids): ExactPayloads['web'] {
  const { time_to_live, data, ...rest } = section;
  const pusher: PusherMetadata = { ...ids, hasDisplayableContent: section.notification !== undefined, hasData: hasKeys(data) };
  return { payload: { ...rest, data: { ...data, pusher } }, ttl: time_to_live ?? BEAMS_MAX_TTL };
}

/** `nowMs` turns Beams' `expiration` (epoch seconds) into the TTL the pipeline counts down. */
export function apnsPayload(section: BeamsApnsSection, ids: Ids, nowMs: number): ExactPayloads['apns'] {
  const { collapse_id, priority, expiration, ...body } = section;
  const aps = body.aps ?? {};
  const displayable = aps.alert !== undefined && aps.alert !== null;
  const pusher: PusherMetadata = { ...ids, hasDisplayableContent: displayable, hasData: hasKeys(body.data) };
  // Apple: a push with nothing to show and content-available is a background push, sent at priority 5.
  const contentAvailable = aps['content-available'] === 1 || aps['content-available'] === '1';
  const background = !displayable && aps.badge === undefined && aps.sound === undefined && contentAvailable;
  const ttl = expiration === undefined ? BEAMS_MAX_TTL : expiration === 0 ? 0 : Math.min(BEAMS_MAX_TTL, Math.max(0, expiration - Math.floor(nowMs / 1000)));
  return {
    payload: { ...body, data: { ...body.data, pusher } },
    pushType: background ? 'background' : 'alert',
    priority: background ? 5 : (priority ?? 10),
    ttl,
    ...(collapse_id !== undefined ? { collapseId: collapse_id } : {}),
  };
}

/** Legacy FCM notification keys and their FCM v1 `AndroidNotification` names. */
const ANDROID_KEYS: Readonly<Record<string, string>> = {
  icon: 'icon',
  sound: 'sound',
  tag: 'tag',
  color: 'color',
  click_action: 'click_action',
  android_channel_id: 'channel_id',
  body_loc_key: 'body_loc_key',
  body_loc_args: 'body_loc_args',
  title_loc_key: 'title_loc_key',
  title_loc_args: 'title_loc_args',
};

export function fcmPayload(section: BeamsFcmSection, ids: Ids): ExactFcmPayload {
  const pusher: PusherMetadata = { ...ids, hasDisplayableContent: section.notification !== undefined, hasData: hasKeys(section.data) };
  const data: Record<string, string> = {};
  // Legacy FCM delivered non-string values as their JSON text; v1 takes strings only.
  for (const [key, value] of Object.entries(section.data ?? {})) data[key] = typeof value === 'string' ? value : JSON.stringify(value);
  data.pusher = JSON.stringify(pusher);

  const android: { -readonly [K in keyof NonNullable<ExactFcmPayload['android']>]: NonNullable<ExactFcmPayload['android']>[K] } = {};
  if (section.priority) android.priority = section.priority;
  if (section.collapse_key) android.collapse_key = section.collapse_key;
  if (section.restricted_package_name) android.restricted_package_name = section.restricted_package_name;
  let notification: ExactFcmPayload['notification'];
  if (section.notification) {
    const n = section.notification;
    notification = {
      ...(n.title !== undefined ? { title: n.title } : {}),
      ...(n.body !== undefined ? { body: n.body } : {}),
      ...(n.image !== undefined ? { image: n.image } : {}),
    };
    const an: Record<string, string | readonly string[]> = {};
    for (const [legacy, v1] of Object.entries(ANDROID_KEYS)) {
      const value = (n as Record<string, unknown>)[legacy];
      if (typeof value === 'string' || Array.isArray(value)) an[v1] = value as string | string[];
    }
    if (Object.keys(an).length > 0) android.notification = an;
  }
  return {
    ...(notification ? { notification } : {}),
    data,
    ...(Object.keys(android).length > 0 ? { android } : {}),
    ttl: section.time_to_live ?? BEAMS_MAX_TTL,
  };
}

/** Every section given, as exact payloads, refused when one would not fit its platform. */
export function beamsPayloads(sections: BeamsPublishSections, ids: Ids, nowMs: number): ExactPayloads {
  const payloads: ExactPayloads = {
    ...(sections.web ? { web: webPayload(sections.web, ids) } : {}),
    ...(sections.apns ? { apns: apnsPayload(sections.apns, ids, nowMs) } : {}),
    ...(sections.fcm ? { fcm: fcmPayload(sections.fcm, ids) } : {}),
  };
  if (payloads.web) checkSize('web', Buffer.byteLength(JSON.stringify(payloads.web.payload)), MAX_WEB_PUSH_PLAINTEXT);
  if (payloads.apns) checkSize('apns', apnsPayloadBytes(payloads.apns), MAX_APNS_PAYLOAD_BYTES);
  if (payloads.fcm) checkSize('fcm', fcmPayloadBytes(exactFcmMessage(payloads.fcm, payloads.fcm.ttl)), MAX_FCM_PAYLOAD_BYTES);
  return payloads;
}

function checkSize(field: string, size: number, limit: number): void {
  if (size > limit) {
    throw validationError(field, 'payload_too_large', `the payload would be ${size} bytes with Beams' metadata; the limit is ${limit}`, { size, limit });
  }
}

const text = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : null);

/**
 * What the notification shows in Pushcast's own API (Pushpad's fields): the first title and body
 * of the sections, the web section's link and icon. Nothing here is sent: the payloads are.
 */
export function beamsContent(sections: BeamsPublishSections, payloads: ExactPayloads): NotificationContent {
  const alert = sections.apns?.aps?.alert;
  const apnsAlert = typeof alert === 'object' && alert !== null && !Array.isArray(alert) ? (alert as Record<string, unknown>) : {};
  const title = text(sections.web?.notification?.title) ?? text(apnsAlert.title) ?? text(sections.fcm?.notification?.title);
  const body = text(sections.web?.notification?.body) ?? text(alert) ?? text(apnsAlert.body) ?? text(sections.fcm?.notification?.body) ?? '';
  const displayable = [payloads.web, payloads.apns, payloads.fcm].some((p) => p !== undefined) &&
    [sections.web?.notification, sections.apns?.aps?.alert, sections.fcm?.notification].some((v) => v !== undefined && v !== null);
  return {
    title,
    body,
    targetUrl: text(sections.web?.notification?.deep_link),
    iconUrl: text(sections.web?.notification?.icon),
    badgeUrl: null,
    imageUrl: null,
    ttl: exactPayloadsTtl(payloads),
    requireInteraction: false,
    silent: !displayable,
    urgent: false,
    customData: null,
    actions: [],
    starred: false,
    customMetrics: [],
    topic: null,
    overrides: {},
    payloads,
  };
}
