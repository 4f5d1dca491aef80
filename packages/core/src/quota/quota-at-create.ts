import { effectiveQuota, PushcastError, quotaWindows, type Project } from '@pushcast/domain';
import type { CoreDeps } from '../deps.ts';

/**
 * The `reject` policy: a notification whose audience is more than what is left of the day is
 * refused with CloudSignal's 429 QUOTA_EXCEEDED, rather than accepted and deferred to tomorrow.
 * A notification scheduled for a later day is checked against that day's whole limit. The check
 * and the reservation are one step in Redis (a hold for `notificationId`, consumed by its chunks),
 * so notifications created at the same moment cannot together pass the limit. Called inside the
 * transaction that inserts the notification: a refusal rolls the insert back.
 */
/** Whether holdQuotaAtCreate does anything for this project (the `reject` policy with a daily limit). */
export function holdsQuotaAtCreate(deps: Pick<CoreDeps, 'config'>, project: Project): boolean {
  return project.quota.policy === 'reject' && effectiveQuota(project.quota, deps.config.defaultQuota).daily !== 0;
}

export async function holdQuotaAtCreate(
  deps: Pick<CoreDeps, 'config' | 'quota'>,
  project: Project,
  notificationId: number,
  audience: number,
  sendAt: Date | null,
  nowMs: number,
): Promise<boolean> {
  if (!holdsQuotaAtCreate(deps, project)) return false;
  const limits = effectiveQuota(project.quota, deps.config.defaultQuota);
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
