import { addStats, emptyStats, type Notification, type NotificationStats, type Platform } from '@pushcast/domain';
import type { Ledger } from '@pushcast/redis-state';
import { completedChunkStats, openStats, type Db } from '@pushcast/store';

export interface PlatformStats {
  /** Recipients planned on the platform (0 until planned). */
  readonly planned: number;
  readonly stats: NotificationStats;
}

export interface LiveStats {
  readonly total: NotificationStats;
  readonly platforms: Readonly<Record<Platform, PlatformStats>>;
  /** Opens reported by service workers (each recipient once), in all and per action. */
  readonly opens?: { readonly count: number; readonly actions: Readonly<Record<string, number>> };
}

/** Finished chunks' counts from PostgreSQL plus the running chunks' from Redis, in all and per platform. */
export async function liveStats(db: Db, ledger: Ledger, n: Notification): Promise<LiveStats> {
  const [{ byPlatform, doneIndexes }, opens] = await Promise.all([completedChunkStats(db, n.id), openStats(db, n.id)]);
  const finished = n.status === 'sent' || n.status === 'cancelled';
  const live = finished ? null : await ledger.liveStats(n.id, doneIndexes);
  const platforms = {} as Record<Platform, PlatformStats>;
  let total = emptyStats();
  for (const p of ['web', 'apns', 'fcm'] as const) {
    const stats = live ? addStats(byPlatform[p].stats, live[p]) : byPlatform[p].stats;
    platforms[p] = { planned: byPlatform[p].planned, stats };
    total = addStats(total, stats);
  }
  return { total, platforms, opens };
}
