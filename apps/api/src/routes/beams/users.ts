import { deleteBeamsUser, MAX_BEAMS_NAME_LENGTH } from '@pushcast/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { BeamsError } from './errors.ts';
import { instanceOf, requireSecretKey } from './instance.ts';

// User ids are up to 164 characters, longer than the router takes in a `:param`: a wildcard has no limit.
const params = z.object({ instanceId: z.string(), '*': z.string() });

/**
 * `DELETE …/v1/instances/{i}/users/{userId}` (Bearer secret key): the user and all their devices go.
 * Served under /customer_api (Beams' docs) and /user_api (its Node and Swift server SDKs).
 */
export async function beamsUserRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.delete('/v1/instances/:instanceId/users/*', async (request, reply) => {
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
