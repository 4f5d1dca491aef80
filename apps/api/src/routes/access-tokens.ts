import { newAccessTokenSecret, notFound, validationError } from '@pushcast/domain';
import { insertAccessToken, listAccessTokens, listProjects, revokeAccessToken } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam, parseInput } from '@pushcast/core';
import { accessTokenAnswer, createdAccessTokenAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY } from '../openapi/route-schemas.ts';
import { accessTokenJson } from '../serializers.ts';

const params = z.object({ id: idParam });
const createBody = z.strictObject({
  name: z.string().trim().max(255).default(''),
  admin: z.boolean().default(false),
  project_ids: z.array(idParam).max(1000).default([]),
});

const tags = ['Access tokens'];
const schemas = {
  create: {
    tags,
    operationId: 'createAccessToken',
    summary: 'Mint an access token',
    description: 'An admin token, or one scoped to `project_ids`. The answer holds the token: the only time it is shown.',
    body: createBody,
    response: { 201: json('The token, with its secret', createdAccessTokenAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY) },
  },
  list: {
    tags,
    operationId: 'listAccessTokens',
    summary: 'List access tokens',
    description: 'Stored tokens (never their secrets), not the PUSHCAST_ADMIN_TOKEN of the deployment.',
    response: { 200: json('The tokens', z.array(accessTokenAnswer)), ...errors(...AUTHENTICATED) },
  },
  revoke: {
    tags,
    operationId: 'revokeAccessToken',
    summary: 'Revoke an access token',
    params,
    response: { 204: empty('Revoked'), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

/** Minting and revoking tokens (Pushcast's own; Pushpad does this in its dashboard). Admin only. */
export async function accessTokenRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  app.addHook('preHandler', async (request) => requireAdmin(request.principal));

  app.post('/access_tokens', { schema: schemas.create }, async (request, reply) => {
    const body = parseInput(schemas.create.body, request.body, 'body');
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

  app.get('/access_tokens', { schema: schemas.list }, async () => (await listAccessTokens(db)).map(accessTokenJson));

  app.delete('/access_tokens/:id', { schema: schemas.revoke }, async (request, reply) => {
    const { id } = parseInput(schemas.revoke.params, request.params, 'params');
    if (!(await revokeAccessToken(db, id))) throw notFound(`access token ${id}`);
    return reply.code(204).send();
  });
}
