import { newAccessTokenSecret, notFound, validationError } from '@pushcast/domain';
import { insertAccessToken, listAccessTokens, listProjects, revokeAccessToken } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam } from '@pushcast/core';
import { accessTokenJson } from '../serializers.ts';
import { parseInput } from '@pushcast/core';

const params = z.object({ id: idParam });
const createBody = z.strictObject({
  name: z.string().trim().max(255).default(''),
  admin: z.boolean().default(false),
  project_ids: z.array(idParam).max(1000).default([]),
});

/** Minting and revoking tokens (Pushcast's own; Pushpad does this in its dashboard). Admin only. */
export async function accessTokenRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  app.addHook('preHandler', async (request) => requireAdmin(request.principal));

  app.post('/access_tokens', async (request, reply) => {
    const body = parseInput(createBody, request.body, 'body');
    if (!body.admin && body.project_ids.length === 0) {
      throw validationError('project_ids', 'min_items', 'a token that is not admin needs at least one project');
    }
    const projectIds = [...new Set(body.project_ids)];
    const existing = new Set((await listProjects(db, projectIds)).map((p) => p.id));
    const missing = projectIds.find((id) => !existing.has(id));
    if (missing !== undefined) throw validationError('project_ids', 'exists', `project ${missing} does not exist`);
    const secret = newAccessTokenSecret();
    const record = await insertAccessToken(db, { ...secret, name: body.name, admin: body.admin, projectIds });
    // The only time the token is ever shown.
    return reply.code(201).send({ ...accessTokenJson(record), token: secret.token });
  });

  app.get('/access_tokens', async () => (await listAccessTokens(db)).map(accessTokenJson));

  app.delete('/access_tokens/:id', async (request, reply) => {
    const { id } = parseInput(params, request.params, 'params');
    if (!(await revokeAccessToken(db, id))) throw notFound(`access token ${id}`);
    return reply.code(204).send();
  });
}
