import { createSecretKey, deleteSecretKey, idParam, parseInput } from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { findProject, listProjectSecretKeys } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { secretKeyJson } from '../serializers.ts';

const projectParams = z.object({ id: idParam });
const itemParams = z.object({ id: idParam, keyId: idParam });

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

  app.post('/projects/:id/secret_keys', async (request, reply) => {
    const { id } = parseInput(projectParams, request.params, 'params');
    await requireLiveProject(request.principal, id);
    const { key, secretKey } = await createSecretKey(deps, id);
    return reply.code(201).send({ ...secretKeyJson(key), secret_key: secretKey });
  });

  app.get('/projects/:id/secret_keys', async (request) => {
    const { id } = parseInput(projectParams, request.params, 'params');
    await requireLiveProject(request.principal, id);
    return (await listProjectSecretKeys(db, id)).map(secretKeyJson);
  });

  app.delete('/projects/:id/secret_keys/:keyId', async (request, reply) => {
    const { id, keyId } = parseInput(itemParams, request.params, 'params');
    await requireLiveProject(request.principal, id);
    await deleteSecretKey(deps, id, keyId);
    return reply.code(204).send();
  });
}
