import type { Notification, Platform, Project, Result, SendOutcome } from '@pushcast/domain';
import type { AudienceFilter, Chunk, Db } from '@pushcast/store';

export interface Recipient {
  readonly id: number;
}

/** Hears the outcome of `slice[index]` as soon as its provider has answered. */
export type OutcomeSink = (index: number, outcome: SendOutcome) => void;

/**
 * Sends one slice of a chunk's recipients: tells `onOutcome` each recipient's outcome once, as it
 * arrives (so that it reaches the ledger before the rest of the slice is answered), and resolves
 * when every recipient has had its outcome.
 */
export type SliceSender<R extends Recipient> = (slice: readonly R[], onOutcome: OutcomeSink) => Promise<void>;

/**
 * What the chunk pipeline needs to know of a platform: who a chunk's recipients are, and how to
 * send to them. Everything else (ledger, retries, pruning, cancel, counting) is shared.
 */
export interface Channel<R extends Recipient, P extends Platform = Platform> {
  readonly platform: P;
  /** Recipients sent between two looks at whether the notification was cancelled. */
  readonly sliceSize: number;
  load(db: Db, filter: AudienceFilter, chunk: Chunk): Promise<R[]>;
  /**
   * What every recipient of this run shares (payload, credentials, client), or the reason every one
   * of them fails (e.g. `no_credentials`) without anything being sent.
   */
  prepare(n: Notification, project: Project, nowMs: number): Promise<Result<SliceSender<R>, string>>;
}

/** Seconds left of a notification's TTL when it leaves: always 0 for a ttl of 0, whose expiry is its start ("deliver now or drop"). */
export const ttlLeft = (expiresAtMs: number, nowMs: number): number => Math.max(0, Math.floor((expiresAtMs - nowMs) / 1000));
