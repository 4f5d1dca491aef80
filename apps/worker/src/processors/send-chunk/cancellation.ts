import type { NotificationStats } from '@pushcast/domain';
import type { StepDeps } from './deps.ts';
import { FINISHED, type ChunkStep } from './step.ts';

/**
 * Cancellation, in one place. Cancelling a notification marks it and its pending chunks cancelled
 * in one statement; a run finds out when it starts (its chunk is cancelled: an earlier run may have
 * sent part of it), between two slices (its notification is cancelled), or when it completes (its
 * chunk was cancelled during the last slice, so completing it changed nothing). Each time it stops,
 * and what the ledger holds was sent and counts: the cancelled chunk keeps those counts.
 */
export const cancellation = {
  /** Before sending: the statuses as the run loaded them. */
  atStart(notificationStatus: string, chunkStatus: string): boolean {
    return chunkStatus === 'cancelled' || notificationStatus === 'cancelled';
  },

  /** Between two slices: one indexed read of the notification's status. */
  async betweenSlices(deps: StepDeps, notificationId: number): Promise<boolean> {
    return (await deps.store.notificationStatus(notificationId)) === 'cancelled';
  },

  /** After completing changed nothing: was the chunk cancelled meanwhile? */
  async atCompletion(deps: StepDeps, notificationId: number, index: number): Promise<boolean> {
    return (await deps.store.findChunk(notificationId, index))?.status === 'cancelled';
  },

  /** Stops the run: the cancelled chunk keeps the counts of what was sent (the ledger's, unless given). */
  async stop(deps: StepDeps, notificationId: number, index: number, stats?: NotificationStats): Promise<ChunkStep> {
    await deps.store.saveCancelledChunkStats(notificationId, index, stats ?? (await deps.ledger.chunkStats(notificationId, index)));
    return FINISHED;
  },
};
