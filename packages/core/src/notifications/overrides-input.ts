import { FCM_ANDROID_NOTIFICATION_FIELDS, ruleParam, type PlatformOverrides } from '@pushcast/domain';
import { z } from 'zod';
import { httpUrl } from '../input/fields.ts';

/**
 * Per-platform overrides on create (`web`, `apns`, `fcm`), as Pusher Beams' publish bodies carry
 * them. Strict where Pushcast knows the fields, so that a typo is a 422 naming its path rather
 * than a key the device silently ignores.
 */

const topic = z.string().refine((v) => /^[A-Za-z0-9_-]{1,32}$/.test(v), {
  message: 'must be 1-32 URL-safe base64 characters',
  params: ruleParam('topic'),
});

const webAction = z.strictObject({
  title: z.string().min(1).max(100),
  target_url: httpUrl.nullable().optional(),
  icon: httpUrl.nullable().optional(),
  action: z.string().max(100).nullable().optional(),
});

export const webOverride = z.strictObject({
  title: z.string().max(500).nullable().optional(),
  body: z.string().min(1).max(4000).optional(),
  target_url: httpUrl.nullable().optional(),
  icon_url: httpUrl.nullable().optional(),
  badge_url: httpUrl.nullable().optional(),
  image_url: httpUrl.nullable().optional(),
  require_interaction: z.boolean().optional(),
  silent: z.boolean().optional(),
  urgent: z.boolean().optional(),
  custom_data: z.string().max(2000).nullable().optional(),
  actions: z.array(webAction).max(4).optional(),
  topic: topic.nullable().optional(),
});

const apnsAlert = z.union([
  z.string().max(4000),
  z.strictObject({
    title: z.string().max(500).optional(),
    subtitle: z.string().max(500).optional(),
    body: z.string().max(4000).optional(),
    'launch-image': z.string().max(500).optional(),
    'title-loc-key': z.string().max(200).optional(),
    'title-loc-args': z.array(z.string()).max(20).optional(),
    'subtitle-loc-key': z.string().max(200).optional(),
    'subtitle-loc-args': z.array(z.string()).max(20).optional(),
    'loc-key': z.string().max(200).optional(),
    'loc-args': z.array(z.string()).max(20).optional(),
  }),
]);

const zeroOrOne = z.union([z.literal(0), z.literal(1)]);

// Apple's keys of `aps`; null removes a key the mapping set (e.g. `"sound": null`).
const aps = z.strictObject({
  alert: apnsAlert.nullable().optional(),
  badge: z.number().int().min(0).nullable().optional(),
  sound: z
    .union([z.string().max(200), z.strictObject({ critical: zeroOrOne.optional(), name: z.string().max(200), volume: z.number().min(0).max(1).optional() })])
    .nullable()
    .optional(),
  'thread-id': z.string().max(200).nullable().optional(),
  category: z.string().max(200).nullable().optional(),
  'content-available': zeroOrOne.nullable().optional(),
  'mutable-content': zeroOrOne.nullable().optional(),
  'target-content-id': z.string().max(200).nullable().optional(),
  'interruption-level': z.enum(['passive', 'active', 'time-sensitive', 'critical']).nullable().optional(),
  'relevance-score': z.number().min(0).max(1).nullable().optional(),
});

const apnsHeaders = z.strictObject({
  'apns-priority': z.union([z.literal(10), z.literal(5), z.literal(1)]).optional(),
  'apns-push-type': z.enum(['alert', 'background']).optional(),
  'apns-collapse-id': z
    .string()
    .min(1)
    .refine((v) => Buffer.byteLength(v) <= 64, { message: 'must be at most 64 bytes', params: ruleParam('max_length') })
    .optional(),
  'apns-expiration': z.number().int().min(0).max(2 ** 32 - 1).optional(),
});

// Named, so that the OpenAPI document can refer to it (it refers to itself).
export const jsonValue: z.ZodType<unknown> = z
  .lazy(() => z.union([z.string(), z.number(), z.boolean(), z.null(), z.array(json), z.record(z.string(), json)]))
  .meta({ id: 'JsonValue' });
const json = jsonValue;

export const apnsOverride = z
  .object({ aps: aps.optional(), headers: apnsHeaders.optional() })
  .catchall(json)
  .superRefine((value, ctx) => {
    if (value.headers?.['apns-push-type'] === 'background' && value.headers['apns-priority'] === 10) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers', 'apns-priority'],
        message: 'a background push must have priority 5 or 1 (Apple refuses 10)',
        params: ruleParam('background_priority'),
      });
    }
  });

/** FCM refuses these data keys. */
const RESERVED_DATA_KEY = /^(from|notification|message_type)$|^(google|gcm)/i;

const fcmData = z.record(z.string().min(1).max(256), z.string().max(4096)).superRefine((data, ctx) => {
  for (const key of Object.keys(data)) {
    if (RESERVED_DATA_KEY.test(key)) {
      ctx.addIssue({ code: 'custom', path: [key], message: 'is a key FCM reserves', params: ruleParam('reserved_key') });
    }
  }
});

export const fcmOverride = z.strictObject({
  notification: z
    .strictObject({ title: z.string().max(500).optional(), body: z.string().max(4000).optional(), image: httpUrl.optional() })
    .optional(),
  data: fcmData.optional(),
  android: z
    .strictObject({
      priority: z.enum(['high', 'normal']).optional(),
      ttl: z.number().int().min(0).max(2_419_200).optional(),
      collapse_key: z.string().min(1).max(200).optional(),
      restricted_package_name: z.string().min(1).max(255).optional(),
      notification: z
        .strictObject(
          Object.fromEntries(
            FCM_ANDROID_NOTIFICATION_FIELDS.map((f) => [
              f,
              f === 'color'
                ? z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be #rrggbb').optional()
                : f === 'image'
                  ? httpUrl.optional()
                  : z.string().max(1000).optional(),
            ]),
          ) as Record<(typeof FCM_ANDROID_NOTIFICATION_FIELDS)[number], z.ZodOptional<z.ZodString>>,
        )
        .optional(),
    })
    .optional(),
  fcm_options: z.strictObject({ analytics_label: z.string().regex(/^[a-zA-Z0-9-_.~%]{1,50}$/, 'must be 1-50 of a-z A-Z 0-9 - _ . ~ %') }).optional(),
});

export const overrideFields = {
  web: webOverride.optional(),
  apns: apnsOverride.optional(),
  fcm: fcmOverride.optional(),
};

/** The overrides of a parsed body, as stored: absent platforms left out. */
export function overridesOf(input: { web?: unknown; apns?: unknown; fcm?: unknown }): PlatformOverrides {
  return {
    ...(input.web !== undefined ? { web: input.web as PlatformOverrides['web'] } : {}),
    ...(input.apns !== undefined ? { apns: input.apns as PlatformOverrides['apns'] } : {}),
    ...(input.fcm !== undefined ? { fcm: input.fcm as PlatformOverrides['fcm'] } : {}),
  };
}
