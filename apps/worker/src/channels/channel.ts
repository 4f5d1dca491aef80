import type { Notification, Platform, Project, Result, SendOutcome } from '@pushcast/domain';
import type { AudienceFilter, Chunk, Db } from '@pushcast/store';

export interface Recipient {
  readonly id: number;
}

/** Sends one slice of a chunk's recipients; one outcome per recipient, in order. */
export type SliceSender<R extends Recipient> = (slice: readonly R[]) => Promise<SendOutcome[]>;

/**
 * What the chunk pipeline needs to know of a platform: who a chunk's recipients are, and how to
 * send to them. Everything else (ledger, retries, pruning, cancel, counting) is shared.
 */
export interface Channel<R extends Recipient> {
  readonly platform: Platform;
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
