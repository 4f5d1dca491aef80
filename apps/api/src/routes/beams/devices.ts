import {
  addBeamsInterest,
  bindBeamsUser,
  deleteBeamsDevice,
  getBeamsDevice,
  listBeamsInterests,
  refreshBeamsToken,
  registerBeamsDevice,
  removeBeamsInterest,
  setBeamsInterests,
  setBeamsMetadata,
  userAgentOf,
} from '@pushcast/core';
import { PushcastError, vapidApplicationServerKey, type Platform } from '@pushcast/domain';
import { findSender } from '@pushcast/store';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { openToEveryOrigin } from './cors.ts';
import { BeamsError, notJsonObject } from './errors.ts';
import { instanceOf } from './instance.ts';
import { deviceParams, deviceSchemas as schemas, fcmDeviceParams, instanceParams, interestParams, interestsQuery } from './schemas.ts';


/** Path parameters, or Beams' 404 for a path it does not serve (e.g. a platform other than web, apns, fcm). */
function paramsOf<S extends z.ZodType>(schema: S, raw: unknown): z.infer<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new BeamsError(404, 'Not Found', 'no such route');
  return parsed.data;
}

/** The query of an interests page; a repeated key is not a valid limit or cursor (the core says so in Beams' words). */
function queryOf(raw: unknown): z.infer<typeof interestsQuery> {
  const parsed = interestsQuery.safeParse(raw ?? {});
  if (parsed.success) return parsed.data;
  const query = raw as Record<string, unknown>;
  throw new BeamsError(400, 'Bad Request', `\`${typeof query.limit === 'string' ? 'cursor' : 'limit'}\` given is not valid`);
}

const deviceNotFound = () => new BeamsError(404, 'Device not found', 'Could not find the device');

/** The core's refusals with the titles Beams' Device API gives them. */
function asDeviceError(error: unknown): unknown {
  if (!(error instanceof PushcastError)) return error;
  if (error.kind === 'not_found') return deviceNotFound();
  if (error.details.rule === 'tag_characters') return new BeamsError(400, 'Invalid interest name', error.message);
  if (error.details.rule === 'max_items') return new BeamsError(400, 'Interest set too large', error.message);
  return error;
}

async function device<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw asDeviceError(error);
  }
}

function requireObject(body: unknown): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw notJsonObject();
}

const ok = (reply: FastifyReply) => reply.code(200).send();

/** Beams' Device API answers an instance id that is not a UUID with a 400 of its own. */
const instance = (deps: ApiDeps, instanceId: string) =>
  instanceOf(deps, instanceId, () => new BeamsError(400, 'Bad Request', '`instance-id` given is not valid'));

/**
 * Body limits. Beams documents none for its Device API; the SDKs' bodies are a token, a few
 * metadata strings or an interest set, so Pushcast takes 10 KiB, and for a set of interests what
 * 5,000 names of 164 characters need (≈ 820 KiB), refused in Beams' wording when larger.
 */
export const DEVICE_BODY_LIMIT = 10 * 1024;
export const INTEREST_SET_BODY_LIMIT = 1024 * 1024;
const small = { bodyLimit: DEVICE_BODY_LIMIT };

/**
 * Beams' Device API (`/device_api/v1/instances/{i}/…`), called by Beams' web, Android and iOS SDKs
 * without a secret: the VAPID key, device registration, token refresh, metadata, interests, user
 * binding with a Beams user token. Open to every origin, as Beams' is.
 */
export async function beamsDeviceRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  openToEveryOrigin(app, 'device_api');

  app.get('/v1/instances/:instanceId/web-vapid-public-key', { schema: schemas.vapidKey }, async (request) => {
    const project = await instance(deps, paramsOf(instanceParams, request.params).instanceId);
    const sender = await findSender(deps.db, project.senderId);
    if (!sender) throw new PushcastError('internal', `the sender of project ${project.id} is missing`);
    return { vapidPublicKey: vapidApplicationServerKey(sender.vapidPublicKey) };
  });

  for (const p of ['web', 'apns', 'fcm'] as const satisfies readonly Platform[]) {
    app.post(`/v1/instances/:instanceId/devices/${p}`, { ...small, schema: schemas.register[p] }, async (request) => {
      const project = await instance(deps, paramsOf(instanceParams, request.params).instanceId);
      requireObject(request.body);
      return registerBeamsDevice(deps, project, p, request.body, p === 'web' ? userAgentOf(request.headers['user-agent']) : null);
    });
  }

  app.put('/v1/instances/:instanceId/devices/fcm/:deviceId/token', { ...small, schema: schemas.refreshToken }, async (request, reply) => {
    const { instanceId, deviceId } = paramsOf(fcmDeviceParams, request.params);
    const project = await instance(deps, instanceId);
    requireObject(request.body);
    await device(() => refreshBeamsToken(deps, project, deviceId, request.body));
    return ok(reply);
  });

  app.get('/v1/instances/:instanceId/devices/:platform/:deviceId', { schema: schemas.get }, async (request) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    const d = await device(() => getBeamsDevice(deps, project, p, deviceId));
    return { id: d.id, userId: d.userId, metadata: d.metadata };
  });

  app.delete('/v1/instances/:instanceId/devices/:platform/:deviceId', { schema: schemas.delete }, async (request, reply) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    await deleteBeamsDevice(deps, project, p, deviceId);
    return ok(reply);
  });

  app.put('/v1/instances/:instanceId/devices/:platform/:deviceId/metadata', { ...small, schema: schemas.metadata }, async (request, reply) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    requireObject(request.body);
    await device(() => setBeamsMetadata(deps, project, p, deviceId, request.body));
    return ok(reply);
  });

  app.get('/v1/instances/:instanceId/devices/:platform/:deviceId/interests', { schema: schemas.listInterests }, async (request) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    const page = await device(() => listBeamsInterests(deps, project, p, deviceId, queryOf(request.query)));
    return { interests: page.interests, responseMetadata: page.nextCursor === null ? {} : { nextCursor: page.nextCursor } };
  });

  app.put('/v1/instances/:instanceId/devices/:platform/:deviceId/interests', { bodyLimit: INTEREST_SET_BODY_LIMIT, schema: schemas.setInterests }, async (request, reply) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    requireObject(request.body);
    await device(() => setBeamsInterests(deps, project, p, deviceId, request.body));
    return ok(reply);
  });

  app.post('/v1/instances/:instanceId/devices/:platform/:deviceId/interests/*', { schema: schemas.addInterest }, async (request, reply) => {
    const { instanceId, platform: p, deviceId, '*': interest } = paramsOf(interestParams, request.params);
    const project = await instance(deps, instanceId);
    await device(() => addBeamsInterest(deps, project, p, deviceId, interest));
    return ok(reply);
  });

  app.delete('/v1/instances/:instanceId/devices/:platform/:deviceId/interests/*', { schema: schemas.removeInterest }, async (request, reply) => {
    const { instanceId, platform: p, deviceId, '*': interest } = paramsOf(interestParams, request.params);
    const project = await instance(deps, instanceId);
    await device(() => removeBeamsInterest(deps, project, p, deviceId, interest));
    return ok(reply);
  });

  app.put('/v1/instances/:instanceId/devices/:platform/:deviceId/user', { schema: schemas.bindUser }, async (request, reply) => {
    const { instanceId, platform: p, deviceId } = paramsOf(deviceParams, request.params);
    const project = await instance(deps, instanceId);
    const header = request.headers.authorization;
    if (!header) throw new BeamsError(401, 'Unauthorized', '`Authorization` header token is missing');
    const bearer = header.match(/^Bearer\s+(\S+)\s*$/i);
    if (!bearer) throw new BeamsError(401, 'Unauthorized', '`Authorization` header token is malformed');
    await device(() => bindBeamsUser(deps, project, p, deviceId, bearer[1]!));
    return ok(reply);
  });
}
