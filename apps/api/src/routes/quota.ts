import { parseInput, idParam, quotaStatus } from '@pushcast/core';
import { notFound } from '@pushcast/domain';
import { findProject } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { quotaAnswer } from '../answers.ts';
import { AUTHENTICATED, errors, json } from '../openapi/route-schemas.ts';

const params = z.object({ projectId: idParam });
const schema = {
  tags: ['Projects'],
  operationId: 'getQuota',
  summary: "A project's quota and what is left of it",
  description: 'Fixed UTC hours and days; a `*_remaining` of null means unlimited.',
  params,
  response: { 200: json('The quota', quotaAnswer), ...errors(...AUTHENTICATED, 404, 422) },
};

/** `GET /projects/:projectId/quota`, in CloudSignal's shape; a `*_remaining` of null means unlimited. */
export async function quotaRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get('/projects/:projectId/quota', { schema }, async (request) => {
    const { projectId } = parseInput(schema.params, request.params, 'params');
    requireProject(request.principal, projectId);
    const project = await findProject(deps.db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    const q = await quotaStatus(deps, project, Date.now());
    return {
      hourly_limit: q.hourlyLimit,
      daily_limit: q.dailyLimit,
      hourly_remaining: q.hourlyRemaining,
      daily_remaining: q.dailyRemaining,
      hourly_used: q.hourlyUsed,
      daily_used: q.dailyUsed,
      reset_hourly_at: q.resetHourlyAt.toISOString(),
      reset_daily_at: q.resetDailyAt.toISOString(),
      policy: q.policy,
    };
  });
}
