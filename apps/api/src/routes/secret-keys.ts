import { createSecretKey, deleteSecretKey, idParam, parseInput } from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { findProject, listProjectSecretKeys } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { createdSecretKeyAnswer, secretKeyAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json } from '../openapi/route-schemas.ts';
import { secretKeyJson } from '../serializers.ts';

const projectParams = z.object({ id: idParam });
const itemParams = z.object({ id: idParam, keyId: idParam });

const tags = ['Projects'];
const schemas = {
  create: {
    tags,
    operationId: 'createSecretKey',
    summary: 'Create a project secret key',
    description:
      "The Beams `secretKey` of the project's instance and CloudSignal's `X-Secret-Key`; several may live at once. " +
      'Needs PUSHCAST_SECRET_KEY (409 `secret_key_not_configured` without it).',
    params: projectParams,
    response: { 201: json('The key, shown this once', createdSecretKeyAnswer), ...errors(...AUTHENTICATED, 404, 409, 422) },
  },
  list: {
    tags,
    operationId: 'listSecretKeys',
    summary: "List a project's secret keys",
    params: projectParams,
    response: { 200: json('The keys (never the keys themselves)', z.array(secretKeyAnswer)), ...errors(...AUTHENTICATED, 404, 422) },
  },
  delete: {
    tags,
    operationId: 'deleteSecretKey',
    summary: 'Delete a project secret key',
    params: itemParams,
    response: { 204: empty('Deleted'), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

/**
 * A project's secret keys: the Beams `secretKey` of its instance and CloudSignal's `X-Secret-Key`.
 * The key is in the create answer only; listings show its first characters.
 */
export async function secretKeyRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db } = deps;

  async function requireLiveProject(principal: Principal, projectId: number) {
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
  }

  app.post('/projects/:id/secret_keys', { schema: schemas.create }, async (request, reply) => {
    const { id } = parseInput(schemas.create.params, request.params, 'params');
    await requireLiveProject(request.principal, id);
    const { key, secretKey } = await createSecretKey(deps, id);
    return reply.code(201).send({ ...secretKeyJson(key), secret_key: secretKey });
  });

  app.get('/projects/:id/secret_keys', { schema: schemas.list }, async (request) => {
    const { id } = parseInput(schemas.list.params, request.params, 'params');
    await requireLiveProject(request.principal, id);
    return (await listProjectSecretKeys(db, id)).map(secretKeyJson);
  });

  app.delete('/projects/:id/secret_keys/:keyId', { schema: schemas.delete }, async (request, reply) => {
    const { id, keyId } = parseInput(schemas.delete.params, request.params, 'params');
    await requireLiveProject(request.principal, id);
    await deleteSecretKey(deps, id, keyId);
    return reply.code(204).send();
  });
}
