import { readFileSync } from 'node:fs';
import { CREDENTIAL_REFUSALS_TO_REJECT, type DevicePlatform } from '@pushcast/domain';
import type { RedisConnection } from './connection.ts';

const NOTE_REFUSALS = readFileSync(new URL('./lua/note-refusals-1.lua', import.meta.url), 'utf8');

type Scripts = { pushcastNoteRefusals(key: string, refusals: number, delivered: 0 | 1, expireS: number): Promise<number> };

/** One credential of one project, as the breaker counts it: a new credential starts a new count. */
export interface BreakerKey {
  readonly projectId: number;
  readonly platform: DevicePlatform;
  readonly fingerprint: string;
}

/** What a slice's answers said of the credential, in the order they arrived. */
export interface SliceVerdict {
  /** Refusals in the slice. */
  readonly refused: number;
  /** Refusals after its last delivery (all of them when nothing was delivered). */
  readonly refusedSinceDelivery: number;
  readonly delivered: boolean;
}

/** A streak is forgotten this long after its last refusal (retry rounds of one chunk are minutes apart). */
const STREAK_TTL_S = 3600;

/**
 * The credential breaker's count: refusals of a project's credential in a row, across every
 * worker (Redis), a delivery starting over. Only slices with refusals write; a slice with a
 * delivery clears a streak this process has seen growing, so a healthy credential costs nothing.
 */
export class CredentialBreaker {
  readonly #redis: RedisConnection;
  readonly #scripts: Scripts;
  readonly #prefix: string;
  readonly #threshold: number;
  /** Streaks this process added to lately (key → when): a delivery for them resets the count. */
  readonly #seen = new Map<string, number>();

  constructor(redis: RedisConnection, prefix: string, threshold = CREDENTIAL_REFUSALS_TO_REJECT) {
    redis.defineCommand('pushcastNoteRefusals', { numberOfKeys: 1, lua: NOTE_REFUSALS });
    this.#redis = redis;
    this.#scripts = redis as unknown as Scripts;
    this.#prefix = prefix;
    this.#threshold = threshold;
  }

  #key(k: BreakerKey): string {
    return `${this.#prefix}:breaker:{p${k.projectId}}:${k.platform}:${k.fingerprint}`;
  }

  /** Counts a slice's answers; true when the credential has now been refused enough times in a row to reject it. */
  async observe(k: BreakerKey, v: SliceVerdict): Promise<boolean> {
    const key = this.#key(k);
    if (v.refused === 0) {
      if (v.delivered && this.#seen.delete(key)) await this.#redis.del(key);
      return false;
    }
    this.#forgetOld();
    this.#seen.delete(key); // so that the map stays in order of last refusal
    this.#seen.set(key, Date.now());
    const streak = await this.#scripts.pushcastNoteRefusals(key, v.refusedSinceDelivery, v.delivered ? 1 : 0, STREAK_TTL_S);
    return streak >= this.#threshold;
  }

  #forgetOld(): void {
    const old = Date.now() - STREAK_TTL_S * 1000;
    for (const [key, at] of this.#seen) {
      if (at >= old) break;
      this.#seen.delete(key);
    }
  }
}
