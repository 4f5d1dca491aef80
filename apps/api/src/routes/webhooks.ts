import {
  createWebhook,
  deleteWebhook,
  getWebhook,
  idParam,
  pageQuery,
  parseInput,
  rotateWebhookSecret,
  testWebhook,
  updateWebhook,
  webhookBodies,
} from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { findProject, listWebhookAttempts, listWebhooks } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { webhookAttemptJson, webhookJson } from '../serializers.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });
const listQuery = z.object(pageQuery);

/** A project's signed webhooks (Standard Webhooks): CRUD, secret rotation, a test event, attempts. */
export async function webhookRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db } = deps;
  const bodies = webhookBodies(deps.config.allowedPushHosts);

  async function projectOf(principal: Principal, rawParams: unknown, schema: typeof projectParams | typeof itemParams = projectParams) {
    const params = parseInput(schema, rawParams, 'params') as { projectId: number; id?: number };
    requireProject(principal, params.projectId);
    if (!(await findProject(db, params.projectId))) throw notFound(`project ${params.projectId}`);
    return params;
  }
  const item = async (principal: Principal, rawParams: unknown) => {
    const p = await projectOf(principal, rawParams, itemParams);
    return { projectId: p.projectId, id: p.id! };
  };

  app.post('/projects/:projectId/webhooks', async (request, reply) => {
    const { projectId } = await projectOf(request.principal, request.params);
    const { webhook, secret } = await createWebhook(deps, projectId, parseInput(bodies.create, request.body, 'body'));
    // The only time the secret is shown (and again only through rotate_secret).
    return reply.code(201).send({ ...webhookJson(webhook), secret });
  });

  app.get('/projects/:projectId/webhooks', async (request) => {
    const { projectId } = await projectOf(request.principal, request.params);
    const q = parseInput(listQuery, request.query, 'query');
    return (await listWebhooks(db, projectId, { page: q.page, perPage: q.per_page })).map(webhookJson);
  });

  app.get('/projects/:projectId/webhooks/:id', async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    return webhookJson(await getWebhook(deps, projectId, id));
  });

  app.patch('/projects/:projectId/webhooks/:id', async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    return webhookJson(await updateWebhook(deps, projectId, id, parseInput(bodies.update, request.body, 'body')));
  });

  app.delete('/projects/:projectId/webhooks/:id', async (request, reply) => {
    const { projectId, id } = await item(request.principal, request.params);
    await deleteWebhook(deps, projectId, id);
    return reply.code(204).send();
  });

  app.post('/projects/:projectId/webhooks/:id/rotate_secret', async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    const { webhook, secret } = await rotateWebhookSecret(deps, projectId, id);
    return { ...webhookJson(webhook), secret };
  });

  app.post('/projects/:projectId/webhooks/:id/test', async (request, reply) => {
    const { projectId, id } = await item(request.principal, request.params);
    return reply.code(202).send({ event_id: await testWebhook(deps, projectId, id) });
  });

  app.get('/projects/:projectId/webhooks/:id/attempts', async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    const q = parseInput(listQuery, request.query, 'query');
    await getWebhook(deps, projectId, id);
    return (await listWebhookAttempts(db, id, { page: q.page, perPage: q.per_page })).map(webhookAttemptJson);
  });
}
