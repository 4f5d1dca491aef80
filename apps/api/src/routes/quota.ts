import { effectiveQuota, notFound, PushcastError, quotaWindows, remaining, type Project } from '@pushcast/domain';
import { findProject } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam } from '../schemas.ts';
import { parseInput } from '../validation.ts';

const params = z.object({ projectId: idParam });

/**
 * The `reject` policy: a notification whose audience is more than what is left of the day is
 * refused with CloudSignal's 429 QUOTA_EXCEEDED, rather than accepted and deferred to tomorrow.
 * A notification scheduled for a later day is checked against that day's whole limit. The check
 * and the reservation are one step in Redis (a hold for `notificationId`, consumed by its chunks),
 * so notifications created at the same moment cannot together pass the limit. Called inside the
 * transaction that inserts the notification: a refusal rolls the insert back.
 */
export async function holdQuotaAtCreate(
  deps: ApiDeps,
  project: Project,
  notificationId: number,
  audience: number,
  sendAt: Date | null,
  nowMs: number,
): Promise<boolean> {
  if (project.quota.policy !== 'reject') return false;
  const limits = effectiveQuota(project.quota, deps.config.defaultQuota);
  if (limits.daily === 0) return false;
  const at = Math.max(nowMs, sendAt?.getTime() ?? nowMs);
  const { held, left } = await deps.quota.hold(project.id, notificationId, audience, limits.daily, at, nowMs);
  if (held) return true;
  const resetAt = quotaWindows(at).dayResetAt;
  throw new PushcastError('rate_limited', 'QUOTA_EXCEEDED', {
    rule: 'quota_exceeded',
    message: `the notification would reach ${audience} recipients; ${left} of the daily quota of ${limits.daily} are left`,
    audience,
    daily_limit: limits.daily,
    daily_remaining: left,
    reset_daily_at: new Date(resetAt).toISOString(),
    retry_after: (resetAt - nowMs) / 1000,
  });
}

/** `GET /projects/:projectId/quota`, in CloudSignal's shape; a `*_remaining` of null means unlimited. */
export async function quotaRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  app.get('/projects/:projectId/quota', async (request) => {
    const { projectId } = parseInput(params, request.params, 'params');
    requireProject(request.principal, projectId);
    const project = await findProject(deps.db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    const now = Date.now();
    const limits = effectiveQuota(project.quota, deps.config.defaultQuota);
    const used = await deps.quota.usage(projectId, now);
    const w = quotaWindows(now);
    return {
      hourly_limit: limits.hourly,
      daily_limit: limits.daily,
      hourly_remaining: remaining(limits.hourly, used.hour),
      daily_remaining: remaining(limits.daily, used.day),
      hourly_used: used.hour,
      daily_used: used.day,
      reset_hourly_at: new Date(w.hourResetAt).toISOString(),
      reset_daily_at: new Date(w.dayResetAt).toISOString(),
      policy: project.quota.policy,
    };
  });
}
