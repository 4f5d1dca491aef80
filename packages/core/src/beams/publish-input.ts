import { ruleParam } from '@pushcast/domain';
import { z } from 'zod';
import { jsonValue } from '../notifications/overrides-input.ts';

/**
 * Pusher Beams' publish bodies (`POST /publish_api/v1/instances/{i}/publishes/interests|users`),
 * with Beams' limits. Top-level fields Beams does not use are ignored, as Beams does (its SDKs
 * pass the caller's body through); the platform sections are checked where a platform or Beams'
 * SDKs would refuse them, and otherwise kept as given.
 */

export const MAX_INTERESTS_PER_PUBLISH = 100;
export const MAX_USERS_PER_PUBLISH = 1000;
/** Interests and user ids: at most 164 characters (Beams), user ids counted in UTF-8 bytes. */
export const MAX_BEAMS_NAME_LENGTH = 164;
export const BEAMS_INTEREST_PATTERN = /^[a-zA-Z0-9_\-=@,.;]+$/;
/** Beams' default and longest time to live: four weeks. */
export const BEAMS_MAX_TTL = 2_419_200;

export const beamsInterest = z
  .string()
  .min(1)
  .max(MAX_BEAMS_NAME_LENGTH)
  .refine((v) => BEAMS_INTEREST_PATTERN.test(v), {
    message: 'may contain only ASCII letters, digits and _ - = @ , . ;',
    params: ruleParam('tag_characters'),
  });

export const beamsUserId = z
  .string()
  .min(1)
  .refine((v) => Buffer.byteLength(v, 'utf8') <= MAX_BEAMS_NAME_LENGTH, {
    message: `must be at most ${MAX_BEAMS_NAME_LENGTH} bytes of UTF-8`,
    params: ruleParam('max_length'),
  });

// Pushpad's overrides use the same (named) JSON value: the OpenAPI document has it once.
const jsonObject = z.record(z.string(), jsonValue);

/** `data` objects Beams completes with its own `pusher` key (what the SDKs read): the caller may not set it. */
const customerData = jsonObject.refine((d) => !Object.hasOwn(d, 'pusher'), {
  message: 'may not contain the key "pusher" (Beams sets it)',
  params: ruleParam('reserved_key'),
});

const ttl = z.number().int().min(0).max(BEAMS_MAX_TTL);

const web = z.looseObject({
  time_to_live: ttl.optional(),
  notification: z
    .looseObject({
      title: z.string().optional(),
      body: z.string().optional(),
      icon: z.string().optional(),
      deep_link: z.string().optional(),
      hide_notification_if_site_has_focus: z.boolean().optional(),
    })
    .optional(),
  data: customerData.optional(),
});

// Besides the APNs payload, Beams' own keys for request headers (its SDKs' `ApnsPayload`).
const apns = z.looseObject({
  aps: jsonObject.optional(),
  data: customerData.optional(),
  collapse_id: z
    .string()
    .min(1)
    .refine((v) => Buffer.byteLength(v) <= 64, { message: 'must be at most 64 bytes', params: ruleParam('max_length') })
    .optional(),
  priority: z.union([z.literal(5), z.literal(10)]).optional(),
  /** Epoch seconds (`apns-expiration`); 0 = once, now or never. */
  expiration: z.number().int().min(0).max(2 ** 32 - 1).optional(),
});

/** FCM keeps these data keys for itself and refuses a message that has them. */
const FCM_RESERVED_DATA_KEY = /^(from|notification|message_type)$|^(google|gcm)\./i;

const fcmData = customerData.superRefine((data, ctx) => {
  for (const key of Object.keys(data)) {
    if (FCM_RESERVED_DATA_KEY.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'is a key FCM reserves', params: ruleParam('reserved_key') });
  }
});

const locArgs = z.array(z.string()).max(100);

// The legacy FCM HTTP format Beams takes (`notification`, `data`, `priority`, `time_to_live`, …).
const fcm = z.looseObject({
  notification: z
    .looseObject({
      title: z.string().optional(),
      body: z.string().optional(),
      icon: z.string().optional(),
      image: z.string().optional(),
      sound: z.string().optional(),
      tag: z.string().optional(),
      color: z.string().regex(/^#[0-9a-fA-F]{6}$/, 'must be #rrggbb').optional(),
      click_action: z.string().optional(),
      android_channel_id: z.string().optional(),
      body_loc_key: z.string().optional(),
      body_loc_args: locArgs.optional(),
      title_loc_key: z.string().optional(),
      title_loc_args: locArgs.optional(),
    })
    .optional(),
  data: fcmData.optional(),
  priority: z.enum(['high', 'normal']).optional(),
  time_to_live: ttl.optional(),
  collapse_key: z.string().min(1).optional(),
  restricted_package_name: z.string().min(1).optional(),
});

export type BeamsWebSection = z.output<typeof web>;
export type BeamsApnsSection = z.output<typeof apns>;
export type BeamsFcmSection = z.output<typeof fcm>;

const sections = {
  apns: apns.optional(),
  fcm: fcm.optional(),
  web: web.optional(),
  // Deprecated in Beams (STARTED/FINISHED callbacks); accepted and not called.
  webhookUrl: z.string().optional(),
};

const atLeastOneSection = (body: { apns?: unknown; fcm?: unknown; web?: unknown }) =>
  body.apns !== undefined || body.fcm !== undefined || body.web !== undefined;
const sectionRule = { message: 'must have at least one of apns, fcm or web', params: ruleParam('required') };

export const publishToInterestsBody = z
  .object({ interests: z.array(beamsInterest).min(1).max(MAX_INTERESTS_PER_PUBLISH), ...sections })
  .refine(atLeastOneSection, sectionRule);

export const publishToUsersBody = z
  .object({ users: z.array(beamsUserId).min(1).max(MAX_USERS_PER_PUBLISH), ...sections })
  .refine(atLeastOneSection, sectionRule);

export type BeamsPublishSections = Pick<z.output<typeof publishToInterestsBody>, 'apns' | 'fcm' | 'web'>;
