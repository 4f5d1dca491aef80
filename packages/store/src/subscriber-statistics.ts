import type { Platform } from '@pushcast/domain';
import type { Queryable } from './db.ts';

/**
 * Subscriber statistics from the tables migration 0018 maintains (triggers on subscriptions, and
 * the workers' daily snapshot): a few dozen rows per project, never a count over its subscriptions.
 */

export type PlatformCounts = Record<Platform, number>;

const PLATFORMS: readonly Platform[] = ['web', 'apns', 'fcm'];
const zero = (): PlatformCounts => ({ web: 0, apns: 0, fcm: 0 });

export interface ProjectSummary {
  readonly projectId: number;
  readonly subscribers: PlatformCounts;
  /** Notifications created in the last 24 hours (scheduled ones included, by when they were created). */
  readonly notifications24h: number;
}

/** Subscribers per platform and notifications of the last 24 hours, for each of these projects. */
export async function projectSummaries(db: Queryable, projectIds: readonly number[]): Promise<Map<number, ProjectSummary>> {
  const counts = new Map<number, PlatformCounts>(projectIds.map((id) => [id, zero()]));
  const recent = new Map<number, number>();
  if (projectIds.length === 0) return new Map();
  const [subscribers, notifications] = await Promise.all([
    db.query<{ project_id: number; platform: Platform; n: number }>(
      `SELECT project_id, platform, sum(n)::bigint AS n FROM subscription_counts WHERE project_id = ANY($1) GROUP BY project_id, platform`,
      [projectIds],
    ),
    db.query<{ project_id: number; n: number }>(
      `SELECT project_id, count(*)::bigint AS n FROM notifications
       WHERE project_id = ANY($1) AND created_at > now() - interval '24 hours' GROUP BY project_id`,
      [projectIds],
    ),
  ]);
  for (const r of subscribers.rows) {
    const c = counts.get(r.project_id);
    if (c && PLATFORMS.includes(r.platform)) c[r.platform] = r.n;
  }
  for (const r of notifications.rows) recent.set(r.project_id, r.n);
  return new Map(
    projectIds.map((id) => [id, { projectId: id, subscribers: counts.get(id)!, notifications24h: recent.get(id) ?? 0 }]),
  );
}

/** A project's subscriber count per platform now (its slots added up). */
export async function subscriberCounts(db: Queryable, projectId: number): Promise<PlatformCounts> {
  const { rows } = await db.query<{ platform: Platform; n: number }>(
    `SELECT platform, sum(n)::bigint AS n FROM subscription_counts WHERE project_id = $1 GROUP BY platform`,
    [projectId],
  );
  const c = zero();
  for (const r of rows) if (PLATFORMS.includes(r.platform)) c[r.platform] = r.n;
  return c;
}

export interface DayCount {
  /** YYYY-MM-DD (UTC). */
  readonly day: string;
  readonly subscribers: PlatformCounts;
}

/** The end-of-day snapshots of the last `days` days (UTC), oldest first; days without one are left out. */
export async function subscriberCountDays(db: Queryable, projectId: number, days: number): Promise<DayCount[]> {
  const { rows } = await db.query<{ day: string; platform: Platform; n: number }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, platform, n FROM subscription_count_days
     WHERE project_id = $1 AND day > (now() AT TIME ZONE 'UTC')::date - $2::int ORDER BY day`,
    [projectId, days],
  );
  const byDay = new Map<string, PlatformCounts>();
  for (const r of rows) {
    let c = byDay.get(r.day);
    if (!c) byDay.set(r.day, (c = zero()));
    if (PLATFORMS.includes(r.platform)) c[r.platform] = r.n;
  }
  return [...byDay].map(([day, subscribers]) => ({ day, subscribers }));
}

/**
 * Writes today's snapshot (UTC) of every live project's counts, replacing the one of the last run:
 * the last run of a day leaves that day's figure. Returns the rows written.
 */
export async function snapshotSubscriberCounts(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `INSERT INTO subscription_count_days (project_id, day, platform, n)
     SELECT project_id, (now() AT TIME ZONE 'UTC')::date, platform, sum(n) FROM subscription_counts c
     WHERE EXISTS (SELECT 1 FROM projects p WHERE p.id = c.project_id AND p.deleted_at IS NULL)
     GROUP BY project_id, platform
     ON CONFLICT (project_id, day, platform) DO UPDATE SET n = excluded.n`,
  );
  return rowCount ?? 0;
}

/** Forgets a purged project's statistics (they have no foreign key to cascade from, see 0018). */
export async function deleteSubscriberStatistics(db: Queryable, projectId: number): Promise<void> {
  await db.query(`DELETE FROM subscription_counts WHERE project_id = $1`, [projectId]);
  await db.query(`DELETE FROM subscription_count_days WHERE project_id = $1`, [projectId]);
}
