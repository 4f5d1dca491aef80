import type { Project, ProjectQuota, ProjectSettings, QuotaPolicy, RecordDeliveries } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { deleteSubscriberStatistics } from './subscriber-statistics.ts';

interface ProjectRow {
  id: number;
  sender_id: number;
  name: string;
  website: string;
  icon_url: string | null;
  badge_url: string | null;
  notifications_ttl: number;
  notifications_require_interaction: boolean;
  notifications_silent: boolean;
  quota_hourly: number | null;
  quota_daily: number | null;
  quota_policy: QuotaPolicy;
  allowed_origins: string[] | null;
  browser_tags_allowed: string[];
  beams_instance_id: string;
  record_deliveries: RecordDeliveries;
  created_at: Date;
}

const COLUMNS = `id, sender_id, name, website, icon_url, badge_url, notifications_ttl,
  notifications_require_interaction, notifications_silent, quota_hourly, quota_daily, quota_policy, allowed_origins, browser_tags_allowed, beams_instance_id, record_deliveries, created_at`;

const toProject = (r: ProjectRow): Project => ({
  id: r.id,
  senderId: r.sender_id,
  name: r.name,
  website: r.website,
  iconUrl: r.icon_url,
  badgeUrl: r.badge_url,
  notificationsTtl: r.notifications_ttl,
  notificationsRequireInteraction: r.notifications_require_interaction,
  notificationsSilent: r.notifications_silent,
  quota: { hourly: r.quota_hourly, daily: r.quota_daily, policy: r.quota_policy },
  allowedOrigins: r.allowed_origins,
  browserTagsAllowed: r.browser_tags_allowed,
  beamsInstanceId: r.beams_instance_id,
  recordDeliveries: r.record_deliveries,
  createdAt: r.created_at,
});

export type NewProject = ProjectSettings & {
  senderId: number;
  quota?: ProjectQuota;
  /** null or absent = the website's origin. */
  allowedOrigins?: readonly string[] | null;
  browserTagsAllowed?: readonly string[];
  /** Default `failures`. */
  recordDeliveries?: RecordDeliveries;
};

export async function insertProject(db: Queryable, p: NewProject): Promise<Project> {
  const { rows } = await db.query<ProjectRow>(
    `INSERT INTO projects (sender_id, name, website, icon_url, badge_url, notifications_ttl,
       notifications_require_interaction, notifications_silent, quota_hourly, quota_daily, quota_policy,
       allowed_origins, browser_tags_allowed, record_deliveries)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ${COLUMNS}`,
    [
      p.senderId, p.name, p.website, p.iconUrl, p.badgeUrl, p.notificationsTtl, p.notificationsRequireInteraction, p.notificationsSilent,
      p.quota?.hourly ?? null, p.quota?.daily ?? null, p.quota?.policy ?? 'defer',
      p.allowedOrigins ?? null, p.browserTagsAllowed ?? [], p.recordDeliveries ?? 'failures',
    ],
  );
  return toProject(rows[0]!);
}

/** Live projects, optionally only those among `ids` (a scoped token's projects). */
export async function listProjects(db: Queryable, ids?: readonly number[]): Promise<Project[]> {
  const { rows } = await db.query<ProjectRow>(
    `SELECT ${COLUMNS} FROM projects WHERE deleted_at IS NULL AND ($1::bigint[] IS NULL OR id = ANY($1)) ORDER BY id`,
    [ids ?? null],
  );
  return rows.map(toProject);
}

/** The live project that is this Beams instance; an id that is not a UUID finds nothing. */
export async function findProjectByBeamsInstance(db: Queryable, instanceId: string): Promise<Project | null> {
  if (!UUID.test(instanceId)) return null;
  const { rows } = await db.query<ProjectRow>(
    `SELECT ${COLUMNS} FROM projects WHERE beams_instance_id = $1 AND deleted_at IS NULL`,
    [instanceId],
  );
  return rows[0] ? toProject(rows[0]) : null;
}

/**
 * The live project that is this Beams instance, and whether `keyHash` is one of its secret keys
 * (findProjectByBeamsInstance and findProjectSecretKeyByHash in one round trip: the Publish API's).
 */
export async function findProjectByBeamsInstanceWithKey(
  db: Queryable,
  instanceId: string,
  keyHash: Buffer | null,
): Promise<{ project: Project; keyMatches: boolean } | null> {
  if (!UUID.test(instanceId)) return null;
  const { rows } = await db.query<ProjectRow & { key_matches: boolean }>(
    `SELECT ${COLUMNS},
       $2::bytea IS NOT NULL AND EXISTS (SELECT 1 FROM project_secret_keys k WHERE k.key_hash = $2 AND k.project_id = projects.id) AS key_matches
     FROM projects WHERE beams_instance_id = $1 AND deleted_at IS NULL`,
    [instanceId, keyHash],
  );
  return rows[0] ? { project: toProject(rows[0]), keyMatches: rows[0].key_matches } : null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findProject(db: Queryable, id: number): Promise<Project | null> {
  const { rows } = await db.query<ProjectRow>(`SELECT ${COLUMNS} FROM projects WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rows[0] ? toProject(rows[0]) : null;
}

/** A field left undefined is kept; in `quota`, null puts a limit back to the deployment's default. */
export type ProjectPatch = Partial<Omit<NewProject, 'quota'>> & { quota?: Partial<ProjectQuota> };

export async function updateProject(db: Queryable, id: number, patch: ProjectPatch): Promise<Project | null> {
  const { rows } = await db.query<ProjectRow>(
    // A new website (the VAPID subject) or sender (the VAPID key) is what a project whose Web Push
    // sends the push services refused changes to resume them: the hold goes with it.
    `WITH resumed AS (DELETE FROM web_push_rejections WHERE project_id = $1 AND $21::boolean)
     UPDATE projects SET
       sender_id = COALESCE($2, sender_id),
       name = COALESCE($3, name),
       website = COALESCE($4, website),
       icon_url = CASE WHEN $5::boolean THEN $6 ELSE icon_url END,
       badge_url = CASE WHEN $7::boolean THEN $8 ELSE badge_url END,
       notifications_ttl = COALESCE($9, notifications_ttl),
       notifications_require_interaction = COALESCE($10, notifications_require_interaction),
       notifications_silent = COALESCE($11, notifications_silent),
       quota_hourly = CASE WHEN $12::boolean THEN $13 ELSE quota_hourly END,
       quota_daily = CASE WHEN $14::boolean THEN $15 ELSE quota_daily END,
       quota_policy = COALESCE($16, quota_policy),
       allowed_origins = CASE WHEN $17::boolean THEN $18 ELSE allowed_origins END,
       browser_tags_allowed = COALESCE($19, browser_tags_allowed),
       record_deliveries = COALESCE($20, record_deliveries)
     WHERE id = $1 AND deleted_at IS NULL RETURNING ${COLUMNS}`,
    [
      id,
      patch.senderId ?? null,
      patch.name ?? null,
      patch.website ?? null,
      patch.iconUrl !== undefined,
      patch.iconUrl ?? null,
      patch.badgeUrl !== undefined,
      patch.badgeUrl ?? null,
      patch.notificationsTtl ?? null,
      patch.notificationsRequireInteraction ?? null,
      patch.notificationsSilent ?? null,
      patch.quota?.hourly !== undefined,
      patch.quota?.hourly ?? null,
      patch.quota?.daily !== undefined,
      patch.quota?.daily ?? null,
      patch.quota?.policy ?? null,
      patch.allowedOrigins !== undefined,
      patch.allowedOrigins ?? null,
      patch.browserTagsAllowed ?? null,
      patch.recordDeliveries ?? null,
      patch.website !== undefined || patch.senderId !== undefined,
    ],
  );
  return rows[0] ? toProject(rows[0]) : null;
}

/** Hides the project at once; `purgeDeletedProject` removes its data later. */
export async function markProjectDeleted(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE projects SET deleted_at = now() WHERE id = $1 AND deleted_at IS NULL`, [id]);
  return rowCount === 1;
}

export async function listDeletedProjectIds(db: Queryable, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM projects WHERE deleted_at IS NOT NULL ORDER BY deleted_at LIMIT $1`,
    [limit],
  );
  return rows.map((r) => r.id);
}

/**
 * Deletes up to `batch` rows of a deleted project's subscriptions; once none are left, the project
 * itself (its notifications cascade). Returns true when the project is gone. Small batches keep
 * each transaction short however large the audience.
 */
export async function purgeDeletedProject(db: Queryable, id: number, batch: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `DELETE FROM subscriptions WHERE id IN (
       SELECT s.id FROM subscriptions s JOIN projects p ON p.id = s.project_id
       WHERE s.project_id = $1 AND p.deleted_at IS NOT NULL LIMIT $2)`,
    [id, batch],
  );
  if ((rowCount ?? 0) > 0) return false;
  const { rowCount: gone } = await db.query(`DELETE FROM projects WHERE id = $1 AND deleted_at IS NOT NULL`, [id]);
  // Its statistics have no foreign key to cascade from (migration 0018 says why).
  if (gone === 1) await deleteSubscriberStatistics(db, id);
  return true;
}
