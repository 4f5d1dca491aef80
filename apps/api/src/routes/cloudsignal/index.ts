import {
  cloudSignalRequest,
  deregisterClient,
  getClient,
  listClients,
  MAX_WAIT_SECONDS,
  parseInput,
  projectOfSecretKey,
  quotaStatus,
  sendCloudSignal,
  serviceInfo,
} from '@pushcast/core';
import { notFound, PushcastError, type Project } from '@pushcast/domain';
import { createRedis } from '@pushcast/redis-state';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { drainRequest } from '../../drain-body.ts';
import { isBodyTooLarge } from '../../http-errors.ts';
import { documentationOnlySchemas } from '../../openapi/route-schemas.ts';
import { registerWindowLimit } from '../../rate-limit.ts';
import { sendCloudSignalError } from './errors.ts';
import { cloudSignalSchemas as schemas } from './schemas.ts';
import { clientJson, quotaJson, sendJson, serviceJson } from './serializers.ts';

export { CLOUDSIGNAL_PREFIX, isCloudSignalPath } from './paths.ts';

export interface CloudSignalRoutesOptions {
  readonly deps: ApiDeps;
  readonly drain: { readonly maxBytes: number; readonly maxMs: number };
}

const projects = new WeakMap<FastifyRequest, Project>();
const projectOf = (request: FastifyRequest): Project => {
  const project = projects.get(request);
  if (!project) throw new PushcastError('unauthorized', 'missing X-Secret-Key header', { rule: 'token_required' });
  return project;
};

const deregisterQuery = schemas.deregister.querystring;
const requestParams = schemas.request.params;

/**
 * CloudSignal's push API at /v2/push, as its users call it with `X-Secret-Key` (a project secret
 * key): its routes, fields and `{detail, code}` errors over the one core. A key reaches its own
 * project only.
 */
export async function cloudSignalRoutes(app: FastifyInstance, { deps, drain }: CloudSignalRoutesOptions): Promise<void> {
  const { config, logger } = deps;
  // Schemas document the routes; the handlers validate through the core (its errors, in this dialect's shape).
  documentationOnlySchemas(app);
  app.setErrorHandler(async (error, request, reply) => {
    if (isBodyTooLarge(error) && (await drainRequest(request.raw, drain.maxBytes, drain.maxMs))) reply.removeHeader('connection');
    return sendCloudSignalError(reply, request, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendCloudSignalError(reply, request, new PushcastError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
  // The key before anything else, the body included: a request without one learns nothing.
  app.addHook('onRequest', async (request) => {
    const header = request.headers['x-secret-key'];
    projects.set(request, await projectOfSecretKey(deps, typeof header === 'string' ? header.trim() : undefined));
  });
  if (config.apiRateLimitPerMinute > 0) {
    const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
    redis.on('error', () => {});
    app.addHook('onClose', async () => redis.disconnect());
    await registerWindowLimit(
      app,
      { perMinute: config.apiRateLimitPerMinute, redis, prefix: config.redisStatePrefix, logger },
      { key: (request) => (projects.has(request) ? `cs:${projects.get(request)!.id}` : null), who: 'this secret key’s project' },
    );
  }

  const send = (broadcast: boolean) => async (request: FastifyRequest) => {
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new PushcastError('bad_request', 'body: must be a JSON object', { field: 'body', rule: 'invalid_type' });
    }
    const raw = broadcast ? { ...body, target_all: true } : body;
    return sendJson(await sendCloudSignal(deps, projectOf(request), raw, { waitMs: MAX_WAIT_SECONDS * 1000 }));
  };
  app.post('/send', { schema: schemas.send }, send(false));
  app.post('/broadcast', { schema: schemas.broadcast }, send(true));

  app.get('/requests/:request_id', { schema: schemas.request }, async (request) => {
    const { request_id } = parseInput(requestParams, request.params, 'params');
    const found = await cloudSignalRequest(deps, projectOf(request), request_id);
    if (!found) throw notFound(`request ${request_id}`);
    return sendJson(found);
  });

  app.get('/quota', { schema: schemas.quota }, async (request) => {
    const project = projectOf(request);
    return quotaJson(project, await quotaStatus(deps, project, Date.now()));
  });

  app.get('/clients', { schema: schemas.clients }, async (request) => {
    const project = projectOf(request);
    const page = await listClients(deps, project, request.query);
    return { clients: page.clients.map((c) => clientJson(project, c)), total: page.total, limit: page.limit, offset: page.offset };
  });
  app.get('/clients/:registration_id', { schema: schemas.client }, async (request) => {
    const project = projectOf(request);
    return clientJson(project, await getClient(deps, project, request.params));
  });
  app.delete('/clients/:registration_id', { schema: schemas.deregister }, async (request) => {
    const { reason } = parseInput(deregisterQuery, request.query, 'query');
    const id = await deregisterClient(deps, projectOf(request), request.params, reason ?? null);
    return { success: true, registration_id: String(id), message: 'Client deregistered successfully' };
  });

  app.get('/service', { schema: schemas.service }, async (request) => serviceJson(await serviceInfo(deps, projectOf(request))));
}
