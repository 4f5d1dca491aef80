import {
  deleteSubscription,
  idParam,
  parseInput,
  registerSubscription,
  subscriptionParser,
  subscriptionUpdate,
  updateSubscription,
} from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { countSubscriptions, findProject, findSubscription, listSubscriptions } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import { audienceFromQuery } from './audience-query.ts';
import type { ApiDeps } from '../deps.ts';
import { subscriptionJson } from '../serializers.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });

export async function subscriptionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, config } = deps;
  const parseSubscription = subscriptionParser(config.allowedPushHosts);

  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(projectParams, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  app.post('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const subscription = await registerSubscription(deps, projectId, parseSubscription(request.body));
    return reply.code(201).send(subscriptionJson(subscription));
  });

  // Declared before GET so that HEAD only counts instead of also loading a page.
  app.head('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter } = audienceFromQuery(projectId, request.query);
    return reply.header('x-total-count', String(await countSubscriptions(db, filter))).send();
  });

  app.get('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter, page } = audienceFromQuery(projectId, request.query);
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
