import {
  deleteSubscription,
  idParam,
  pageQuery,
  parseInput,
  registerSubscription,
  subscriptionParser,
  subscriptionUpdate,
  updateSubscription,
} from '@pushcast/core';
import { notFound, parseTagFilter, tagFilterError, type Principal } from '@pushcast/domain';
import { countSubscriptions, findProject, findSubscription, listSubscriptions, type AudienceFilter } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { subscriptionJson } from '../serializers.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });

const MAX_FILTER_ENTRIES = 1000;
const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().max(4096)).max(MAX_FILTER_ENTRIES));

// Filters arrive as `uids[]=a&uids[]=b` from the official clients; a bare `uids=a` or `tags=<expr>`
// (the Ruby client) means the same.
const platform = z.enum(['web', 'apns', 'fcm']);

const listQuery = z.object({
  ...pageQuery,
  platform: platform.optional(),
  'uids[]': stringList.optional(),
  uids: stringList.optional(),
  'tags[]': stringList.optional(),
  tags: stringList.optional(),
});

export async function subscriptionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, config } = deps;
  const parseSubscription = subscriptionParser(config.allowedPushHosts);

  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(projectParams, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  function audience(projectId: number, rawQuery: unknown) {
    const q = parseInput(listQuery, rawQuery, 'query');
    const uids = q['uids[]'] ?? q.uids;
    const tagEntries = q['tags[]'] ?? q.tags;
    let tags = null;
    if (tagEntries !== undefined) {
      const parsed = parseTagFilter(tagEntries);
      if (!parsed.ok) throw tagFilterError(parsed.error, 'tags');
      tags = parsed.value;
    }
    const filter: AudienceFilter = { projectId, uids, tags, platform: q.platform };
    return { filter, page: { page: q.page, perPage: q.per_page } };
  }

  app.post('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const subscription = await registerSubscription(deps, projectId, parseSubscription(request.body));
    return reply.code(201).send(subscriptionJson(subscription));
  });

  // Declared before GET so that HEAD only counts instead of also loading a page.
  app.head('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter } = audience(projectId, request.query);
    return reply.header('x-total-count', String(await countSubscriptions(db, filter))).send();
  });

  app.get('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter, page } = audience(projectId, request.query);
    const [items, total] = await Promise.all([listSubscriptions(db, filter, page), countSubscriptions(db, filter)]);
    return reply.header('x-total-count', String(total)).send(items.map(subscriptionJson));
  });

  app.get('/projects/:projectId/subscriptions/:id', async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const subscription = await findSubscription(db, projectId, id);
    if (!subscription) throw notFound(`subscription ${id}`);
    return subscriptionJson(subscription);
  });

  app.patch('/projects/:projectId/subscriptions/:id', async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const change = parseInput(subscriptionUpdate, request.body, 'body');
    return subscriptionJson(await updateSubscription(deps, projectId, id, change));
  });

  app.delete('/projects/:projectId/subscriptions/:id', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    await deleteSubscription(deps, projectId, id);
    return reply.code(204).send();
  });
}
