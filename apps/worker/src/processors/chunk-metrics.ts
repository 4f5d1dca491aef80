import type { Platform } from '@pushcast/domain';
import type { LedgerOutcome } from '@pushcast/redis-state';

/**
 * What the chunk processor tells metrics (optional; `@pushcast/observability`'s `SendMetrics`
 * implements it). Every call is synchronous and cheap: counters in memory.
 */
export interface ChunkMetrics {
  /** A final outcome as the chunk records it in the ledger (delivered, pruned, failed, expired). */
  recorded(platform: Platform, outcome: LedgerOutcome): void;
  /** Recipients a provider answered with a retryable error in this slice (429, 5xx, timeouts). */
  retrying(platform: Platform, count: number): void;
  /** Subscriptions deleted because their provider called them gone. */
  pruned(platform: Platform, count: number): void;
  /** A chunk run put back in the delayed set to retry some of its recipients. */
  retryRound(platform: Platform): void;
  /** A chunk run put back in the delayed set before it was done: `reason` is `quota`, `throttle`, … */
  deferred(platform: Platform, reason: string): void;
}
