import type { NotificationContent } from '@pushcast/domain';
import { apnsMessage, exactApnsMessage, type ApnsMessage } from './apns/payload.ts';
import { exactFcmMessage, fcmMessage, type FcmMessageTemplate } from './fcm/payload.ts';
import type { DeviceSource } from './device-source.ts';
import type { WebPushNotification } from './webpush/payload.ts';

/**
 * One notification, three payloads. The same functions serve the API (size checks at create, with
 * the largest id the notification could get) and the workers (with the TTL left when it leaves).
 */
export type MappableNotification = NotificationContent & { readonly id: number };

/**
 * Seconds left of one platform's own TTL, for a notification with exact payloads: `ttlLeft` counts
 * down the notification's TTL (the longest of its payloads'), the platform's is shorter by the
 * difference.
 */
const platformTtlLeft = (n: MappableNotification, platformTtl: number, ttlLeft: number): number =>
  Math.max(0, ttlLeft - (n.ttl - platformTtl));

export function webPushNotificationOf(n: MappableNotification, ttlLeft: number): WebPushNotification {
  const exact = n.payloads?.web;
  if (exact) return { ...webPushFields(n, platformTtlLeft(n, exact.ttl, ttlLeft)), exact: JSON.stringify(exact.payload) };
  return webPushFields(n, ttlLeft);
}

function webPushFields(n: MappableNotification, ttlLeft: number): WebPushNotification {
  const o = n.overrides.web ?? {};
  const actions = o.actions?.map((a) => ({ title: a.title, targetUrl: a.target_url ?? null, icon: a.icon ?? null, action: a.action ?? null }));
  return {
    id: n.id,
    title: o.title !== undefined ? o.title : n.title,
    body: o.body ?? n.body,
    targetUrl: o.target_url !== undefined ? o.target_url : n.targetUrl,
    iconUrl: o.icon_url !== undefined ? o.icon_url : n.iconUrl,
    badgeUrl: o.badge_url !== undefined ? o.badge_url : n.badgeUrl,
    imageUrl: o.image_url !== undefined ? o.image_url : n.imageUrl,
    requireInteraction: o.require_interaction ?? n.requireInteraction,
    silent: o.silent ?? n.silent,
    customData: o.custom_data !== undefined ? o.custom_data : n.customData,
    actions: actions ?? n.actions,
    ttl: ttlLeft,
    urgent: o.urgent ?? n.urgent,
    topic: o.topic !== undefined ? o.topic : n.topic,
  };
}

function deviceSource<O>(n: MappableNotification, ttlLeft: number, override: O | undefined): DeviceSource<O> {
  return {
    id: n.id,
    title: n.title,
    body: n.body,
    targetUrl: n.targetUrl,
    iconUrl: n.iconUrl,
    imageUrl: n.imageUrl,
    silent: n.silent,
    urgent: n.urgent,
    customData: n.customData,
    actions: n.actions,
    ttl: ttlLeft,
    topic: n.topic,
    override,
  };
}

export function apnsMessageOf(n: MappableNotification, ttlLeft: number, nowMs: number): ApnsMessage {
  const exact = n.payloads?.apns;
  if (exact) return exactApnsMessage(exact, platformTtlLeft(n, exact.ttl, ttlLeft), nowMs);
  return apnsMessage(deviceSource(n, ttlLeft, n.overrides.apns), nowMs);
}

export function fcmMessageOf(n: MappableNotification, ttlLeft: number): FcmMessageTemplate {
  const exact = n.payloads?.fcm;
  if (exact) return exactFcmMessage(exact, platformTtlLeft(n, exact.ttl, ttlLeft));
  return fcmMessage(deviceSource(n, ttlLeft, n.overrides.fcm));
}
