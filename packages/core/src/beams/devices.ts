import { randomUUID } from 'node:crypto';
import { PushcastError, verifyBeamsUserToken, type DevicePlatform, type Platform, type Project } from '@pushcast/domain';
import {
  addBeamsDeviceInterest,
  beamsDeviceInterests,
  bindBeamsDeviceUser,
  deleteSubscription,
  deleteUserSubscriptions,
  findBeamsDevice,
  inTransaction,
  openProjectSecretKeys,
  removeBeamsDeviceInterest,
  saveBeamsDevice,
  setBeamsDeviceInterests,
  setBeamsDeviceMetadata,
  setBeamsDeviceToken,
  type BeamsDevice,
  type BindUserOutcome,
} from '@pushcast/store';
import { z } from 'zod';
import type { CoreDeps } from '../deps.ts';
import { apnsToken as apnsTokenField, fcmToken as fcmTokenField } from '../input/fields.ts';
import { parseInput } from '../input/parse.ts';
import { registerSubscription } from '../subscriptions/register-subscription.ts';
import { subscriptionParser } from '../subscriptions/subscription-input.ts';
import { beamsInterest } from './publish-input.ts';

/**
 * Beams' Device API as use cases: a device is a Pushcast subscription (interests = tags, user = uid)
 * with a Beams device id and metadata. Refusals are errors of the core with Beams' own wording in
 * the message, which the dialect passes on as the description.
 */

export const MAX_INTERESTS_PER_DEVICE = 5000;
export const MAX_DEVICES_PER_USER_AND_PLATFORM = 100;
export const MAX_INTERESTS_PAGE = 100;

/** The SDKs' device metadata (`sdkVersion`, `iosVersion`, `androidVersion`, …). */
export const beamsDeviceMetadata = z
  .record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))
  .describe('What the SDK tells of the device: `sdkVersion`, `iosVersion`, `macosVersion`, `androidVersion`');
const metadata = beamsDeviceMetadata;

/** Registration bodies, by platform, as Beams' web, iOS and Android SDKs send them. */
export const beamsRegistrationBodies = {
  web: z.looseObject({
    token: z.string().min(1).describe('base64 of the browser\'s PushSubscription as JSON'),
    metadata: metadata.optional(),
  }),
  apns: z.looseObject({
    token: z.string().min(1).describe('The APNs device token, hex'),
    bundleIdentifier: z.string().min(1),
    metadata: metadata.optional(),
  }),
  fcm: z.looseObject({
    token: z.string().min(1).describe('The FCM registration token'),
    knownPreviousClientIds: z.array(z.string()).optional(),
    metadata: metadata.optional(),
  }),
} as const;
const webRegistration = beamsRegistrationBodies.web;
const apnsRegistration = beamsRegistrationBodies.apns;
const fcmRegistration = beamsRegistrationBodies.fcm;

/** FCM's token refresh (`PUT …/devices/fcm/{id}/token`). */
export const beamsTokenRefreshBody = z.looseObject({ token: z.string().min(1).describe('The new FCM registration token') });

const badRequest = (description: string) => new PushcastError('bad_request', description);
export const deviceNotFound = () => new PushcastError('not_found', 'Could not find the device');

/** What a registration answers: the new device's id, and the interests it starts with (none: Pushcast migrates nothing). */
export interface RegisteredDevice {
  readonly id: string;
  readonly initialInterestSet: readonly string[];
}

/** Beams' web token: base64 of the browser's PushSubscription as JSON. */
function webSubscriptionOf(token: string): { endpoint: unknown; p256dh: unknown; auth: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8'));
  } catch {
    throw badRequest('token: must be base64 of the PushSubscription as JSON');
  }
  const sub = parsed as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } } | null;
  return { endpoint: sub?.endpoint, p256dh: sub?.keys?.p256dh, auth: sub?.keys?.auth };
}

/**
 * Registers a device: the subscription is made (or found by its endpoint or token, then starts
 * afresh: no interests, no user), and gets a new device id.
 */
export async function registerBeamsDevice(
  deps: Pick<CoreDeps, 'db' | 'config'>,
  project: Project,
  platform: Platform,
  raw: unknown,
  /** The registering browser's User-Agent (web devices: CloudSignal's device_info is read from it). */
  userAgent: string | null = null,
): Promise<RegisteredDevice> {
  const parse = subscriptionParser(deps.config.allowedPushHosts);
  let input;
  let meta: Record<string, unknown>;
  if (platform === 'web') {
    const body = parseInput(webRegistration, raw, 'body');
    input = { ...parse({ platform: 'web', ...webSubscriptionOf(body.token) }), userAgent };
    meta = body.metadata ?? {};
  } else if (platform === 'apns') {
    const body = requireFields(raw, { token: 'Missing APNs token', bundleIdentifier: 'Missing App Bundle Identifier' }, apnsRegistration);
    if (!apnsTokenField.safeParse(body.token).success) throw new PushcastError('unauthorized', 'Incorrect APNs token supplied');
    input = parse({ platform: 'apns', token: body.token });
    meta = { ...body.metadata, bundleIdentifier: body.bundleIdentifier };
  } else {
    const body = requireFields(raw, { token: 'Missing FCM token' }, fcmRegistration);
    if (!fcmTokenField.safeParse(body.token).success) throw new PushcastError('unauthorized', 'Incorrect FCM token supplied');
    input = parse({ platform: 'fcm', token: body.token });
    meta = body.metadata ?? {};
  }
  const id = randomUUID();
  await inTransaction(deps.db, async (tx) => {
    const subscription = await registerSubscription({ db: tx }, project.id, { ...input, uid: null, tags: [] });
    await saveBeamsDevice(tx, { projectId: project.id, id, subscriptionId: subscription.id, metadata: meta });
  });
  return { id, initialInterestSet: [] };
}

function requireFields<S extends z.ZodType>(raw: unknown, missing: Record<string, string>, schema: S): z.infer<S> {
  const body = (raw ?? {}) as Record<string, unknown>;
  for (const [field, description] of Object.entries(missing)) {
    if (typeof body[field] !== 'string' || body[field] === '') throw badRequest(description);
  }
  return parseInput(schema, raw, 'body');
}

export async function getBeamsDevice(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string): Promise<BeamsDevice> {
  const device = await findBeamsDevice(deps.db, project.id, platform, id);
  if (!device) throw deviceNotFound();
  return device;
}

/** Deletes the device and its subscription; a device that is not there is deleted already. */
export async function deleteBeamsDevice(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string): Promise<void> {
  const device = await findBeamsDevice(deps.db, project.id, platform, id);
  if (device) await deleteSubscription(deps.db, project.id, device.subscriptionId);
}

export async function setBeamsMetadata(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string, raw: unknown): Promise<void> {
  const device = await getBeamsDevice(deps, project, platform, id);
  const meta = parseInput(metadata, raw, 'body');
  const kept = typeof device.metadata.bundleIdentifier === 'string' ? { bundleIdentifier: device.metadata.bundleIdentifier } : {};
  await setBeamsDeviceMetadata(deps.db, project.id, device.id, { ...meta, ...kept });
}

/** FCM's token refresh: the device keeps its id, interests and user. */
export async function refreshBeamsToken(deps: Pick<CoreDeps, 'db'>, project: Project, id: string, raw: unknown): Promise<void> {
  const device = await getBeamsDevice(deps, project, 'fcm', id);
  const { token } = requireFields(raw, { token: 'Missing token field with the FCM Registration Id' }, beamsTokenRefreshBody);
  if (!fcmTokenField.safeParse(token).success) throw new PushcastError('unauthorized', 'Incorrect FCM token supplied');
  if ((await setBeamsDeviceToken(deps.db, device.subscriptionId, token)) === 'taken') {
    throw new PushcastError('conflict', 'Another device of this instance has this token');
  }
}

/** `PUT …/interests`: the device's whole set (at most 5,000). */
export const beamsInterestSetBody = z.object({ interests: z.array(beamsInterest).max(MAX_INTERESTS_PER_DEVICE) });
const interestList = beamsInterestSetBody;
const invalidInterest = () => new PushcastError('validation', '`interest-name` given is not valid', { rule: 'tag_characters' });
const tooManyInterests = () =>
  new PushcastError('bad_request', `Too many interests are being set for this device. Only ${MAX_INTERESTS_PER_DEVICE} interests per device are allowed`, {
    rule: 'max_items',
  });

export interface InterestsPage {
  readonly interests: readonly string[];
  readonly nextCursor: string | null;
}

/** Interests in code point order, `limit` at a time (1-100); the cursor is the last one given, opaque to the SDKs. */
export async function listBeamsInterests(
  deps: Pick<CoreDeps, 'db'>,
  project: Project,
  platform: Platform,
  id: string,
  query: { limit?: unknown; cursor?: unknown },
): Promise<InterestsPage> {
  const limit = query.limit === undefined || query.limit === '' ? MAX_INTERESTS_PAGE : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_INTERESTS_PAGE) throw badRequest('`limit` given is not valid');
  let after: string | null = null;
  if (typeof query.cursor === 'string' && query.cursor !== '') {
    after = Buffer.from(query.cursor, 'base64url').toString('utf8');
    if (!beamsInterest.safeParse(after).success) throw badRequest('`cursor` given is not valid');
  }
  const device = await getBeamsDevice(deps, project, platform, id);
  const page = await beamsDeviceInterests(deps.db, device.subscriptionId, after, limit + 1);
  const interests = page.slice(0, limit);
  return { interests, nextCursor: page.length > limit ? Buffer.from(interests[interests.length - 1]!).toString('base64url') : null };
}

export async function setBeamsInterests(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string, raw: unknown): Promise<void> {
  const body = raw as { interests?: unknown } | null;
  if (Array.isArray(body?.interests) && body.interests.length > MAX_INTERESTS_PER_DEVICE) throw tooManyInterests();
  let interests: string[];
  try {
    interests = [...new Set(parseInput(interestList, raw, 'body').interests)];
  } catch (error) {
    if (error instanceof PushcastError && error.details.field?.startsWith('interests.')) throw invalidInterest();
    throw error;
  }
  const device = await getBeamsDevice(deps, project, platform, id);
  await setBeamsDeviceInterests(deps.db, device.subscriptionId, interests);
}

export async function addBeamsInterest(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string, interest: string): Promise<void> {
  if (!beamsInterest.safeParse(interest).success) throw invalidInterest();
  const device = await getBeamsDevice(deps, project, platform, id);
  if (!(await addBeamsDeviceInterest(deps.db, device.subscriptionId, interest, MAX_INTERESTS_PER_DEVICE))) throw tooManyInterests();
}

export async function removeBeamsInterest(deps: Pick<CoreDeps, 'db'>, project: Project, platform: Platform, id: string, interest: string): Promise<void> {
  if (!beamsInterest.safeParse(interest).success) throw invalidInterest();
  const device = await getBeamsDevice(deps, project, platform, id);
  await removeBeamsDeviceInterest(deps.db, device.subscriptionId, interest);
}

/** Beams' answers to a user token it refuses, by why. */
const TOKEN_REFUSALS = {
  malformed: ['unauthorized', '`Authorization` header token is malformed'],
  bad_signature: ['unauthorized', 'Invalid JWT signature'],
  expired: ['unauthorized', 'JWT has expired'],
  missing_exp: ['bad_request', 'Missing expiration (exp) field in JWT'],
  missing_sub: ['bad_request', 'Missing subject (sub) field in JWT'],
  bad_sub: ['bad_request', 'JWT subject (sub) must be between 1-164 characters long'],
  missing_iss: ['bad_request', 'Missing issuer (iss) field in JWT'],
  wrong_issuer: ['forbidden', 'Invalid JWT issuer'],
} as const;

/**
 * `PUT …/devices/{platform}/{id}/user` with a Beams user token: verified with the instance's
 * secret keys (HS256), then the device's subscription gets the token's user as its uid.
 */
export async function bindBeamsUser(deps: Pick<CoreDeps, 'db' | 'config'>, project: Project, platform: DevicePlatform | 'web', id: string, token: string): Promise<void> {
  const keys = await openProjectSecretKeys(deps.db, deps.config.secretKeys, project.id);
  if (!keys.ok) throw new PushcastError('internal', `the instance's secret keys cannot be opened: ${keys.error}`);
  const verified = verifyBeamsUserToken(token, keys.value, project.beamsInstanceId, Math.floor(Date.now() / 1000));
  if (!verified.ok) {
    const [kind, description] = TOKEN_REFUSALS[verified.error];
    throw new PushcastError(kind, description);
  }
  const device = await getBeamsDevice(deps, project, platform, id);
  const outcome: BindUserOutcome = await inTransaction(deps.db, (tx) =>
    bindBeamsDeviceUser(tx, project.id, device.subscriptionId, verified.value.userId, MAX_DEVICES_PER_USER_AND_PLATFORM),
  );
  if (outcome === 'other_user') throw new PushcastError('bad_request', 'A User Id is already associated with this device');
  if (outcome === 'too_many_devices') {
    throw new PushcastError('validation', `User already has reached the maximum of ${MAX_DEVICES_PER_USER_AND_PLATFORM} devices`);
  }
}

/** Beams' deleteUser: the user's subscriptions on every platform go (their devices with them). */
export async function deleteBeamsUser(deps: Pick<CoreDeps, 'db'>, project: Project, userId: string): Promise<number> {
  return deleteUserSubscriptions(deps.db, project.id, userId);
}
