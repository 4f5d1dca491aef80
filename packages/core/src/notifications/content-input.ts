import {
  MAX_TAG_LENGTH,
  OPEN_TOKEN_LENGTH,
  PushcastError,
  TAG_PATTERN,
  parseTagFilter,
  ruleParam,
  tagFilterError,
  type NotificationContent,
  type Project,
} from '@pushcast/domain';
import {
  apnsMessageOf,
  apnsPayloadBytes,
  fcmMessageOf,
  fcmPayloadBytes,
  MAX_APNS_PAYLOAD_BYTES,
  MAX_FCM_PAYLOAD_BYTES,
  MAX_WEB_PUSH_PLAINTEXT,
  webPushNotificationOf,
  webPushPayload,
} from '@pushcast/providers';
import { z } from 'zod';
import { httpUrl, uid } from '../input/fields.ts';
import { overrideFields, overridesOf } from './overrides-input.ts';
import { parseInput } from '../input/parse.ts';

export const MAX_TTL = 2_419_200; // four weeks: push services keep messages no longer
export const MAX_SCHEDULE_AHEAD_MS = 5 * 24 * 3600 * 1000; // Pushpad: send_at at most 5 days ahead
export const MAX_UIDS = 10_000;
export const MAX_ACTIONS = 4;

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

const action = z.strictObject({
  title: z.string().min(1).max(100),
  target_url: httpUrl.nullable().optional(),
  icon: httpUrl.nullable().optional(),
  action: z.string().max(100).nullable().optional(),
});

const metric = z
  .string()
  .min(1)
  .max(MAX_TAG_LENGTH)
  .refine((v) => TAG_PATTERN.test(v), { message: 'may contain only letters, digits and _ - . : @ # = , ;', params: ruleParam('tag_characters') });

const content = {
  body: z.string().min(1).max(4000),
  title: z.string().max(500).nullable().optional(),
  target_url: httpUrl.nullable().optional(),
  icon_url: httpUrl.nullable().optional(),
  badge_url: httpUrl.nullable().optional(),
  image_url: httpUrl.nullable().optional(),
  ttl: z.number().int().min(0).max(MAX_TTL).nullable().optional(),
  require_interaction: z.boolean().nullable().optional(),
  silent: z.boolean().nullable().optional(),
  urgent: z.boolean().nullable().optional(),
  custom_data: z.string().max(2000).nullable().optional(),
  actions: z.array(action).max(MAX_ACTIONS).nullable().optional(),
  starred: z.boolean().nullable().optional(),
  send_at: z
    .string()
    .refine((v) => ISO_8601.test(v) && !Number.isNaN(Date.parse(v)), {
      message: 'must be an ISO 8601 date-time, e.g. 2025-11-20T10:09:00Z (no zone = UTC)',
      params: ruleParam('iso8601'),
    })
    .nullable()
    .optional(),
  custom_metrics: z.array(metric).max(3).nullable().optional(),
  topic: z
    .string()
    .refine((v) => /^[A-Za-z0-9_-]{1,32}$/.test(v), { message: 'must be 1-32 URL-safe base64 characters', params: ruleParam('topic') })
    .nullable()
    .optional(),
  uids: z.array(uid).max(MAX_UIDS).nullable().optional(),
  tags: z
    .union([z.string(), z.array(z.string().max(4096)).max(100)])
    .transform((v) => (typeof v === 'string' ? [v] : v))
    .nullable()
    .optional(),
  ...overrideFields,
  // Pushcast's: spread the sends evenly, at most this many per minute over all workers.
  throttle_rate_per_minute: z.number().int().min(1).max(100_000_000).nullable().optional(),
};

/** Pushpad's flat body: the content and the audience side by side. */
export const flatNotificationBody = z.strictObject(content);
/** Pushpad's wrapped body: the content under `notification` (parsed as the flat body), the audience beside it. */
export const wrappedNotificationBody = z.strictObject({
  notification: z.record(z.string(), z.unknown()),
  uids: content.uids,
  tags: content.tags,
});

export type NotificationInput = z.output<typeof flatNotificationBody>;

/** Pushpad accepts `{body, …, uids, tags}` and `{"notification": {…}, "uids": […], "tags": […]}`. */
export function parseNotificationBody(raw: unknown): NotificationInput {
  if (raw !== null && typeof raw === 'object' && 'notification' in raw) {
    const wrapped = parseInput(wrappedNotificationBody, raw, 'body');
    const inner = { ...wrapped.notification };
    if (wrapped.uids !== undefined) inner.uids = wrapped.uids;
    if (wrapped.tags !== undefined) inner.tags = wrapped.tags;
    return prefixed('notification', () => parseInput(flatNotificationBody, inner, 'body'));
  }
  return parseInput(flatNotificationBody, raw, 'body');
}

function prefixed<T>(prefix: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (error instanceof PushcastError && error.details.field && !['uids', 'tags'].some((f) => error.details.field!.startsWith(f))) {
      const field = `${prefix}.${error.details.field}`;
      throw new PushcastError(error.kind, `${prefix}.${error.message}`, { ...error.details, field });
    }
    throw error;
  }
}

/** `send_at` with no zone is UTC (Pushpad). */
export function parseSendAt(value: string, now: number): Date {
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value);
  const at = new Date(hasZone ? value : `${value}Z`);
  if (at.getTime() > now + MAX_SCHEDULE_AHEAD_MS) {
    throw new PushcastError('validation', 'send_at: must be at most 5 days ahead', { field: 'send_at', rule: 'max_schedule_ahead' });
  }
  return at;
}

/** The stored notification: the request with the project's defaults filled in. */
export function resolveContent(input: NotificationInput, project: Project): NotificationContent {
  return {
    title: input.title ?? project.name,
    body: input.body,
    targetUrl: input.target_url ?? project.website,
    iconUrl: input.icon_url ?? project.iconUrl,
    badgeUrl: input.badge_url ?? project.badgeUrl,
    imageUrl: input.image_url ?? null,
    ttl: input.ttl ?? project.notificationsTtl,
    requireInteraction: input.require_interaction ?? project.notificationsRequireInteraction,
    silent: input.silent ?? project.notificationsSilent,
    urgent: input.urgent ?? false,
    customData: input.custom_data ?? null,
    actions: (input.actions ?? []).map((a) => ({
      title: a.title,
      targetUrl: a.target_url ?? null,
      icon: a.icon ?? null,
      action: a.action ?? null,
    })),
    starred: input.starred ?? false,
    customMetrics: input.custom_metrics ?? [],
    topic: input.topic ?? null,
    overrides: overridesOf(input),
    payloads: null,
  };
}

/**
 * Refuses content that some platform could not carry: the Web Push payload must fit one 4,096-byte
 * encrypted record (open-tracking token included), the APNs payload Apple's 4 KB, FCM's notification and data its 4 KB. Computed
 * with the largest id the notification could get, so that the check holds for the id assigned later.
 */
export function checkPayloadSize(resolved: NotificationContent): void {
  const n = { ...resolved, id: Number.MAX_SAFE_INTEGER };
  // With an open-tracking token as every recipient's message carries one (fixed length, no escapes).
  const web = Buffer.byteLength(webPushPayload({ ...webPushNotificationOf(n, n.ttl), openToken: 'x'.repeat(OPEN_TOKEN_LENGTH) }));
  if (web > MAX_WEB_PUSH_PLAINTEXT) {
    throw tooLarge('payload', `the Web Push payload would be ${web} bytes; the limit is ${MAX_WEB_PUSH_PLAINTEXT} bytes (one 4096-byte encrypted record)`, web, MAX_WEB_PUSH_PLAINTEXT);
  }
  const apns = apnsPayloadBytes(apnsMessageOf(n, n.ttl, Date.now()));
  if (apns > MAX_APNS_PAYLOAD_BYTES) {
    throw tooLarge('apns', `the APNs payload would be ${apns} bytes; Apple's limit is ${MAX_APNS_PAYLOAD_BYTES}`, apns, MAX_APNS_PAYLOAD_BYTES);
  }
  const fcm = fcmPayloadBytes(fcmMessageOf(n, n.ttl));
  if (fcm > MAX_FCM_PAYLOAD_BYTES) {
    throw tooLarge('fcm', `the FCM notification and data would be ${fcm} bytes; FCM's limit is ${MAX_FCM_PAYLOAD_BYTES}`, fcm, MAX_FCM_PAYLOAD_BYTES);
  }
}

function tooLarge(field: string, message: string, size: number, limit: number): PushcastError {
  return new PushcastError('validation', `${field}: ${message}`, { field, rule: 'payload_too_large', size, limit });
}

export function parseTargetTags(tags: readonly string[] | null | undefined) {
  if (!tags || tags.length === 0) return null;
  const parsed = parseTagFilter(tags);
  if (!parsed.ok) throw tagFilterError(parsed.error, 'tags');
  return parsed.value;
}

/** A notification as every dialect hands it to `createNotification`: content resolved, audience parsed. */
export interface NotificationDraft {
  readonly content: NotificationContent;
  /** The id the dialect knows it by (Beams' publishId); absent for Pushpad's. */
  readonly externalId?: string;
  readonly uids: readonly string[] | null;
  /** The tag expressions as given (stored), and parsed (the audience). */
  readonly tagExpressions: readonly string[] | null;
  readonly tags: ReturnType<typeof parseTargetTags>;
  readonly sendAt: Date | null;
  readonly throttleRatePerMinute: number | null;
  /** Only subscriptions with one of these user emails (CloudSignal's target_user_emails). */
  readonly emails?: readonly string[] | null;
  /** Only these subscriptions (CloudSignal's target_registration_ids). */
  readonly subscriptionIds?: readonly number[] | null;
  /**
   * Someone will wait for every recipient's outcome when the audience is at most this large: the
   * notification then records each delivery too (record_deliveries 'all'), whatever its project says.
   */
  readonly recordAllUpTo?: number;
}

/** Pushpad's body (flat or wrapped) as a draft: parsed, defaults from the project, sizes checked. */
export function notificationDraft(raw: unknown, project: Project, nowMs: number): NotificationDraft {
  const input = parseNotificationBody(raw);
  const content = resolveContent(input, project);
  checkPayloadSize(content);
  return {
    content,
    uids: input.uids ?? null,
    tagExpressions: input.tags && input.tags.length > 0 ? input.tags : null,
    tags: parseTargetTags(input.tags),
    sendAt: input.send_at ? parseSendAt(input.send_at, nowMs) : null,
    throttleRatePerMinute: input.throttle_rate_per_minute ?? null,
  };
}
