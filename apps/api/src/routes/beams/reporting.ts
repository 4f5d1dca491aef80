import { reportBeamsEvent } from '@pushcast/core';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { openToEveryOrigin } from './cors.ts';
import { notJsonObject } from './errors.ts';
import { instanceOf } from './instance.ts';

const params = z.object({ instanceId: z.string() });

/** Beams' Reporting API: `POST /reporting_api/v2/instances/{i}/events` (delivery and open events, no secret). */
export async function beamsReportingRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  openToEveryOrigin(app);
  app.post('/v2/instances/:instanceId/events', async (request, reply) => {
    const { instanceId } = params.parse(request.params);
    const project = await instanceOf(deps, instanceId);
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw notJsonObject();
    await reportBeamsEvent(deps, project, body);
    return reply.code(200).send();
  });
}
