import { createHash } from 'node:crypto';
import { PushcastError, type NotificationContent, type Project } from '@pushcast/domain';
import { z } from 'zod';
import { userEmail } from '../input/email.ts';
import { httpUrl, idParam, uid } from '../input/fields.ts';
import { MAX_TTL, MAX_UIDS } from '../notifications/content-input.ts';
import { jsonValue } from '../notifications/overrides-input.ts';

/**
 * CloudSignal's send body (`POST /v2/push/send`, `/v2/push/broadcast`), with its limits: title ≤
 * 100 and body ≤ 255 characters, ttl ≤ 28 days, one way of targeting. Strict, as Pushcast's other
 * bodies: a misspelt field is a 400 naming it rather than a setting silently ignored.
 */
export const URGENCIES = ['very-low', 'low', 'normal', 'high'] as const;


/** A registration id is a subscription's id, as a string (a number is taken too). */
const registrationId = idParam;

const targetList = <T extends z.ZodType>(item: T) => z.array(item).min(1).max(MAX_UIDS);

export const cloudSignalSendBody = z.strictObject({
  title: z.string().min(1).max(100).describe('Required: at most 100 characters'),
  body: z.string().min(1).max(255).describe('Required: at most 255 characters'),
  icon: httpUrl.optional().describe('Icon URL (default: the project’s)'),
  badge: httpUrl.optional().describe('Badge URL (default: the project’s)'),
  image: httpUrl.optional().describe('Large image URL'),
  tag: z.string().min(1).max(200).optional().describe('Groups notifications: a newer one with the same tag replaces a pending one at the push service (Web Push Topic)'),
  data: z.record(z.string(), jsonValue).optional().describe('Custom data, handed to the service worker as custom_data (JSON text)'),
  urgency: z.enum(URGENCIES).optional().describe('`high` is sent as urgent; the others as normal'),
  ttl: z.number().int().min(0).max(MAX_TTL).optional().describe('Seconds, at most 28 days (default: the project’s)'),
  target_all: z.boolean().optional(),
  target_user_emails: targetList(userEmail).optional(),
  target_user_ids: targetList(uid).optional().describe('uids'),
  target_registration_ids: targetList(registrationId).optional().describe('Subscription ids, as strings'),
  async_mode: z.boolean().optional().describe('Answer `queued` at once, whatever the audience'),
});

export type CloudSignalSendInput = z.output<typeof cloudSignalSendBody>;

export type CloudSignalTarget =
  | { readonly kind: 'all' }
  | { readonly kind: 'emails'; readonly emails: readonly string[] }
  | { readonly kind: 'uids'; readonly uids: readonly string[] }
  | { readonly kind: 'ids'; readonly ids: readonly number[] };

/** Exactly one way of targeting (a `target_all` of false is none); `/broadcast` sets target_all itself. */
export function targetOf(input: CloudSignalSendInput): CloudSignalTarget {
  const given: CloudSignalTarget[] = [];
  if (input.target_all === true) given.push({ kind: 'all' });
  if (input.target_user_emails) given.push({ kind: 'emails', emails: [...new Set(input.target_user_emails.map((e) => e.toLowerCase()))] });
  if (input.target_user_ids) given.push({ kind: 'uids', uids: [...new Set(input.target_user_ids)] });
  if (input.target_registration_ids) given.push({ kind: 'ids', ids: [...new Set(input.target_registration_ids)] });
  if (given.length !== 1) {
    throw new PushcastError(
      given.length === 0 ? 'bad_request' : 'validation',
      'target: use exactly one of target_all, target_user_emails, target_user_ids, target_registration_ids',
      { field: 'target_all', rule: 'one_target' },
    );
  }
  return given[0]!;
}

const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** A tag as a Web Push Topic (1-32 URL-safe characters): as it is when it is one, else a digest of it. */
export const topicOfTag = (tag: string): string => (TOPIC.test(tag) ? tag : createHash('sha256').update(tag).digest('base64url').slice(0, 32));

/** The stored notification: CloudSignal's fields in Pushcast's content, the project's defaults for the rest. */
export function cloudSignalContent(input: CloudSignalSendInput, project: Project): NotificationContent {
  return {
    title: input.title,
    body: input.body,
    targetUrl: project.website,
    iconUrl: input.icon ?? project.iconUrl,
    badgeUrl: input.badge ?? project.badgeUrl,
    imageUrl: input.image ?? null,
    ttl: input.ttl ?? project.notificationsTtl,
    requireInteraction: project.notificationsRequireInteraction,
    silent: project.notificationsSilent,
    urgent: input.urgency === 'high',
    customData: input.data === undefined ? null : JSON.stringify(input.data),
    actions: [],
    starred: false,
    customMetrics: [],
    topic: input.tag === undefined ? null : topicOfTag(input.tag),
    overrides: {},
    payloads: null,
  };
}
