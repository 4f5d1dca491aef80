import type { Logger } from 'pino';
import type { Notification, Platform, Project, QuotaLimits } from '@pushcast/domain';
import type { Chunk } from '@pushcast/store';

/**
 * How a chunk run ends, for the processor to tell BullMQ: finished (sent and counted, cancelled,
 * or nothing to do), back to the delayed set for a while without consuming an attempt, or a retry
 * round for the recipients to try again (the job's data says which round), `delayMs` from now.
 */
export type ChunkStep =
  | { readonly kind: 'finished' }
  | { readonly kind: 'defer'; readonly delayMs: number; readonly why: DeferReason }
  | { readonly kind: 'retry'; readonly round: number; readonly delayMs: number };

/** `credentials`: the provider refused the project's credentials; the chunk waits for new ones. */
export type DeferReason = 'quota' | 'throttle' | 'shutdown' | 'credentials';

export const FINISHED: ChunkStep = { kind: 'finished' };

/** What every step of one run of one chunk knows. */
export interface ChunkRun {
  readonly notification: Notification;
  readonly chunk: Chunk;
  readonly project: Project;
  readonly platform: Platform;
  readonly limits: QuotaLimits;
  /** When the notification's TTL ends (pipeline clock, ms). */
  readonly expiry: number;
  /** Retry rounds so far (the job's data). */
  readonly round: number;
  readonly log: Logger;
}
