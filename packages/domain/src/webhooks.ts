import { randomBytes } from 'node:crypto';
import { hostMatches, isNonPublicAddress, MAX_ENDPOINT_BYTES, type EndpointRuleBroken } from './push-endpoint.ts';
import { err, ok, type Result } from './result.ts';

/**
 * Webhooks (Standard Webhooks): the events Pushcast tells a project's systems about, the signing
 * secret, the URL rule, and what happens after each attempt. Pure: delivery lives in the worker.
 */

/** Every event type a webhook may ask for, with what it says. */
export const WEBHOOK_EVENT_TYPES = {
  'notification.created': 'a notification was accepted (data: notification_id, project_id, scheduled, send_at)',
  'notification.sending': 'the first chunk of a notification started sending',
  'notification.completed':
    'every recipient has an outcome (data: notification_id, project_id, scheduled_count, successfully_sent_count, pruned_count, failed_count, expired_count, opened_count)',
  'notification.cancelled': 'a notification was cancelled (data: the counts of the chunks over by then)',
  'notification.opened': 'recipients opened a notification (batched: up to 1,000 `opens` per event)',
  'subscription.pruned': 'subscriptions a provider called gone were deleted (batched: up to 1,000 `subscriptions` per event)',
  'delivery.failed': 'recipients that could not be sent to (batched: up to 1,000 `subscriptions` per event)',
  'quota.exhausted': 'a project used up its hourly or daily quota',
  'credentials.rejected': "a provider refused a project's credentials",
  'webhook.test': 'sent by `POST …/webhooks/:id/test` to that webhook only',
  // Pusher Beams' own, for webhooks of format `beams`, which name them (docs/beams.md).
  'v1.PublishToUsersAttempt': 'Beams: a publish to users is over (users_delivered_to_gateway, users_no_devices, users_gateway_failed)',
  'v1.UserNotificationAcknowledgement': "Beams: a user's device reported a publish delivered",
  'v1.UserNotificationOpen': 'Beams: a user opened a publish on one of their devices',
} as const satisfies Record<string, string>;

export type WebhookEventType = keyof typeof WEBHOOK_EVENT_TYPES;

/** Pusher Beams' event types: sent only to webhooks that name them (`*` and groups are Pushcast's own events). */
export const BEAMS_WEBHOOK_EVENT_TYPES = ['v1.PublishToUsersAttempt', 'v1.UserNotificationAcknowledgement', 'v1.UserNotificationOpen'] as const;
export const isBeamsWebhookEvent = (type: string): boolean => type.startsWith('v1.');

/** How a webhook's requests are shaped and signed: Standard Webhooks, or Pusher Beams' way. */
export const WEBHOOK_FORMATS = ['standard', 'beams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

/** What an `events` entry may be: an event type, a group of Pushcast's own (`notification.*`) or `*`. */
export function isWebhookEventFilter(entry: string): boolean {
  if (entry === '*') return true;
  if (entry.endsWith('.*')) return Object.keys(WEBHOOK_EVENT_TYPES).some((t) => !isBeamsWebhookEvent(t) && t.startsWith(entry.slice(0, -1)));
  return Object.hasOwn(WEBHOOK_EVENT_TYPES, entry);
}

/** Does a webhook with these `events` get this type? (The same rule as pushcast_webhook_wants in SQL.) */
export function webhookWants(events: readonly string[], type: string): boolean {
  if (isBeamsWebhookEvent(type)) return events.includes(type);
  return events.some((e) => e === '*' || e === type || (e.endsWith('.*') && type.startsWith(e.slice(0, -1))));
}

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const WEBHOOK_SECRET_BYTES = 24;

/** `whsec_` + base64 of 24 random bytes: the form Standard Webhooks' libraries take. */
export function newWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${randomBytes(WEBHOOK_SECRET_BYTES).toString('base64')}`;
}

/** Binds a sealed secret to its webhook: a row copied to another webhook does not open. */
export const webhookSecretAad = (webhookId: number): string => `pushcast:webhook:${webhookId}`;

/** The request's deadline, connection included (Standard Webhooks advises 15–30 s). */
export const WEBHOOK_TIMEOUT_MS = 15_000;
/** After a rotation the previous secret signs too, this long. */
export const WEBHOOK_SECRET_OVERLAP_MS = 24 * 3600_000;
/** A webhook failing every attempt for this long is disabled. */
export const WEBHOOK_DISABLE_AFTER_MS = 3 * 24 * 3600_000;
/** Waits before the 2nd, 3rd, … attempt: the first retry within 30 s, the last about a day after the event. */
export const WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [
  5_000, 30_000, 120_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000, 28_800_000, 28_800_000,
];

/**
 * The rule for a webhook URL, the push endpoints' host rules: https, at most 2,048 bytes, no
 * credentials, no loopback, private, link-local, CGNAT or multicast address — unless the host is
 * listed in PUSHCAST_ALLOWED_PUSH_HOSTS (plain http only there). Any public host is fine. Names
 * that resolve to such addresses are refused when the worker connects (the resolved address is
 * checked then, since DNS can change after this check).
 */
export function checkWebhookUrl(raw: string, allowedHosts: readonly string[]): Result<URL, EndpointRuleBroken> {
  if (Buffer.byteLength(raw) > MAX_ENDPOINT_BYTES) {
    return err({ rule: 'max_length', message: `must be at most ${MAX_ENDPOINT_BYTES} bytes` });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return err({ rule: 'url', message: 'must be an absolute URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return err({ rule: 'url', message: 'must be an https URL' });
  if (url.username || url.password) return err({ rule: 'url', message: 'must not carry credentials' });
  const hostname = url.hostname.toLowerCase();
  if (isAllowedWebhookHost(url, allowedHosts)) return ok(url);
  if (url.protocol !== 'https:') {
    return err({ rule: 'https_required', message: 'must use https (plain http only for hosts in PUSHCAST_ALLOWED_PUSH_HOSTS)' });
  }
  if (isNonPublicAddress(hostname) || hostname === 'localhost' || hostname.endsWith('.localhost')) {
    return err({ rule: 'private_host', message: `host ${hostname} is loopback, link-local or private` });
  }
  return ok(url);
}

/** Is the URL's host one the operator listed (where private addresses and plain http are fine)? */
export function isAllowedWebhookHost(url: URL, allowedHosts: readonly string[]): boolean {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return allowedHosts.some((entry) => hostMatches(entry, url.hostname.toLowerCase(), port));
}

/** What an attempt got: an HTTP status, or none (timeout, refused, reset, a private address). */
export interface WebhookAttemptResult {
  readonly status: number | null;
  readonly error: string | null;
}

export type WebhookNextStep =
  | { readonly delivery: 'delivered'; readonly failingSince: null }
  | { readonly delivery: 'retry'; readonly nextAttemptAt: Date; readonly failingSince: Date }
  | { readonly delivery: 'failed'; readonly failingSince: Date | null; readonly disable: string | null };

/**
 * What follows attempt number `attempt` (1 for the first): delivered on a 2xx; the webhook
 * disabled on a 410 or when it has failed since 3 days; else another attempt after
 * `delays[attempt - 1]`, or the delivery failed once the delays are used up.
 */
export function nextWebhookStep(
  result: WebhookAttemptResult,
  attempt: number,
  failingSince: Date | null,
  now: Date,
  delays: readonly number[] = WEBHOOK_RETRY_DELAYS_MS,
): WebhookNextStep {
  if (result.status !== null && result.status >= 200 && result.status < 300) return { delivery: 'delivered', failingSince: null };
  const since = failingSince ?? now;
  if (result.status === 410) {
    return { delivery: 'failed', failingSince: since, disable: `the endpoint answered 410 Gone at ${now.toISOString()}` };
  }
  if (now.getTime() - since.getTime() >= WEBHOOK_DISABLE_AFTER_MS) {
    const last = result.status !== null ? `HTTP ${result.status}` : (result.error ?? 'no answer');
    return {
      delivery: 'failed',
      failingSince: since,
      disable: `every attempt failed since ${since.toISOString()} (3 days); the last: ${last}`,
    };
  }
  const delay = delays[attempt - 1];
  if (delay === undefined) return { delivery: 'failed', failingSince: since, disable: null };
  return { delivery: 'retry', nextAttemptAt: new Date(now.getTime() + delay), failingSince: since };
}

/** Beams' schedule: four retries, 10 s, 30 s, 120 s and 300 s after the attempt before. */
export const BEAMS_WEBHOOK_RETRY_DELAYS_MS: readonly number[] = [10_000, 30_000, 120_000, 300_000];
/** Beams expects a 2xx within three seconds; a slower answer is a failure. */
export const BEAMS_WEBHOOK_TIMEOUT_MS = 3_000;

/** A project's webhook as stored (its secrets are never part of it). */
export interface Webhook {
  readonly id: number;
  readonly projectId: number;
  readonly url: string;
  readonly format: WebhookFormat;
  /** Beams' `custom_data`: in the body of every request of a `beams` webhook. */
  readonly customData: Readonly<Record<string, unknown>>;
  readonly events: readonly string[];
  readonly description: string;
  readonly enabled: boolean;
  /** Why Pushcast disabled it (410, 3 days of failures); null otherwise. */
  readonly disabledReason: string | null;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** One request made to a webhook. */
export interface WebhookAttempt {
  readonly eventId: string;
  readonly type: string;
  readonly attempt: number;
  /** The HTTP status; null when there was no answer. */
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  readonly at: Date;
}
