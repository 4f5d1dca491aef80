import type { Platform } from '@pushcast/domain';
import type { Queryable } from './db.ts';

/**
 * Beams devices (migration 0016): a Beams device id and SDK metadata beside a subscription, which
 * holds the rest (interests = tags, user = uid). Statements for the Beams use cases of the core.
 */

export interface BeamsDevice {
  readonly id: string;
  readonly subscriptionId: number;
  readonly platform: Platform;
  readonly userId: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
}

interface BeamsDeviceRow {
  id: string;
  subscription_id: number;
  platform: Platform;
  uid: string | null;
  metadata: Record<string, unknown>;
}

const toDevice = (r: BeamsDeviceRow): BeamsDevice => ({
  id: r.id,
  subscriptionId: r.subscription_id,
  platform: r.platform,
  userId: r.uid,
  metadata: r.metadata,
});

/** Makes `subscriptionId` the device `id` (a new id replaces the subscription's previous one). */
export async function saveBeamsDevice(
  db: Queryable,
  d: { projectId: number; id: string; subscriptionId: number; metadata: Readonly<Record<string, unknown>> },
): Promise<void> {
  await db.query(
    `INSERT INTO beams_devices (project_id, id, subscription_id, metadata) VALUES ($1, $2, $3, $4)
     ON CONFLICT (subscription_id) DO UPDATE SET id = EXCLUDED.id, metadata = EXCLUDED.metadata, created_at = now()`,
    [d.projectId, d.id, d.subscriptionId, JSON.stringify(d.metadata)],
  );
}

/** The device `id` in the project, of `platform` when one is given. */
export async function findBeamsDevice(db: Queryable, projectId: number, platform: Platform | null, id: string): Promise<BeamsDevice | null> {
  const { rows } = await db.query<BeamsDeviceRow>(
    `SELECT d.id, d.subscription_id, s.platform, s.uid, d.metadata
     FROM beams_devices d JOIN subscriptions s ON s.id = d.subscription_id
     WHERE d.project_id = $1 AND d.id = $2 AND ($3::text IS NULL OR s.platform = $3) AND s.state = 'active'`,
    [projectId, id, platform],
  );
  return rows[0] ? toDevice(rows[0]) : null;
}

/** The notification a dialect knows by `externalId` (Beams' publishId) in the project. */
export async function findNotificationIdByExternalId(db: Queryable, projectId: number, externalId: string): Promise<number | null> {
  const { rows } = await db.query<{ id: number }>(`SELECT id FROM notifications WHERE project_id = $1 AND external_id = $2`, [projectId, externalId]);
  return rows[0]?.id ?? null;
}

export async function setBeamsDeviceMetadata(db: Queryable, projectId: number, id: string, metadata: Readonly<Record<string, unknown>>): Promise<void> {
  await db.query(`UPDATE beams_devices SET metadata = $3 WHERE project_id = $1 AND id = $2`, [projectId, id, JSON.stringify(metadata)]);
}

/** A device's interests (its subscription's tags), in order, after `cursor`, at most `limit`. */
export async function beamsDeviceInterests(db: Queryable, subscriptionId: number, after: string | null, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ tag: string }>(
    `SELECT tag FROM subscriptions s, unnest(s.tags) AS tag
     WHERE s.id = $1 AND ($2::text IS NULL OR tag COLLATE "C" > $2) ORDER BY tag COLLATE "C" LIMIT $3`,
    [subscriptionId, after, limit],
  );
  return rows.map((r) => r.tag);
}

/** Adds one interest unless the device has it or already has `max`; false when it was at `max` without it. */
export async function addBeamsDeviceInterest(db: Queryable, subscriptionId: number, interest: string, max: number): Promise<boolean> {
  const { rows } = await db.query<{ ok: boolean }>(
    `WITH s AS (SELECT tags FROM subscriptions WHERE id = $1 FOR UPDATE),
     u AS (
       UPDATE subscriptions SET tags = array_append(tags, $2), updated_at = now()
       WHERE id = $1 AND NOT ($2 = ANY(tags)) AND cardinality(tags) < $3 RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM u) OR EXISTS (SELECT 1 FROM s WHERE $2 = ANY(s.tags)) AS ok`,
    [subscriptionId, interest, max],
  );
  return rows[0]?.ok ?? false;
}

export async function removeBeamsDeviceInterest(db: Queryable, subscriptionId: number, interest: string): Promise<void> {
  await db.query(`UPDATE subscriptions SET tags = array_remove(tags, $2), updated_at = now() WHERE id = $1 AND $2 = ANY(tags)`, [subscriptionId, interest]);
}

export async function setBeamsDeviceInterests(db: Queryable, subscriptionId: number, interests: readonly string[]): Promise<void> {
  await db.query(`UPDATE subscriptions SET tags = $2, updated_at = now() WHERE id = $1`, [subscriptionId, interests]);
}

export async function setBeamsDeviceToken(db: Queryable, subscriptionId: number, token: string): Promise<'updated' | 'taken'> {
  try {
    await db.query(`UPDATE subscriptions SET device_token = $2, updated_at = now() WHERE id = $1`, [subscriptionId, token]);
    return 'updated';
  } catch (error) {
    // Another subscription of the project has that token already (unique per project and platform).
    if ((error as { code?: string }).code === '23505') return 'taken';
    throw error;
  }
}

export type BindUserOutcome = 'bound' | 'other_user' | 'too_many_devices';

/**
 * Binds the device's subscription to `userId`: the same user again is fine, another is refused, and
 * so is a user who has `maxPerPlatform` devices of its platform already. The subscription row is
 * locked first, so two binds of one device do not both pass.
 */
export async function bindBeamsDeviceUser(db: Queryable, projectId: number, subscriptionId: number, userId: string, maxPerPlatform: number): Promise<BindUserOutcome> {
  const { rows } = await db.query<{ uid: string | null; platform: Platform }>(`SELECT uid, platform FROM subscriptions WHERE id = $1 FOR UPDATE`, [subscriptionId]);
  const current = rows[0];
  if (!current) return 'other_user';
  if (current.uid === userId) return 'bound';
  if (current.uid !== null) return 'other_user';
  const { rows: counted } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM subscriptions WHERE project_id = $1 AND uid = $2 AND platform = $3 AND state = 'active'`,
    [projectId, userId, current.platform],
  );
  if (counted[0]!.n >= maxPerPlatform) return 'too_many_devices';
  await db.query(`UPDATE subscriptions SET uid = $2, updated_at = now() WHERE id = $1`, [subscriptionId, userId]);
  return 'bound';
}

/** Deletes every subscription of the user in the project (all platforms); the number deleted. */
export async function deleteUserSubscriptions(db: Queryable, projectId: number, userId: string): Promise<number> {
  const { rowCount } = await db.query(`DELETE FROM subscriptions WHERE project_id = $1 AND uid = $2`, [projectId, userId]);
  return rowCount ?? 0;
}
