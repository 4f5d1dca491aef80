import { effectiveQuota, quotaWindows, remaining, type Project } from '@pushcast/domain';
import type { CoreDeps } from '../deps.ts';

/** A project's quota and what is used of it now; a `*_remaining` of null means unlimited. */
export interface QuotaStatus {
  readonly hourlyLimit: number;
  readonly dailyLimit: number;
  readonly hourlyRemaining: number | null;
  readonly dailyRemaining: number | null;
  readonly hourlyUsed: number;
  readonly dailyUsed: number;
  readonly resetHourlyAt: Date;
  readonly resetDailyAt: Date;
  readonly policy: Project['quota']['policy'];
}

export async function quotaStatus(deps: Pick<CoreDeps, 'config' | 'quota'>, project: Project, nowMs: number): Promise<QuotaStatus> {
  const limits = effectiveQuota(project.quota, deps.config.defaultQuota);
  const used = await deps.quota.usage(project.id, nowMs);
  const w = quotaWindows(nowMs);
  return {
    hourlyLimit: limits.hourly,
    dailyLimit: limits.daily,
    hourlyRemaining: remaining(limits.hourly, used.hour),
    dailyRemaining: remaining(limits.daily, used.day),
    hourlyUsed: used.hour,
    dailyUsed: used.day,
    resetHourlyAt: new Date(w.hourResetAt),
    resetDailyAt: new Date(w.dayResetAt),
    policy: project.quota.policy,
  };
}
