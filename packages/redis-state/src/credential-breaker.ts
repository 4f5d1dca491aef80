import { readFileSync } from 'node:fs';
import { CREDENTIAL_REFUSALS_TO_REJECT, WEB_PUSH_REFUSALS_TO_REJECT, type Platform } from '@pushcast/domain';
import type { RedisConnection } from './connection.ts';

const NOTE_REFUSALS = readFileSync(new URL('./lua/note-refusals-1.lua', import.meta.url), 'utf8');

type Scripts = { pushcastNoteRefusals(key: string, refusals: number, delivered: 0 | 1, expireS: number): Promise<number> };

/** One credential of one project, as the breaker counts it: a new credential starts a new count. */
export interface BreakerKey {
  readonly projectId: number;
  readonly platform: Platform;
  /** The credential refused (its fingerprint); a slice without refusals need not know it. */
  readonly fingerprint?: string | undefined;
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
  readonly #webThreshold: number;
  /** Streaks this process added to lately (project and platform → the streak's key and when): a delivery resets them. */
  readonly #seen = new Map<string, { key: string; at: number }>();

  constructor(redis: RedisConnection, prefix: string, threshold = CREDENTIAL_REFUSALS_TO_REJECT, webThreshold = WEB_PUSH_REFUSALS_TO_REJECT) {
    redis.defineCommand('pushcastNoteRefusals', { numberOfKeys: 1, lua: NOTE_REFUSALS });
    this.#redis = redis;
    this.#scripts = redis as unknown as Scripts;
    this.#prefix = prefix;
    this.#threshold = threshold;
    this.#webThreshold = webThreshold;
  }

  /** Counts a slice's answers; true when the credential has now been refused enough times in a row to reject it. */
  async observe(k: BreakerKey, v: SliceVerdict): Promise<boolean> {
    const credential = `${k.projectId}:${k.platform}`;
    if (v.refused === 0) {
      const seen = this.#seen.get(credential);
      if (v.delivered && seen) {
        this.#seen.delete(credential);
        await this.#redis.del(seen.key);
      }
      return false;
    }
    if (k.fingerprint === undefined) throw new Error('a refused credential is named by its fingerprint');
    const key = `${this.#prefix}:breaker:{p${k.projectId}}:${k.platform}:${k.fingerprint}`;
    this.#forgetOld();
    this.#seen.delete(credential); // so that the map stays in order of last refusal
    this.#seen.set(credential, { key, at: Date.now() });
    const streak = await this.#scripts.pushcastNoteRefusals(key, v.refusedSinceDelivery, v.delivered ? 1 : 0, STREAK_TTL_S);
    return streak >= (k.platform === 'web' ? this.#webThreshold : this.#threshold);
  }

  #forgetOld(): void {
    const old = Date.now() - STREAK_TTL_S * 1000;
    for (const [credential, { at }] of this.#seen) {
      if (at >= old) break;
      this.#seen.delete(credential);
    }
  }
}
