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
import { webhookAnswer, webhookAttemptAnswer, webhookWithSecretAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY } from '../openapi/route-schemas.ts';
import { webhookAttemptJson, webhookJson } from '../serializers.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });
const listQuery = z.object(pageQuery);

const tags = ['Webhooks'];
const itemSchema = { tags, params: itemParams };
const ITEM_ERRORS = [...AUTHENTICATED, 404, 422] as const;

function schemasOf(bodies: ReturnType<typeof webhookBodies>) {
  return {
    create: {
      tags,
      operationId: 'createWebhook',
      summary: 'Add a webhook',
      description:
        'Signed Standard Webhooks requests to `url` for the `events` chosen; with `format: "beams"`, Pusher Beams\' requests ' +
        '(`Webhook-Signature`: hex HMAC-SHA1, Beams\' retries) for its `v1.…` events, with the `secret` given or a new one. ' +
        'The answer holds the signing secret: shown once.',
      params: projectParams,
      body: bodies.create,
      response: { 201: json('The webhook, with its secret', webhookWithSecretAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 404, 409) },
    },
    list: {
      tags,
      operationId: 'listWebhooks',
      summary: "List a project's webhooks",
      params: projectParams,
      querystring: listQuery,
      response: { 200: json('A page of webhooks', z.array(webhookAnswer)), ...errors(...AUTHENTICATED, 404, 422) },
    },
    get: {
      ...itemSchema,
      operationId: 'getWebhook',
      summary: 'Get a webhook',
      response: { 200: json('The webhook', webhookAnswer), ...errors(...ITEM_ERRORS) },
    },
    update: {
      ...itemSchema,
      operationId: 'updateWebhook',
      summary: 'Change a webhook',
      description: 'Fields left out stay as they are; `enabled: true` turns a disabled one back on.',
      body: bodies.update,
      response: { 200: json('The webhook', webhookAnswer), ...errors(...ITEM_ERRORS, ...WITH_BODY) },
    },
    delete: {
      ...itemSchema,
      operationId: 'deleteWebhook',
      summary: 'Delete a webhook',
      response: { 204: empty('Deleted'), ...errors(...ITEM_ERRORS) },
    },
    rotate: {
      ...itemSchema,
      operationId: 'rotateWebhookSecret',
      summary: "Rotate a webhook's secret",
      description: 'The old secret keeps signing beside the new one for 24 hours.',
      response: { 200: json('The webhook, with its new secret', webhookWithSecretAnswer), ...errors(...ITEM_ERRORS, 409) },
    },
    test: {
      ...itemSchema,
      operationId: 'testWebhook',
      summary: 'Send a test event',
      response: {
        202: json('Queued', z.object({ event_id: z.string().describe('The test event, in the attempts') })),
        ...errors(...ITEM_ERRORS),
      },
    },
    attempts: {
      ...itemSchema,
      operationId: 'listWebhookAttempts',
      summary: "A webhook's attempts",
      description: 'Newest first.',
      querystring: listQuery,
      response: { 200: json('A page of attempts', z.array(webhookAttemptAnswer)), ...errors(...ITEM_ERRORS) },
    },
  };
}

/** A project's signed webhooks (Standard Webhooks): CRUD, secret rotation, a test event, attempts. */
export async function webhookRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db } = deps;
  const bodies = webhookBodies(deps.config.allowedPushHosts);
  const schemas = schemasOf(bodies);

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

  app.post('/projects/:projectId/webhooks', { schema: schemas.create }, async (request, reply) => {
    const { projectId } = await projectOf(request.principal, request.params);
    const { webhook, secret } = await createWebhook(deps, projectId, parseInput(bodies.create, request.body, 'body'));
    // The only time the secret is shown (and again only through rotate_secret).
    return reply.code(201).send({ ...webhookJson(webhook), secret });
  });

  app.get('/projects/:projectId/webhooks', { schema: schemas.list }, async (request) => {
    const { projectId } = await projectOf(request.principal, request.params);
    const q = parseInput(listQuery, request.query, 'query');
    return (await listWebhooks(db, projectId, { page: q.page, perPage: q.per_page })).map(webhookJson);
  });

  app.get('/projects/:projectId/webhooks/:id', { schema: schemas.get }, async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    return webhookJson(await getWebhook(deps, projectId, id));
  });

  app.patch('/projects/:projectId/webhooks/:id', { schema: schemas.update }, async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    return webhookJson(await updateWebhook(deps, projectId, id, parseInput(bodies.update, request.body, 'body')));
  });

  app.delete('/projects/:projectId/webhooks/:id', { schema: schemas.delete }, async (request, reply) => {
    const { projectId, id } = await item(request.principal, request.params);
    await deleteWebhook(deps, projectId, id);
    return reply.code(204).send();
  });

  app.post('/projects/:projectId/webhooks/:id/rotate_secret', { schema: schemas.rotate }, async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    const { webhook, secret } = await rotateWebhookSecret(deps, projectId, id);
    return { ...webhookJson(webhook), secret };
  });

  app.post('/projects/:projectId/webhooks/:id/test', { schema: schemas.test }, async (request, reply) => {
    const { projectId, id } = await item(request.principal, request.params);
    return reply.code(202).send({ event_id: await testWebhook(deps, projectId, id) });
  });

  app.get('/projects/:projectId/webhooks/:id/attempts', { schema: schemas.attempts }, async (request) => {
    const { projectId, id } = await item(request.principal, request.params);
    const q = parseInput(listQuery, request.query, 'query');
    await getWebhook(deps, projectId, id);
    return (await listWebhookAttempts(db, id, { page: q.page, perPage: q.per_page })).map(webhookAttemptJson);
  });
}
