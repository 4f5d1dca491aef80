import { quotaWindows } from '@pushcast/domain';
import type { StepDeps } from './deps.ts';
import type { ChunkRun, ChunkStep } from './step.ts';

/**
 * A chunk blocked by a full quota window goes back to wait until the window resets, looking again
 * every QUOTA_RECHECK_MS (a raised quota is used soon); the project hears `quota.exhausted` once per
 * window. The day's window is named when both reset at once (the last hour of a UTC day), as the
 * quota itself lets the day's block win.
 */
export async function quotaDefer(deps: StepDeps, run: ChunkRun, blockedUntil: number): Promise<ChunkStep> {
  const now = deps.now();
  const w = quotaWindows(now);
  const daily = run.limits.daily > 0 && blockedUntil === w.dayResetAt;
  await deps.store.quotaExhausted(run.notification.projectId, daily ? 'daily' : 'hourly', daily ? run.limits.daily : run.limits.hourly, new Date(blockedUntil));
  return { kind: 'defer', delayMs: Math.min(blockedUntil - now, deps.quotaRecheckMs), why: 'quota' };
}
