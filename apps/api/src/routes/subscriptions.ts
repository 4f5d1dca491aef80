import {
  deleteSubscription,
  idParam,
  parseInput,
  registerSubscription,
  subscriptionBodies,
  subscriptionParser,
  subscriptionUpdate,
  updateSubscription,
} from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { countSubscriptions, findProject, findSubscription, listSubscriptions } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import { audienceFromQuery, listQuery } from './audience-query.ts';
import type { ApiDeps } from '../deps.ts';
import { subscriptionAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY, withHeaders } from '../openapi/route-schemas.ts';
import { subscriptionJson } from '../serializers.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });

const totalCount = { 'X-Total-Count': { type: 'integer', description: 'How many subscriptions match the filters (on every page)' } };

const tags = ['Subscriptions'];
const itemSchema = { tags, params: itemParams };
const schemas = {
  list: {
    tags,
    operationId: 'listSubscriptions',
    summary: "List a project's subscriptions",
    description:
      'Ordered by id. `uids[]` and `tags[]` (tag expressions) entries are OR-ed; both given must both match; a bare `uids`/`tags` works too.',
    params: projectParams,
    querystring: listQuery,
    response: {
      200: withHeaders('A page of subscriptions', z.array(subscriptionAnswer), totalCount),
      ...errors(...AUTHENTICATED, 404, 422),
    },
  },
  count: {
    tags,
    operationId: 'countSubscriptions',
    summary: 'Count subscriptions',
    description: 'The count alone, in `X-Total-Count`, with the filters of the list.',
    params: projectParams,
    querystring: listQuery,
    response: { 200: withHeaders('Counted', z.undefined(), totalCount), ...errors(...AUTHENTICATED, 404, 422) },
  },
  get: {
    ...itemSchema,
    operationId: 'getSubscription',
    summary: 'Get a subscription',
    response: { 200: json('The subscription', subscriptionAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  update: {
    ...itemSchema,
    operationId: 'updateSubscription',
    summary: "Set a subscription's uid and tags",
    description: 'Each is left alone when absent.',
    body: subscriptionUpdate,
    response: { 200: json('The subscription', subscriptionAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 404) },
  },
  delete: {
    ...itemSchema,
    operationId: 'deleteSubscription',
    summary: 'Delete a subscription',
    response: { 204: empty('Deleted'), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

export async function subscriptionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, config } = deps;
  const parseSubscription = subscriptionParser(config.allowedPushHosts);
  const bodies = subscriptionBodies(config.allowedPushHosts);
  const create = {
    tags,
    operationId: 'createSubscription',
    summary: 'Register a subscription',
    description:
      'A browser (`endpoint`, `p256dh`, `auth`; `platform` absent or `web`) or a device (`platform` `apns` or `fcm` with its `token`). ' +
      'The same endpoint, or the same platform and token, again updates it.',
    params: projectParams,
    body: z.union([bodies.web, bodies.apns, bodies.fcm]),
    response: { 201: json('The subscription', subscriptionAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 404) },
  };

  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(projectParams, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  app.post('/projects/:projectId/subscriptions', { schema: create }, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const subscription = await registerSubscription(deps, projectId, parseSubscription(request.body));
    return reply.code(201).send(subscriptionJson(subscription));
  });

  // Declared before GET so that HEAD only counts instead of also loading a page.
  // In the document too (@fastify/swagger leaves HEAD routes out unless told).
  const countOptions = { schema: schemas.count, config: { swagger: { exposeHeadRoute: true } } };
  app.head('/projects/:projectId/subscriptions', countOptions, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter } = audienceFromQuery(projectId, request.query);
    return reply.header('x-total-count', String(await countSubscriptions(db, filter))).send();
  });

  app.get('/projects/:projectId/subscriptions', { schema: schemas.list }, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter, page } = audienceFromQuery(projectId, request.query);
    const [items, total] = await Promise.all([listSubscriptions(db, filter, page), countSubscriptions(db, filter)]);
    return reply.header('x-total-count', String(total)).send(items.map(subscriptionJson));
  });

  app.get('/projects/:projectId/subscriptions/:id', { schema: schemas.get }, async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const subscription = await findSubscription(db, projectId, id);
    if (!subscription) throw notFound(`subscription ${id}`);
    return subscriptionJson(subscription);
  });

  app.patch('/projects/:projectId/subscriptions/:id', { schema: schemas.update }, async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const change = parseInput(schemas.update.body, request.body, 'body');
    return subscriptionJson(await updateSubscription(deps, projectId, id, change));
  });

  app.delete('/projects/:projectId/subscriptions/:id', { schema: schemas.delete }, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    await deleteSubscription(deps, projectId, id);
    return reply.code(204).send();
  });
}
