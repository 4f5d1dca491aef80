import { deleteBeamsUser, MAX_BEAMS_NAME_LENGTH } from '@pushcast/core';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { BeamsError } from './errors.ts';
import { instanceOf, requireSecretKey } from './instance.ts';
import { deleteUserSchema, userParams as params } from './schemas.ts';


/**
 * `DELETE …/v1/instances/{i}/users/{userId}` (Bearer secret key): the user and all their devices go.
 * Served under /customer_api (Beams' docs) and /user_api (its Node and Swift server SDKs).
 */
export async function beamsUserRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const api = app.prefix.endsWith('customer_api') ? 'customer_api' : 'user_api';
  app.delete('/v1/instances/:instanceId/users/*', { schema: deleteUserSchema(api) }, async (request, reply) => {
    const parsed = params.safeParse(request.params);
    if (!parsed.success) throw new BeamsError(404, 'Not Found', 'no such route');
    const { instanceId, '*': userId } = parsed.data;
    const project = await instanceOf(deps, instanceId);
    await requireSecretKey(deps, project, request);
    if (userId.length < 1 || userId.length > MAX_BEAMS_NAME_LENGTH) {
      throw new BeamsError(400, 'Bad request', `User ID must be 1-${MAX_BEAMS_NAME_LENGTH} characters long`);
    }
    await deleteBeamsUser(deps, project, userId);
    return reply.code(200).send();
  });
}
