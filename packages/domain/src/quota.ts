/**
 * Per-project quotas: fixed UTC hours and days, counted in notifications handed to a provider that
 * it accepted. Pure: the window arithmetic and the effective limits; counting lives in Redis
 * (`@pushcast/redis-state` QuotaCounter).
 */
export type QuotaPolicy = 'defer' | 'reject';

/** As set on the project: null = the deployment's default. */
export interface ProjectQuota {
  readonly hourly: number | null;
  readonly daily: number | null;
  readonly policy: QuotaPolicy;
}

/** What applies: 0 = unlimited. */
export interface QuotaLimits {
  readonly hourly: number;
  readonly daily: number;
}

export const effectiveQuota = (q: ProjectQuota, defaults: QuotaLimits): QuotaLimits => ({
  hourly: q.hourly ?? defaults.hourly,
  daily: q.daily ?? defaults.daily,
});

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The fixed UTC hour and day that `nowMs` falls in, as their start (epoch ms), and when each resets. */
export function quotaWindows(nowMs: number): { hour: number; day: number; hourResetAt: number; dayResetAt: number } {
  const hour = Math.floor(nowMs / HOUR_MS) * HOUR_MS;
  const day = Math.floor(nowMs / DAY_MS) * DAY_MS;
  return { hour, day, hourResetAt: hour + HOUR_MS, dayResetAt: day + DAY_MS };
}

/** What is left in a window: null when unlimited. */
export const remaining = (limit: number, used: number): number | null => (limit === 0 ? null : Math.max(0, limit - used));
