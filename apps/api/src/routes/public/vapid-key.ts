import { effectiveAllowedOrigins, notFound, vapidApplicationServerKey } from '@pushcast/domain';
import { findProject, findSender } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { idParam, parseInput } from '@pushcast/core';
import { vapidKeyAnswer } from '../../answers.ts';
import { errors, json, PUBLIC } from '../../openapi/route-schemas.ts';

const schema = {
  tags: ['Browser'],
  operationId: 'getVapidPublicKey',
  summary: "The project's VAPID public key",
  description: "Readable cross-origin by pages of the project's allowed origins.",
  security: PUBLIC,
  params: z.object({ projectId: idParam }),
  response: { 200: json('The key', vapidKeyAnswer), ...errors(404, 422, 429) },
};

/**
 * `GET /projects/:id/vapid_public_key` → `{"vapid_public_key": "<base64url of the 65-byte point>"}`:
 * the `applicationServerKey` of `pushManager.subscribe`. Public (every subscription of the project
 * carries it anyway); readable cross-origin only by pages of the project's allowed origins.
 */
export async function vapidKeyRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  app.get('/projects/:projectId/vapid_public_key', { schema }, async (request, reply) => {
    const { projectId } = parseInput(schema.params, request.params, 'params');
    const project = await findProject(db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    const sender = await findSender(db, project.senderId);
    if (!sender) throw notFound(`the sender of project ${projectId}`);
    const origin = request.headers.origin;
    void reply.header('vary', 'Origin').header('cache-control', 'public, max-age=300');
    if (origin !== undefined && effectiveAllowedOrigins(project.allowedOrigins, project.website).includes(origin)) {
      void reply.header('access-control-allow-origin', origin);
    }
    return { vapid_public_key: vapidApplicationServerKey(sender.vapidPublicKey) };
  });
}
