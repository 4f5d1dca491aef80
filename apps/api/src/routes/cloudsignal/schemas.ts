import { CLIENT_STATUSES, clientsQuery, cloudSignalSendBody, registrationIdParams } from '@pushcast/core';
import { z } from 'zod';
import { json } from '../../openapi/route-schemas.ts';

/**
 * The CloudSignal routes' schemas, declared once each: the OpenAPI document (tag "CloudSignal") is
 * generated from them; the handlers read their input with the same schemas through the core's
 * parseInput. Refusals are CloudSignal's `{detail, code}` (with Pushcast's field and rule).
 */

const tags = ['CloudSignal'];
const security = [{ cloudSignalSecretKey: [] }];

export const cloudSignalErrorAnswer = z
  .object({
    detail: z.string().describe('What went wrong, for people'),
    code: z.enum(['UNAUTHORIZED', 'FORBIDDEN', 'INVALID_REQUEST', 'NOT_FOUND', 'RATE_LIMITED', 'QUOTA_EXCEEDED', 'SERVICE_UNAVAILABLE', 'INTERNAL_ERROR']),
    field: z.string().optional().describe('The field that broke a rule'),
    rule: z.string().optional().describe("The rule (Pushcast's catalogue)"),
  })
  .meta({ id: 'CloudSignalError', description: "CloudSignal's error body, with CloudSignal's status codes" });

const CLOUDSIGNAL_ERRORS = {
  400: 'INVALID_REQUEST: malformed JSON, a missing or broken field (`field`, `rule`), a body that is not a JSON object',
  401: 'UNAUTHORIZED: no `X-Secret-Key`, or not a live secret key',
  404: "NOT_FOUND: a registration or request id that is not the project's",
  429: 'RATE_LIMITED (per project, `Retry-After`) or QUOTA_EXCEEDED (a `reject` quota has no room)',
} as const;
type Status = keyof typeof CLOUDSIGNAL_ERRORS;

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: cloudSignalErrorAnswer } } });

/** 400 and 401 always, the statuses named, and `default` (500, 503 SERVICE_UNAVAILABLE with `Retry-After`). */
function cloudSignalErrors(...statuses: Status[]) {
  const all = [...new Set<Status>([400, 401, ...statuses])].sort();
  return {
    ...Object.fromEntries(all.map((s) => [s, errorResponse(CLOUDSIGNAL_ERRORS[s])])),
    default: errorResponse('SERVICE_UNAVAILABLE (503, `Retry-After`) while PostgreSQL or Redis is away, or INTERNAL_ERROR (500)'),
  };
}

const count = z.number().int().min(0);
const isoDateTime = z.string().describe('ISO 8601, UTC');
const limit = z.number().int().min(1).nullable().describe('null: unlimited');
const left = z.number().int().min(0).nullable().describe('null: unlimited');

const sendAnswer = z
  .object({
    request_id: z.string().describe('`req_…`: GET /v2/push/requests/{request_id} answers the same later'),
    total_targets: count,
    successful_sends: count.describe('Recipients whose push service took the message'),
    failed_sends: count.describe('The others: gone, refused, expired'),
    invalid_registrations: z.array(z.string()).describe('Registration ids the push service called gone (now `expired`)'),
    message: z.string(),
    status: z.enum(['completed', 'queued', 'cancelled']),
    notification_id: z.number().int().min(1).describe("Pushcast's notification (GET /api/v1/notifications/{id})"),
  })
  .meta({ id: 'CloudSignalSend' });

const deviceInfo = z.object({
  browser_name: z.string().nullable(),
  browser_version: z.string().nullable().describe('The major version'),
  os_name: z.string().nullable(),
  device_type: z.string().nullable().describe('desktop, mobile, tablet or tv'),
});

const clientAnswer = z
  .object({
    registration_id: z.string().describe("The subscription's id, as a string"),
    organization_id: z.string().describe('`org_<sender id>`'),
    service_id: z.string().describe('`svc_<project id>`'),
    status: z.enum(CLIENT_STATUSES),
    is_active: z.boolean(),
    is_online: z.boolean().describe('Always false'),
    is_installed: z.boolean().describe('Always false'),
    is_subscribed: z.boolean().describe('Still targeted (active or inactive)'),
    user_email: z.string().nullable(),
    uid: z.string().nullable(),
    platform: z.enum(['web', 'apns', 'fcm']),
    last_active: isoDateTime,
    notification_count: count.describe('Recorded deliveries within the delivery records’ retention'),
    device_info: deviceInfo.describe("From the subscribing browser's User-Agent; nulls when unknown"),
    created_at: isoDateTime,
  })
  .meta({ id: 'CloudSignalClient' });

export const cloudSignalSchemas = {
  send: {
    tags,
    operationId: 'cloudSignalSend',
    summary: 'CloudSignal: send',
    description:
      'Exactly one of `target_all`, `target_user_emails`, `target_user_ids` (uids), `target_registration_ids`. ' +
      'At most 100 recipients and no `async_mode`: answers `completed` once every recipient has an outcome (at most 10 s, else `queued`); ' +
      'more: `queued` at once.',
    security,
    body: cloudSignalSendBody,
    response: { 200: json('Sent, or queued', sendAnswer), ...cloudSignalErrors(429) },
  },
  broadcast: {
    tags,
    operationId: 'cloudSignalBroadcast',
    summary: 'CloudSignal: send to every client',
    description: 'The send body without its targets: `target_all` is set.',
    security,
    body: cloudSignalSendBody.omit({ target_user_emails: true, target_user_ids: true, target_registration_ids: true }),
    response: { 200: json('Sent, or queued', sendAnswer), ...cloudSignalErrors(429) },
  },
  request: {
    tags,
    operationId: 'cloudSignalRequest',
    summary: "CloudSignal: a send's counts, later",
    security,
    params: z.object({ request_id: z.string().min(1).max(100) }),
    response: { 200: json('The counts now', sendAnswer), ...cloudSignalErrors(404) },
  },
  quota: {
    tags,
    operationId: 'cloudSignalQuota',
    summary: "CloudSignal: the project's quota",
    security,
    response: {
      200: json(
        'Limits and what is left in the hour and the day',
        z
          .object({
            organization_id: z.string(),
            service_id: z.string(),
            hourly_limit: limit,
            daily_limit: limit,
            hourly_remaining: left,
            daily_remaining: left,
            reset_hourly_at: isoDateTime,
            reset_daily_at: isoDateTime,
          })
          .meta({ id: 'CloudSignalQuota' }),
      ),
      ...cloudSignalErrors(),
    },
  },
  clients: {
    tags,
    operationId: 'cloudSignalClients',
    summary: 'CloudSignal: list clients',
    security,
    querystring: clientsQuery,
    response: {
      200: json('A page', z.object({ clients: z.array(clientAnswer), total: count, limit: z.number().int().min(1), offset: count })),
      ...cloudSignalErrors(),
    },
  },
  client: {
    tags,
    operationId: 'cloudSignalClient',
    summary: 'CloudSignal: one client',
    security,
    params: registrationIdParams,
    response: { 200: json('The client', clientAnswer), ...cloudSignalErrors(404) },
  },
  deregister: {
    tags,
    operationId: 'cloudSignalDeregister',
    summary: 'CloudSignal: deregister a client',
    description: 'It becomes `unregistered`: never sent to again, listed for 30 days.',
    security,
    params: registrationIdParams,
    querystring: z.object({ reason: z.string().max(200).optional().describe('Logged') }),
    response: {
      200: json('Deregistered', z.object({ success: z.literal(true), registration_id: z.string(), message: z.string() })),
      ...cloudSignalErrors(404),
    },
  },
  service: {
    tags,
    operationId: 'cloudSignalService',
    summary: 'CloudSignal: the project as a PWA service',
    security,
    response: {
      200: json(
        'The service',
        z
          .object({
            service_id: z.string(),
            organization_id: z.string(),
            service_identifier: z.string(),
            service_name: z.string(),
            vapid_public_key: z.string().describe("The sender's public key, base64url (applicationServerKey)"),
            contact_email: z.string().nullable(),
            notifications_enabled: z.boolean(),
            is_active: z.boolean(),
            hourly_notification_limit: limit,
            daily_notification_limit: limit,
            active_registrations: count,
            push_subscribers: count.describe('Browser (Web Push) subscriptions'),
          })
          .meta({ id: 'CloudSignalService' }),
      ),
      ...cloudSignalErrors(),
    },
  },
};
