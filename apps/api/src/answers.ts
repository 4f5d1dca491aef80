import { apnsOverride, fcmOverride, webOverride } from '@pushcast/core';
import { DELIVERY_RECORD_OUTCOMES, RECORD_DELIVERIES, RULES, WEBHOOK_FORMATS, type ErrorKind, type Rule } from '@pushcast/domain';
import { z } from 'zod';
import { statusByKind } from './http-errors.ts';

/**
 * The JSON bodies Pushcast answers with, as zod schemas: serializers.ts builds them (typed by these),
 * the routes declare them as their response schemas, and the OpenAPI document is generated from
 * them. Schemas with an `id` become components (`#/components/schemas/<id>`).
 */

const isoDateTime = z.string().describe('ISO 8601 date-time (UTC)');
const id = z.number().int().positive();
/** A count: never negative. */
const count = z.number().int().min(0);

/** Whether the provider takes a project's credential (see the credential breaker in docs/api.md). */
const credentialsState = {
  status: z.enum(['active', 'rejected']).describe('`rejected`: the provider refused it several times in a row; sends on the platform wait until it is set again'),
  rejected_reason: z.string().nullable().describe('The provider\'s refusal, e.g. `apns_InvalidProviderToken`, `fcm_app_invalid-credential`'),
  rejected_at: isoDateTime.nullable(),
};

/** Every error kind, from the one table that maps them to statuses. */
const ERROR_KINDS = Object.keys(statusByKind) as [ErrorKind, ...ErrorKind[]];

/** Pushcast's error body: what went wrong, its kind, and for a field the field and the rule it broke. */
export const errorAnswer = z
  .object({
    error: z.string().describe('What went wrong, for people (`field: problem` when a field is at fault)'),
    code: z.enum(ERROR_KINDS).describe('The kind of error; the HTTP status follows from it'),
    field: z.string().optional().describe('Dotted path of the offending field, e.g. `tags.2`, `apns.aps.badge` or `Origin`'),
    rule: z
      .enum(Object.keys(RULES) as [Rule, ...Rule[]])
      .optional()
      .describe('The broken rule: stable API, clients may branch on it (README, "Rules")'),
  })
  .catchall(z.unknown())
  .meta({ id: 'Error', description: 'Some rules add fields: `retry_after`, `limit`, `size`, `expression`, `position`.' });

export const senderAnswer = z
  .object({
    id,
    name: z.string(),
    vapid_private_key: z
      .string()
      .nullable()
      .describe('PEM of the VAPID P-256 private key; null when this server cannot open it (PUSHCAST_SECRET_KEY missing or another)'),
    vapid_public_key: z.string().describe('PEM (SPKI) of the VAPID public key'),
    created_at: isoDateTime,
  })
  .meta({ id: 'Sender' });

export const projectAnswer = z
  .object({
    id,
    sender_id: id,
    name: z.string(),
    website: z.string(),
    icon_url: z.string().nullable(),
    badge_url: z.string().nullable(),
    notifications_ttl: z.number().int().describe('Seconds; the default ttl of its notifications'),
    notifications_require_interaction: z.boolean(),
    notifications_silent: z.boolean(),
    created_at: isoDateTime,
    quota_hourly: z.number().int().nullable().describe("null: the deployment's default; 0: unlimited"),
    quota_daily: z.number().int().nullable().describe("null: the deployment's default; 0: unlimited"),
    quota_policy: z.enum(['defer', 'reject']),
    allowed_origins: z.array(z.string()).nullable().describe("Origins whose pages may call the browser endpoints; null: the website's"),
    browser_tags_allowed: z.array(z.string()).describe('Tags a browser may set: exact tags, or a prefix and `*`'),
    beams_instance_id: z.string().describe('The project as a Pusher Beams instance (its `instanceId`)'),
    record_deliveries: z
      .enum(RECORD_DELIVERIES)
      .describe('`failures`: only recipients who did not get a notification are recorded; `all`: each delivery too'),
    apns_credentials: z
      .object({ key_id: z.string(), team_id: z.string(), topic: z.string(), production: z.boolean(), updated_at: isoDateTime, ...credentialsState })
      .nullable()
      .describe('A summary; the key itself is never answered'),
    fcm_credentials: z
      .object({ project_id: z.string(), client_email: z.string(), private_key_id: z.string().nullable(), updated_at: isoDateTime, ...credentialsState })
      .nullable()
      .describe('A summary; the private key is never answered'),
    web_push: z
      .object(credentialsState)
      .describe(
        "Web Push with the sender's VAPID key: `rejected` when push services refused it (401/403) 50 times in a row; sends wait until the project's website (the VAPID subject) or sender is changed",
      ),
  })
  .meta({ id: 'Project' });

export const deliveryRecordAnswer = z
  .object({
    subscription_id: id.describe('Its subscription (deleted when pruned; the record stays)'),
    uid: z.string().nullable().describe("The subscription's uid when the outcome was recorded"),
    platform: z.enum(['web', 'apns', 'fcm']),
    outcome: z.enum(DELIVERY_RECORD_OUTCOMES),
    status: z.number().int().nullable().describe("The provider's HTTP status, when it answered"),
    reason: z
      .string()
      .nullable()
      .describe("The provider's reason (`Unregistered`, `BadDeviceToken`, `UNREGISTERED`), else Pushcast's code (`retries_exhausted`, `http_400`…)"),
    at: isoDateTime,
  })
  .meta({ id: 'DeliveryRecord' });

const nextCursor = z.string().nullable().describe('Pass as `cursor` for the next page; null on the last');

export const failuresAnswer = z
  .object({ data: z.array(deliveryRecordAnswer), next_cursor: nextCursor })
  .meta({ id: 'NotificationFailures' });

export const deliveriesAnswer = z
  .object({
    data: z.array(deliveryRecordAnswer),
    next_cursor: nextCursor,
    record_deliveries: z.enum(RECORD_DELIVERIES).nullable().describe("What the project records now: with `failures`, a delivered recipient has no record"),
  })
  .meta({ id: 'NotificationDeliveries' });

export const subscriptionAnswer = z
  .object({
    id,
    project_id: id,
    endpoint: z.string().nullable().describe('The push endpoint (web; null for devices)'),
    p256dh: z.string().nullable(),
    auth: z.string().nullable(),
    uid: z.string().nullable(),
    tags: z.array(z.string()),
    last_click_at: isoDateTime.nullable(),
    created_at: isoDateTime,
    platform: z.enum(['web', 'apns', 'fcm']),
    token: z.string().nullable().optional().describe('The device token (apns and fcm only)'),
    user_email: z.string().nullable().describe('The address the subscription belongs to (CloudSignal targets by it); null when none'),
  })
  .meta({ id: 'Subscription' });

export const accessTokenAnswer = z
  .object({
    id,
    name: z.string(),
    prefix: z.string().describe('The first characters of the token, to recognise it'),
    admin: z.boolean(),
    project_ids: z.array(id),
    created_at: isoDateTime,
  })
  .meta({ id: 'AccessToken' });

export const createdAccessTokenAnswer = accessTokenAnswer
  .extend({ token: z.string().describe('The secret: shown this once, never again') })
  .meta({ id: 'CreatedAccessToken' });

export const secretKeyAnswer = z
  .object({ id, project_id: id, prefix: z.string().describe('The first characters of the key, to recognise it'), created_at: isoDateTime })
  .meta({ id: 'SecretKey' });

export const createdSecretKeyAnswer = secretKeyAnswer
  .extend({ secret_key: z.string().describe('The key (`sk_…`): shown this once, never again') })
  .meta({ id: 'CreatedSecretKey' });

const failures = z.record(z.string(), count).describe('Recipients that failed, by reason');

const deliveryCounts = {
  scheduled_count: count,
  successfully_sent_count: count,
  pruned_count: count.describe('Subscriptions the push service said are gone (removed)'),
  expired_count: count.describe('Recipients reached after the ttl, or not reachable for a ttl of 0'),
  failed_count: count,
};

const platformStats = z.object({ ...deliveryCounts, failures });

const action = z.object({ title: z.string(), target_url: z.string().nullable(), icon: z.string().nullable(), action: z.string().nullable() });

export const notificationAnswer = z
  .object({
    id,
    project_id: id,
    title: z.string().nullable(),
    body: z.string(),
    target_url: z.string().nullable(),
    icon_url: z.string().nullable(),
    badge_url: z.string().nullable(),
    image_url: z.string().nullable(),
    ttl: count,
    require_interaction: z.boolean(),
    silent: z.boolean(),
    urgent: z.boolean(),
    custom_data: z.string().nullable(),
    actions: z.array(action),
    starred: z.boolean(),
    send_at: isoDateTime.nullable(),
    custom_metrics: z.array(z.string()),
    topic: z.string().nullable(),
    throttle_rate_per_minute: count.nullable(),
    uids: z.array(z.string()).nullable(),
    tags: z.array(z.string()).nullable(),
    web: webOverride.nullable(),
    apns: apnsOverride.nullable(),
    fcm: fcmOverride.nullable(),
    created_at: isoDateTime,
    ...deliveryCounts,
    opened_count: count,
    scheduled: z.boolean(),
    cancelled: z.boolean(),
    status: z.enum(['scheduled', 'queued', 'planning', 'sending', 'sent', 'cancelled']),
    failures,
    opened_actions: z.record(z.string(), count).describe('Opens through each action, by its `action` (or title)'),
    platforms: z.object({ web: platformStats, apns: platformStats, fcm: platformStats }),
    completed_at: isoDateTime.nullable(),
  })
  .meta({ id: 'Notification' });

/** One recipient's outcome in a waited-for create (`?wait=`). */
export const recipientResultAnswer = z
  .object({
    subscription_id: id,
    uid: z.string().nullable(),
    platform: z.enum(['web', 'apns', 'fcm']),
    outcome: z.enum(DELIVERY_RECORD_OUTCOMES),
    provider_status: z.number().int().nullable().describe("The push service's HTTP status, when it answered one"),
    reason: z.string().nullable().describe("The provider's reason (Unregistered, UNREGISTERED, …) or Pushcast's code"),
  })
  .meta({ id: 'RecipientResult' });

export const createdNotificationAnswer = z
  .union([
    z.object({
      id,
      scheduled: count.describe('Recipients (exact up to 100,000, an estimate above)'),
      uids: z.array(z.string()).optional().describe('The given uids that are subscribed'),
      completed: z.boolean().optional().describe('With `?wait=`: every recipient has an outcome (false: the wait ran out first)'),
      results: z.array(recipientResultAnswer).optional().describe('With `?wait=`: each recipient with an outcome so far, in subscription order'),
    }),
    z.object({ id, send_at: isoDateTime }),
  ])
  .meta({ id: 'CreatedNotification' });

export const customMetricAnswer = z
  .object({
    name: z.string(),
    notifications_count: count,
    scheduled_count: count,
    successfully_sent_count: count,
    opened_count: count,
    pruned_count: count,
    expired_count: count,
    failed_count: count,
  })
  .meta({ id: 'CustomMetric' });

export const quotaAnswer = z
  .object({
    hourly_limit: z.number().int().describe('0: unlimited'),
    daily_limit: z.number().int().describe('0: unlimited'),
    hourly_remaining: z.number().int().nullable().describe('null: unlimited'),
    daily_remaining: z.number().int().nullable().describe('null: unlimited'),
    hourly_used: z.number().int(),
    daily_used: z.number().int(),
    reset_hourly_at: isoDateTime,
    reset_daily_at: isoDateTime,
    policy: z.enum(['defer', 'reject']),
  })
  .meta({ id: 'Quota' });

export const browserSubscriptionAnswer = z
  .object({
    id,
    project_id: id,
    uid: z.string().nullable(),
    user_email: z.string().nullable(),
    tags: z.array(z.string()).describe('Only the tags a browser may set'),
    created_at: isoDateTime,
  })
  .meta({ id: 'BrowserSubscription' });

export const browserSubscriptionStatusAnswer = z
  .union([z.object({ subscribed: z.literal(false) }), browserSubscriptionAnswer.extend({ subscribed: z.literal(true) })])
  .meta({ id: 'BrowserSubscriptionStatus' });

export const vapidKeyAnswer = z.object({
  vapid_public_key: z.string().describe("base64url of the 65-byte point: pushManager.subscribe's applicationServerKey"),
});

export const openAnswer = z.object({ counted: z.boolean().describe('false when this recipient had already reported') });

export const importAnswer = z
  .object({
    id,
    project_id: id,
    format: z.enum(['ndjson', 'csv']),
    status: z.enum(['receiving', 'queued', 'running', 'completed', 'failed']),
    rows: count.describe('Rows read so far'),
    inserted: count,
    updated: count.describe('Rows for an existing endpoint or token, which they updated'),
    rejected: count.describe('Rows refused, each reported in `errors` (the first 1,000)'),
    errors: z.array(z.object({ line: z.number().int().describe('1-based'), field: z.string(), rule: z.string(), message: z.string() })),
    failure: z.string().nullable().describe('Why the import failed as a whole'),
    created_at: isoDateTime,
    finished_at: isoDateTime.nullable(),
  })
  .meta({ id: 'SubscriptionImport' });

export const webhookAnswer = z
  .object({
    id,
    project_id: id,
    url: z.string(),
    format: z.enum(WEBHOOK_FORMATS).describe("`standard`: Standard Webhooks; `beams`: Pusher Beams' requests and signature (docs/beams.md)"),
    custom_data: z.record(z.string(), z.unknown()).describe("Beams' `custom_data`, sent in every request of a `beams` webhook (`{}` otherwise)"),
    events: z.array(z.string()).describe('Event types, groups (`notification.*`) or `*`; a `beams` webhook names Beams\' `v1.…` events'),
    description: z.string(),
    enabled: z.boolean(),
    disabled_reason: z.string().nullable().describe('Why Pushcast disabled it (a 410, 3 days of failures)'),
    created_at: isoDateTime,
    updated_at: isoDateTime,
  })
  .meta({ id: 'Webhook' });

export const webhookWithSecretAnswer = webhookAnswer
  .extend({ secret: z.string().describe('The signing secret (`whsec_…`, or the one given to a `beams` webhook): shown on create and rotation only') })
  .meta({ id: 'WebhookWithSecret' });

export const webhookAttemptAnswer = z
  .object({
    event_id: z.string(),
    type: z.string(),
    attempt: z.number().int(),
    status: z.number().int().nullable().describe('The HTTP status; null when there was no answer'),
    duration_ms: z.number(),
    error: z.string().nullable(),
    at: isoDateTime,
  })
  .meta({ id: 'WebhookAttempt' });

/** An answer as serializers build it: the schema's output, read-only all the way down (domain values are). */
type Answer<S extends z.ZodType> = DeepReadonly<z.output<S>>;
type DeepReadonly<T> = T extends (infer E)[] ? readonly DeepReadonly<E>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

export type SenderAnswer = Answer<typeof senderAnswer>;
export type ProjectAnswer = Answer<typeof projectAnswer>;
export type DeliveryRecordAnswer = Answer<typeof deliveryRecordAnswer>;
export type SubscriptionAnswer = Answer<typeof subscriptionAnswer>;
export type AccessTokenAnswer = Answer<typeof accessTokenAnswer>;
export type NotificationAnswer = Answer<typeof notificationAnswer>;
export type BrowserSubscriptionAnswer = Answer<typeof browserSubscriptionAnswer>;
export type SecretKeyAnswer = Answer<typeof secretKeyAnswer>;
export type ImportAnswer = Answer<typeof importAnswer>;
export type WebhookAnswer = Answer<typeof webhookAnswer>;
export type WebhookAttemptAnswer = Answer<typeof webhookAttemptAnswer>;

/** Subscribers per platform and in all, from maintained counters (never a count of rows). */
const subscriberCounts = z
  .object({ total: count, web: count, apns: count, fcm: count })
  .meta({ id: 'SubscriberCounts' });

export const projectSummaryAnswer = z
  .object({
    project_id: id,
    subscribers: subscriberCounts,
    notifications_last_24h: count.describe('Notifications created in the last 24 hours'),
  })
  .meta({ id: 'ProjectSummary' });

export const projectStatsAnswer = z
  .object({
    project_id: id,
    subscribers: subscriberCounts,
    notifications_last_24h: count.describe('Notifications created in the last 24 hours'),
    subscribers_over_time: z
      .array(z.object({ day: z.string().describe('YYYY-MM-DD (UTC)'), subscribers: subscriberCounts }))
      .describe("Each day's count at its end (oldest first; days before the project had statistics are left out); the last entry is today's, live"),
  })
  .meta({ id: 'ProjectStats' });

export const audienceAnswer = z
  .object({
    count: count.describe('Subscriptions the filters match'),
    exact: z.boolean().describe('false: above 100,000 matches, PostgreSQL\'s estimate (what `scheduled` in a create answer would be)'),
  })
  .meta({ id: 'Audience' });
