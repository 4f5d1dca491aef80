import { addStats, emptyStats, type DevicePlatform, type NotificationStats, type Platform } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { NOTIFICATION_DONE_CHANNEL } from './notification-completions.ts';
import { SqlParams } from './sql-params.ts';
import { audienceWhere, retireSubscriptions, type AudienceFilter } from './subscriptions.ts';

export interface Chunk {
  readonly notificationId: number;
  readonly index: number;
  readonly platform: Platform;
  readonly firstId: number;
  readonly lastId: number;
  readonly size: number;
}

interface ChunkRow {
  notification_id: number;
  chunk_index: number;
  platform: Platform;
  first_id: number;
  last_id: number;
  size: number;
}

const toChunk = (r: ChunkRow): Chunk => ({
  notificationId: r.notification_id,
  index: r.chunk_index,
  platform: r.platform,
  firstId: r.first_id,
  lastId: r.last_id,
  size: r.size,
});

/**
 * The ids of the next `limit` recipients after `afterId`, walking the audience by keyset on
 * (project_id, id): cost per page stays flat however far into a large audience the planner is.
 */
export async function nextAudienceIds(
  db: Queryable,
  filter: AudienceFilter,
  platform: Platform,
  afterId: number,
  limit: number,
): Promise<number[]> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM subscriptions WHERE ${where} AND platform = ${params.add(platform)} AND id > ${params.add(afterId)}
     ORDER BY id LIMIT ${params.add(limit)}`,
    params.values,
  );
  return rows.map((r) => r.id);
}

/**
 * Records a round of planned chunks in one statement (each platform's cursor is the highest
 * `last_id` of its chunks, so chunks and cursors move together). Returns false when not all of
 * them were new: another planner run of the same notification got there first (a stalled job taken
 * over), and this one must stop; or the notification was cancelled (or finished) meanwhile, whose
 * chunks would never be sent.
 */
export async function recordChunks(db: Queryable, notificationId: number, chunks: readonly Chunk[]): Promise<boolean> {
  if (chunks.length === 0) return true;
  const { rowCount } = await db.query(
    `INSERT INTO notification_chunks (notification_id, chunk_index, platform, first_id, last_id, size)
     SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bigint[], $5::bigint[], $6::int[])
     WHERE EXISTS (SELECT 1 FROM notifications WHERE id = $1 AND status NOT IN ('cancelled', 'sent'))
     ON CONFLICT DO NOTHING`,
    [
      notificationId,
      chunks.map((c) => c.index),
      chunks.map((c) => c.platform),
      chunks.map((c) => c.firstId),
      chunks.map((c) => c.lastId),
      chunks.map((c) => c.size),
    ],
  );
  return rowCount === chunks.length;
}

/** Each platform's planner cursor: the last subscription id in its chunks (0 before the first). */
export async function plannedThrough(db: Queryable, notificationId: number): Promise<Record<Platform, number>> {
  const { rows } = await db.query<{ platform: Platform; last: number }>(
    `SELECT platform, max(last_id) AS last FROM notification_chunks WHERE notification_id = $1 GROUP BY platform`,
    [notificationId],
  );
  const through: Record<Platform, number> = { web: 0, apns: 0, fcm: 0 };
  for (const r of rows) through[r.platform] = r.last;
  return through;
}

export async function lastChunkIndex(db: Queryable, notificationId: number): Promise<number> {
  const { rows } = await db.query<{ i: number | null }>(
    `SELECT max(chunk_index) AS i FROM notification_chunks WHERE notification_id = $1`,
    [notificationId],
  );
  return rows[0]?.i ?? -1;
}

/**
 * Planning is over: the exact audience size becomes `scheduled_count`. `planned` is false if it
 * was cancelled meanwhile; `notificationSent` true when there was nothing to send (it is over).
 */
export async function finishPlanning(db: Queryable, notificationId: number): Promise<{ planned: boolean; notificationSent: boolean }> {
  const { rowCount } = await db.query(
    `UPDATE notifications SET status = 'sending', planned_at = now(), updated_at = now(),
       scheduled_count = (SELECT COALESCE(sum(size), 0) FROM notification_chunks WHERE notification_id = $1)
     WHERE id = $1 AND status IN ('queued', 'scheduled', 'planning')`,
    [notificationId],
  );
  const notificationSent = await completeNotificationIfDone(db, notificationId);
  return { planned: rowCount === 1, notificationSent };
}

export async function findChunk(db: Queryable, notificationId: number, index: number): Promise<(Chunk & { status: string }) | null> {
  const { rows } = await db.query<ChunkRow & { status: string }>(
    `SELECT notification_id, chunk_index, platform, first_id, last_id, size, status
     FROM notification_chunks WHERE notification_id = $1 AND chunk_index = $2`,
    [notificationId, index],
  );
  return rows[0] ? { ...toChunk(rows[0]), status: rows[0].status } : null;
}

export async function pendingChunks(db: Queryable, notificationId: number): Promise<Chunk[]> {
  const { rows } = await db.query<ChunkRow>(
    `SELECT notification_id, chunk_index, platform, first_id, last_id, size
     FROM notification_chunks WHERE notification_id = $1 AND status = 'pending' ORDER BY chunk_index`,
    [notificationId],
  );
  return rows.map(toChunk);
}

/**
 * Marks a chunk done with its outcome counts (once: a re-run changes nothing), then the
 * notification sent when it was the last one. Returns whether this call completed the chunk, and
 * whether it completed the notification.
 */
export async function completeChunk(
  db: Queryable,
  notificationId: number,
  index: number,
  stats: NotificationStats,
): Promise<{ chunkDone: boolean; notificationSent: boolean }> {
  const { rowCount } = await db.query(
    `UPDATE notification_chunks SET status = 'done', completed_at = now(),
       delivered = $3, pruned = $4, expired = $5, failed = $6
     WHERE notification_id = $1 AND chunk_index = $2 AND status = 'pending'`,
    [notificationId, index, stats.delivered, stats.pruned, stats.expired, JSON.stringify(stats.failed)],
  );
  // After the commit, not in the same transaction: two last chunks finishing together would each
  // see the other still pending. Each looks after its own commit, so the later one sees both. A
  // crash in between is healed by the reconciler, which completes 'sending' notifications with
  // nothing pending.
  const notificationSent = await completeNotificationIfDone(db, notificationId);
  return { chunkDone: rowCount === 1, notificationSent };
}

/**
 * Marks a notification sent when nothing of it is pending; true if this call did. The same
 * statement emits `notification.completed` with its counts (webhooks' outbox), so the event exists
 * exactly when the notification is sent; and for a Beams publish to users, Beams'
 * `v1.PublishToUsersAttempt` from its delivery records.
 */
export async function completeNotificationIfDone(db: Queryable, notificationId: number): Promise<boolean> {
  const { rows } = await db.query(
    `WITH sent AS (
       UPDATE notifications SET status = 'sent', completed_at = now(), updated_at = now()
       WHERE id = $1 AND status = 'sending' AND planned_at IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM notification_chunks WHERE notification_id = $1 AND status = 'pending')
       RETURNING id, project_id, completed_at, external_id, target_uids, send_at, created_at)
     SELECT pushcast_emit_event(project_id, 'notification.completed',
              pushcast_notification_counts(id) || jsonb_build_object('completed_at', completed_at),
              'notification.completed:' || id),
            pg_notify('${NOTIFICATION_DONE_CHANNEL}', id::text),
            -- A Beams publish to users: its per-user results, for Beams' webhooks.
            CASE WHEN starts_with(external_id, 'pubid-') AND target_uids IS NOT NULL THEN
              pushcast_emit_event(project_id, 'v1.PublishToUsersAttempt',
                pushcast_beams_users_attempt(id, project_id, external_id, (COALESCE(send_at, created_at) AT TIME ZONE 'UTC')::date, target_uids),
                'v1.PublishToUsersAttempt:' || id)
            END
     FROM sent`,
    [notificationId],
  );
  return rows.length === 1;
}

/**
 * The first chunk of a notification starts sending: `sending_at` is set once, and the same
 * statement emits `notification.sending`. Later chunks find it set and change nothing.
 */
export async function markNotificationSending(db: Queryable, notificationId: number): Promise<void> {
  await db.query(
    `WITH started AS (
       UPDATE notifications SET sending_at = now() WHERE id = $1 AND sending_at IS NULL RETURNING id, project_id, sending_at)
     SELECT pushcast_emit_event(project_id, 'notification.sending',
              jsonb_build_object('notification_id', id, 'project_id', project_id, 'sending_at', sending_at),
              'notification.sending:' || id)
     FROM started`,
    [notificationId],
  );
}

export interface PlatformChunkStats {
  /** Recipients planned on this platform (chunk sizes). */
  readonly planned: number;
  /** Outcome counts of its chunks that are over. */
  readonly stats: NotificationStats;
}

/**
 * Outcome counts of the chunks that are over (done or cancelled), in all and per platform, the
 * number planned per platform, and which chunk indexes are over.
 */
export async function completedChunkStats(
  db: Queryable,
  notificationId: number,
): Promise<{ stats: NotificationStats; byPlatform: Record<Platform, PlatformChunkStats>; doneIndexes: Set<number> }> {
  const { rows } = await db.query<{
    chunk_index: number;
    platform: Platform;
    size: number;
    status: string;
    delivered: number;
    pruned: number;
    expired: number;
    failed: Record<string, number>;
  }>(
    `SELECT chunk_index, platform, size, status, delivered, pruned, expired, failed FROM notification_chunks
     WHERE notification_id = $1`,
    [notificationId],
  );
  const planned: Record<Platform, number> = { web: 0, apns: 0, fcm: 0 };
  const byPlatform: Record<Platform, NotificationStats> = { web: emptyStats(), apns: emptyStats(), fcm: emptyStats() };
  const doneIndexes = new Set<number>();
  for (const r of rows) {
    planned[r.platform] += r.size;
    if (r.status === 'pending') continue;
    doneIndexes.add(r.chunk_index);
    byPlatform[r.platform] = addStats(byPlatform[r.platform], { delivered: r.delivered, pruned: r.pruned, expired: r.expired, failed: r.failed });
  }
  const stats = addStats(addStats(byPlatform.web, byPlatform.apns), byPlatform.fcm);
  const per = (p: Platform): PlatformChunkStats => ({ planned: planned[p], stats: byPlatform[p] });
  return { stats, byPlatform: { web: per('web'), apns: per('apns'), fcm: per('fcm') }, doneIndexes };
}

/** A chunk's recipients that are still subscribed and still in the audience. */
export interface WebRecipient {
  readonly id: number;
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
}

export async function loadWebRecipients(db: Queryable, filter: AudienceFilter, chunk: Chunk): Promise<WebRecipient[]> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<WebRecipient>(
    `SELECT id, endpoint, p256dh, auth FROM subscriptions
     WHERE ${where} AND platform = 'web' AND id BETWEEN ${params.add(chunk.firstId)} AND ${params.add(chunk.lastId)}
     ORDER BY id`,
    params.values,
  );
  return rows;
}

/** A chunk's APNs or FCM devices that are still subscribed and still in the audience. */
export interface DeviceRecipient {
  readonly id: number;
  readonly token: string;
}

export async function loadDeviceRecipients(
  db: Queryable,
  filter: AudienceFilter,
  chunk: Chunk,
  platform: DevicePlatform,
): Promise<DeviceRecipient[]> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<DeviceRecipient>(
    `SELECT id, device_token AS token FROM subscriptions
     WHERE ${where} AND platform = ${params.add(platform)} AND id BETWEEN ${params.add(chunk.firstId)} AND ${params.add(chunk.lastId)}
     ORDER BY id`,
    params.values,
  );
  return rows;
}

/**
 * The subscriptions a push service said are gone: kept as `expired` (listed for 30 days, never
 * targeted again; purgeGoneSubscriptions deletes them after).
 */
export async function expireSubscriptionsByIds(db: Queryable, projectId: number, ids: readonly number[]): Promise<void> {
  await retireSubscriptions(db, projectId, ids, 'expired');
}

/** A chunk cancelled while it ran keeps the counts of what it had sent. */
export async function saveCancelledChunkStats(db: Queryable, notificationId: number, index: number, stats: NotificationStats): Promise<void> {
  await db.query(
    `UPDATE notification_chunks SET delivered = $3, pruned = $4, expired = $5, failed = $6, completed_at = now()
     WHERE notification_id = $1 AND chunk_index = $2 AND status = 'cancelled'`,
    [notificationId, index, stats.delivered, stats.pruned, stats.expired, JSON.stringify(stats.failed)],
  );
}
