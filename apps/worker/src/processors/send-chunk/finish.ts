import { deliverNowOrDrop, type NotificationStats } from '@pushcast/domain';
import type { LedgerOutcome } from '@pushcast/redis-state';
import { retryDelayMs } from '../backoff.ts';
import { cancellation } from './cancellation.ts';
import type { StepDeps } from './deps.ts';
import type { RunRecording } from './recording.ts';
import type { RetryTally } from './slices.ts';
import { FINISHED, type ChunkRun, type ChunkStep } from './step.ts';

export const MAX_RETRY_ROUNDS = 50;

const outcomeCount = (s: NotificationStats): number =>
  s.delivered + s.pruned + s.expired + Object.values(s.failed).reduce((a, b) => a + b, 0);

/**
 * What becomes of the recipients a provider asked to try again: another round of the same job
 * after the backoff (never before their Retry-After), or, when the TTL would be over by then, the
 * notification is "deliver now or drop" (ttl 0) or the rounds are used up, their final outcome.
 */
export function nextRound(
  run: ChunkRun,
  retry: RetryTally,
  nowMs: number,
  random?: () => number,
): { readonly kind: 'retry'; readonly round: number; readonly at: number } | { readonly kind: 'final'; readonly outcome: LedgerOutcome } {
  const round = run.round + 1;
  const at = Math.max(nowMs + retryDelayMs(round, random), retry.notBefore);
  const dropNow = deliverNowOrDrop(run.notification);
  if (!dropNow && at < run.expiry && round <= MAX_RETRY_ROUNDS) return { kind: 'retry', round, at };
  return { kind: 'final', outcome: dropNow || at >= run.expiry ? { kind: 'expired' } : { kind: 'failed', reason: 'retries_exhausted' } };
}

/** The retry round as a step, said in the log (a few rounds are weather; more look like a problem someone should see). */
export function retryStep(deps: StepDeps, run: ChunkRun, retry: RetryTally, round: number, at: number): ChunkStep {
  run.log[round >= 3 ? 'warn' : 'debug']({ retry: retry.ids.length, reasons: retry.reasons, round, at }, 'retrying part of the chunk later');
  deps.metrics?.retryRound(run.platform);
  return { kind: 'retry', round, delayMs: at - deps.now() };
}

/**
 * Everyone has a final outcome: what the ledger lost of the run's outcomes (Redis restarted empty
 * meanwhile) is written again, the chunk's counts go to PostgreSQL once (the last chunk marks the
 * notification sent and gives back its quota hold) and its ledger is dropped.
 */
export async function completeRun(deps: StepDeps, run: ChunkRun, recipients: number, recording: RunRecording): Promise<ChunkStep> {
  const { id: notificationId, projectId } = run.notification;
  const { index } = run.chunk;
  const stats = await recording.completeStats();
  if (outcomeCount(stats) < recipients) {
    // Redis lost outcomes this run did not record itself (emptied while another run of the chunk
    // had recorded them): run the chunk again rather than count too few. Those recipients may
    // receive the message twice; a count that is wrong forever is worse.
    throw new Error(`chunk ${notificationId}/${index}: the ledger lost outcomes; the chunk runs again`);
  }
  const completed = await deps.store.completeChunk(notificationId, index, stats);
  if (completed.notificationSent) await deps.quota.releaseHold(projectId, notificationId);
  if (completed.chunkDone) {
    await deps.ledger.forgetChunk(notificationId, index);
    run.log.debug({ stats }, 'chunk done');
    return FINISHED;
  }
  if (await cancellation.atCompletion(deps, notificationId, index)) return cancellation.stop(deps, notificationId, index, stats);
  return FINISHED;
}
