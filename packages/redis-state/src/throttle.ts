import { readFileSync } from 'node:fs';
import type { RedisConnection } from './connection.ts';

const TAKE = readFileSync(new URL('./lua/take-throttle-1.lua', import.meta.url), 'utf8');
/** At most one second's worth of a throttled notification leaves at once. */
const BURST_MS = 1000;

type Scripts = {
  pushcastTakeThrottle(key: string, want: number, intervalMs: number, nowMs: number, aheadMs: number, expireS: number): Promise<[number, number]>;
};

/**
 * `throttle_rate_per_minute`: a per-notification schedule in Redis (GCRA), shared by every worker
 * sending that notification, so that its sends spread evenly at the given rate however many
 * chunks run at once.
 */
export class ThrottleGate {
  readonly #scripts: Scripts;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
  ) {
    redis.defineCommand('pushcastTakeThrottle', { numberOfKeys: 1, lua: TAKE });
    this.#scripts = redis as unknown as Scripts;
  }

  /** Up to `want` sends that may leave now, or 0 and how long to wait before asking again. */
  async take(notificationId: number, want: number, ratePerMinute: number, nowMs: number): Promise<{ granted: number; waitMs: number }> {
    const [granted, waitMs] = await this.#scripts.pushcastTakeThrottle(
      `${this.prefix}:throttle:{n${notificationId}}`,
      want,
      60_000 / ratePerMinute,
      nowMs,
      Math.max(BURST_MS, 60_000 / ratePerMinute),
      3600,
    );
    return { granted, waitMs };
  }
}
