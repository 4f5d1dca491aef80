import {
  beamsDeviceMetadata,
  beamsInterestSetBody,
  beamsRegistrationBodies,
  beamsReportBody,
  beamsTokenRefreshBody,
  publishToInterestsBody,
  publishToUsersBody,
} from '@pushcast/core';
import { z } from 'zod';
import { empty, json, PUBLIC } from '../../openapi/route-schemas.ts';

/**
 * The Beams routes' schemas, declared once each: the OpenAPI document (tag "Beams") is generated
 * from them, and the handlers read their input with the same schemas (bodies through the core's
 * parseInput, which owns them; paths through `paramsOf`). Refusals are Beams' `{error, description}`.
 */

export const tags = ['Beams'];

/** Beams' error body: a title and a description, nothing else (its Node SDK fails to read any other). */
export const beamsErrorAnswer = z
  .object({
    error: z.string().describe("Beams' title, e.g. `Unprocessable Entity`, `Instance not found`"),
    description: z.string().describe('What went wrong, for people'),
  })
  .meta({ id: 'BeamsError', description: "Pusher Beams' error body, with Beams' status codes and titles" });

const BEAMS_ERRORS = {
  400: 'Bad request, Incomplete Request (no `Authorization`), Invalid content type, or a body over the limit (`Request body size is too large (max 10KiB)`)',
  401: 'Unauthorized: an incorrect secret key or user token',
  403: 'Forbidden: a user token of another instance',
  404: 'Instance not found, Device not found, or a path Beams does not serve',
  409: 'Another device of this instance has this token',
  422: 'Unprocessable Entity: the description names the field',
  429: 'Rate Limited: over 100 requests a second for the instance (`Retry-After`)',
} as const;

type BeamsStatus = keyof typeof BEAMS_ERRORS;

const beamsError = (description: string) => ({ description, content: { 'application/json': { schema: beamsErrorAnswer } } });

/** A route's refusals in Beams' shape: 400 and 404 always (a bad path, an unknown instance), the statuses named, and `default` (500, 503). */
export function beamsErrors(...statuses: BeamsStatus[]) {
  const all = [...new Set<BeamsStatus>([400, 404, ...statuses])].sort();
  return {
    ...Object.fromEntries(all.map((s) => [s, beamsError(BEAMS_ERRORS[s])])),
    default: beamsError('Something went wrong (500), or Service unavailable (503, `Retry-After`) while PostgreSQL or Redis is away'),
  };
}

/** Beams' instance ids are UUIDs (the project's `beams_instance_id`). */
const instanceId = z.string().describe("The instance: the project's `beams_instance_id`");
export const instanceParams = z.object({ instanceId });
export const platform = z.enum(['web', 'apns', 'fcm']);
export const deviceParams = z.object({ instanceId, platform, deviceId: z.string().describe('The Beams device id') });
export const fcmDeviceParams = z.object({ instanceId, deviceId: z.string() });
// Interest names and user ids are up to 164 characters, longer than the router takes in a `:param`:
// those routes end in a wildcard, which the document names (openapi/document.ts, openApiPath).
// The names themselves are checked by the core and the handler, in Beams' words (400 `Invalid interest name`).
export const interestParams = deviceParams.extend({
  '*': z.string().min(1).describe('The interest name: 1-164 of `a-z A-Z 0-9 _ - = @ , . ;`, URL-encoded'),
});
export const userParams = z.object({ instanceId, '*': z.string().describe('The user id (1-164 characters), URL-encoded') });
/** A preflight's path: anything under the API. */
export const preflightParams = z.object({ '*': z.string().describe('Any path under the API') });

export const interestsQuery = z.object({
  limit: z.string().optional().describe('1-100, 100 when left out'),
  cursor: z.string().optional().describe("The last page's `responseMetadata.nextCursor`"),
});

const secretKey = [{ beamsSecretKey: [] }];
const userToken = [{ beamsUserToken: [] }];
const ok = empty('Done (200, no body)');

const publishAnswer = z.object({ publishId: z.string().describe('`pubid-` and a UUID; the Pushcast notification has it as its `external_id`') }).meta({ id: 'BeamsPublish' });

export const publishSchemas = {
  interests: {
    tags,
    operationId: 'beamsPublishToInterests',
    summary: 'Beams: publish to interests',
    description:
      'Beams\' Publish API. A device with any of the 1-100 interests gets it once; each of `apns`, `fcm`, `web` goes to its platform as given, ' +
      'a platform without one is skipped. Bodies up to 10 KiB. Becomes a Pushcast notification.',
    security: secretKey,
    params: instanceParams,
    body: publishToInterestsBody,
    response: { 200: json('Accepted', publishAnswer), ...beamsErrors(401, 422, 429) },
  },
  users: {
    tags,
    operationId: 'beamsPublishToUsers',
    summary: 'Beams: publish to users',
    description: "Beams' Publish API: every device of the 1-1,000 users (uids). Bodies up to 200 KiB.",
    security: secretKey,
    params: instanceParams,
    body: publishToUsersBody,
    response: { 200: json('Accepted', publishAnswer), ...beamsErrors(401, 422, 429) },
  },
};

/** deleteUser, under /customer_api (Beams' docs) and /user_api (its Node and Swift SDKs). */
export const deleteUserSchema = (api: 'customer_api' | 'user_api') => ({
  tags,
  operationId: api === 'customer_api' ? 'beamsDeleteUser' : 'beamsDeleteUserUserApi',
  summary: `Beams: delete a user (/${api})`,
  description: 'Every subscription with this uid goes, on every platform.',
  security: secretKey,
  params: userParams,
  response: { 200: ok, ...beamsErrors(401, 429) },
});

const registered = z
  .object({ id: z.string().describe('The Beams device id'), initialInterestSet: z.array(z.string()).describe('Always empty: nothing is migrated') })
  .meta({ id: 'BeamsDeviceRegistered' });

const device = { tags, security: PUBLIC };

const registerSchema = (p: 'web' | 'apns' | 'fcm') => ({
  ...device,
  operationId: `beamsRegister_${p}`,
  summary: `Beams: register a${p === 'web' ? ' web' : `n ${p.toUpperCase()}`} device`,
  description: 'A new device id for the subscription (found by its endpoint or token, or made), with no interests and no user.',
  params: instanceParams,
  body: beamsRegistrationBodies[p],
  response: { 200: json('Registered', registered), ...beamsErrors(401, 422) },
});

export const deviceSchemas = {
  vapidKey: {
    ...device,
    operationId: 'beamsWebVapidPublicKey',
    summary: 'Beams: the web VAPID public key',
    params: instanceParams,
    response: { 200: json("The project's sender's key, base64url", z.object({ vapidPublicKey: z.string() })), ...beamsErrors() },
  },
  register: {
    web: registerSchema('web'),
    apns: registerSchema('apns'),
    fcm: registerSchema('fcm'),
  },
  refreshToken: {
    ...device,
    operationId: 'beamsRefreshFcmToken',
    summary: 'Beams: refresh an FCM device token',
    params: fcmDeviceParams,
    body: beamsTokenRefreshBody,
    response: { 200: ok, ...beamsErrors(401, 409, 422) },
  },
  get: {
    ...device,
    operationId: 'beamsGetDevice',
    summary: 'Beams: a device',
    params: deviceParams,
    response: {
      200: json('The device', z.object({ id: z.string(), userId: z.string().nullable(), metadata: z.record(z.string(), z.unknown()) })),
      ...beamsErrors(),
    },
  },
  delete: { ...device, operationId: 'beamsDeleteDevice', summary: 'Beams: delete a device (and its subscription)', params: deviceParams, response: { 200: ok, ...beamsErrors() } },
  metadata: {
    ...device,
    operationId: 'beamsSetDeviceMetadata',
    summary: "Beams: set a device's metadata",
    params: deviceParams,
    body: beamsDeviceMetadata,
    response: { 200: ok, ...beamsErrors(422) },
  },
  listInterests: {
    ...device,
    operationId: 'beamsListDeviceInterests',
    summary: "Beams: a device's interests, a page at a time",
    params: deviceParams,
    querystring: interestsQuery,
    response: {
      200: json(
        'A page in code point order',
        z.object({ interests: z.array(z.string()), responseMetadata: z.object({ nextCursor: z.string().optional().describe('Absent on the last page') }) }),
      ),
      ...beamsErrors(),
    },
  },
  setInterests: {
    ...device,
    operationId: 'beamsSetDeviceInterests',
    summary: "Beams: replace a device's interests (at most 5,000)",
    params: deviceParams,
    body: beamsInterestSetBody,
    response: { 200: ok, ...beamsErrors(422) },
  },
  addInterest: { ...device, operationId: 'beamsAddDeviceInterest', summary: 'Beams: add an interest to a device', params: interestParams, response: { 200: ok, ...beamsErrors() } },
  removeInterest: {
    ...device,
    operationId: 'beamsRemoveDeviceInterest',
    summary: 'Beams: remove an interest from a device',
    params: interestParams,
    response: { 200: ok, ...beamsErrors() },
  },
  bindUser: {
    tags,
    security: userToken,
    operationId: 'beamsSetDeviceUser',
    summary: "Beams: set a device's user",
    description: 'With a Beams user token (HS256 by a secret key of the instance). 422 when the user has 100 devices of the platform already.',
    params: deviceParams,
    response: { 200: ok, ...beamsErrors(401, 403, 422) },
  },
};

export const reportSchema = {
  tags,
  security: PUBLIC,
  operationId: 'beamsReportEvent',
  summary: 'Beams: report a delivery or an open',
  description: 'An `open` counts on the notification as a click (once per device); a `delivery` is acknowledged.',
  params: instanceParams,
  body: beamsReportBody,
  response: { 200: ok, ...beamsErrors() },
};

/** The CORS preflight of the Device or Reporting API (any origin). */
export const preflightSchema = (api: 'device_api' | 'reporting_api') => ({
  tags,
  security: PUBLIC,
  operationId: `beamsPreflight_${api}`,
  summary: `Beams: CORS preflight (/${api})`,
  params: preflightParams,
  response: { 204: empty('Any origin may call it'), ...beamsErrors() },
});
