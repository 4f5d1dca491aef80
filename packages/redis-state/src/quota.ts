import { readFileSync } from 'node:fs';
import { quotaWindows, type QuotaLimits } from '@pushcast/domain';
import type { RedisConnection } from './connection.ts';

const RESERVE = readFileSync(new URL('./lua/reserve-quota-3.lua', import.meta.url), 'utf8');
const HOLD = readFileSync(new URL('./lua/hold-quota-2.lua', import.meta.url), 'utf8');
const RELEASE = readFileSync(new URL('./lua/release-quota-2.lua', import.meta.url), 'utf8');

/** Where a reservation was taken from, so that what it did not use goes back there. */
export interface Reservation {
  readonly projectId: number;
  readonly granted: number;
  /** False when no limit applied: nothing was counted, so nothing is given back. */
  readonly counted: boolean;
  readonly hour: number;
  readonly day: number;
  /** When nothing (more) could be granted: when the window that blocks resets; null if nothing blocked. */
  readonly blockedUntil: number | null;
}

type Scripts = {
  pushcastReserveQuota(
    hourKey: string,
    dayKey: string,
    holdsKey: string,
    want: number,
    hourly: number,
    daily: number,
    hourTtl: number,
    dayTtl: number,
    day: number,
    notificationId: number,
  ): Promise<[number, number, number]>;
  pushcastHoldQuota(dayKey: string, holdsKey: string, want: number, daily: number, day: number, notificationId: number, today: number, ttl: number): Promise<[number, number]>;
  pushcastReleaseQuota(hourKey: string, dayKey: string, n: number): Promise<number>;
};

/**
 * Per-project hourly and daily quotas in Redis, one counter per fixed UTC window. Sends are
 * reserved before they are handed to a provider and what was not delivered is given back, so a
 * limit is never passed however many workers race, and a reservation that a 410 or a failure
 * did not use is used by someone else. A worker that dies between reserving and giving back
 * leaves its reservation counted until the window ends: never over, sometimes under.
 */
export class QuotaCounter {
  readonly #redis: RedisConnection;
  readonly #scripts: Scripts;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
  ) {
    redis.defineCommand('pushcastReserveQuota', { numberOfKeys: 3, lua: RESERVE });
    redis.defineCommand('pushcastHoldQuota', { numberOfKeys: 2, lua: HOLD });
    redis.defineCommand('pushcastReleaseQuota', { numberOfKeys: 2, lua: RELEASE });
    this.#redis = redis;
    this.#scripts = redis as unknown as Scripts;
  }

  // A project's counters share a hash tag: one slot on Redis Cluster, as one script needs.
  #keys(projectId: number, hour: number, day: number): [string, string] {
    return [`${this.prefix}:quota:{p${projectId}}:h:${hour}`, this.#dayKey(projectId, day)];
  }

  #dayKey(projectId: number, day: number): string {
    return `${this.prefix}:quota:{p${projectId}}:d:${day}`;
  }

  #holdsKey(projectId: number): string {
    return `${this.prefix}:quota:{p${projectId}}:holds`;
  }

  /**
   * The `reject` policy at creation: checks that `audience` fits in what is left of the day that
   * `atMs` falls in (after what was sent and what other notifications hold) and, if it does, holds
   * it for `notificationId` in the same step. Chunks consume the hold as they reserve; what is
   * left of it is given back by `releaseHold` when the notification ends.
   */
  async hold(projectId: number, notificationId: number, audience: number, dailyLimit: number, atMs: number, nowMs: number): Promise<{ held: boolean; left: number }> {
    const day = quotaWindows(atMs).day;
    const ttl = Math.ceil((quotaWindows(atMs).dayResetAt - nowMs) / 1000) + 3600;
    const [held, left] = await this.#scripts.pushcastHoldQuota(
      this.#dayKey(projectId, day),
      this.#holdsKey(projectId),
      audience,
      dailyLimit,
      day,
      notificationId,
      quotaWindows(nowMs).day,
      ttl,
    );
    return { held: held === 1, left };
  }

  /** What a notification still holds goes back to the project (it was sent, cancelled or refused). */
  async releaseHold(projectId: number, notificationId: number): Promise<void> {
    await this.#redis.hdel(this.#holdsKey(projectId), String(notificationId));
  }

  /** Reserves for `notificationId`, which consumes its own hold first and leaves others' alone. */
  async reserve(projectId: number, notificationId: number, want: number, limits: QuotaLimits, nowMs: number): Promise<Reservation> {
    const w = quotaWindows(nowMs);
    if (limits.hourly === 0 && limits.daily === 0) {
      return { projectId, granted: want, counted: false, hour: w.hour, day: w.day, blockedUntil: null };
    }
    const [hourKey, dayKey] = this.#keys(projectId, w.hour, w.day);
    // Counters outlive their window a little, so that the quota endpoint can read the one just past.
    const hourTtl = Math.ceil((w.hourResetAt - nowMs) / 1000) + 3600;
    const dayTtl = Math.ceil((w.dayResetAt - nowMs) / 1000) + 3600;
    const [granted, usedHour, usedDay] = await this.#scripts.pushcastReserveQuota(
      hourKey,
      dayKey,
      this.#holdsKey(projectId),
      want,
      limits.hourly,
      limits.daily,
      hourTtl,
      dayTtl,
      w.day,
      notificationId,
    );
    // Others' holds can block a day whose counter is not full: then the day's reset is the answer.
    const blockedUntil = granted < want ? (blockingReset(limits, usedHour, usedDay, nowMs) ?? w.dayResetAt) : null;
    return { projectId, granted, counted: true, hour: w.hour, day: w.day, blockedUntil };
  }

  async release(r: Reservation, unused: number): Promise<void> {
    // An unlimited reservation counted nothing: giving back would eat into what others reserved
    // under a limit set meanwhile.
    if (unused <= 0 || !r.counted) return;
    const [hourKey, dayKey] = this.#keys(r.projectId, r.hour, r.day);
    await this.#scripts.pushcastReleaseQuota(hourKey, dayKey, unused);
  }

  /**
   * When a window that is full now resets, or null if the project may send. A look without
   * reserving, so that a chunk still blocked goes back to wait before loading its recipients.
   */
  async blockedUntil(projectId: number, limits: QuotaLimits, nowMs: number): Promise<number | null> {
    if (limits.hourly === 0 && limits.daily === 0) return null;
    const used = await this.usage(projectId, nowMs);
    return blockingReset(limits, used.hour, used.day, nowMs);
  }

  /** Sends counted in the current hour and day. */
  async usage(projectId: number, nowMs: number): Promise<{ hour: number; day: number }> {
    const w = quotaWindows(nowMs);
    const [h, d] = await this.#redis.mget(...this.#keys(projectId, w.hour, w.day));
    return { hour: Number(h ?? 0), day: Number(d ?? 0) };
  }
}

/** The reset of the window that blocks (the day's when both are full), or null if neither is full. */
function blockingReset(limits: QuotaLimits, usedHour: number, usedDay: number, nowMs: number): number | null {
  const w = quotaWindows(nowMs);
  if (limits.daily > 0 && usedDay >= limits.daily) return w.dayResetAt;
  if (limits.hourly > 0 && usedHour >= limits.hourly) return w.hourResetAt;
  return null;
}
