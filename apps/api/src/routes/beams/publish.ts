import { publishToBeams, type BeamsAudience } from '@pushcast/core';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { notJsonObject } from './errors.ts';
import { instanceWithSecretKey } from './instance.ts';
import { instanceParams as params, publishSchemas } from './schemas.ts';

/** Beams' body limits: 10 KiB for a publish to interests, 200 KiB for one to users. */
const BODY_LIMITS: Record<BeamsAudience, number> = { interests: 10 * 1024, users: 200 * 1024 };


/** Beams' Publish API: `POST /publish_api/v1/instances/{i}/publishes/interests|users` → `{publishId}`. */
export async function beamsPublishRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  for (const audience of ['interests', 'users'] as const) {
    app.post(`/v1/instances/:instanceId/publishes/${audience}`, { bodyLimit: BODY_LIMITS[audience], schema: publishSchemas[audience] }, async (request) => {
      const { instanceId } = params.parse(request.params);
      const project = await instanceWithSecretKey(deps, instanceId, request);
      const body = request.body;
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw notJsonObject();
      return publishToBeams(deps, project, audience, body);
    });
  }
}
