import type { Queryable } from './db.ts';

/**
 * Web Push's side of the credential breaker (table `web_push_rejections`, migration 0020): a
 * project whose VAPID key and subject the push services kept refusing. The row names what was
 * refused by its fingerprint, so that a project now sending with another key or subject is not
 * held by it; changing the project's website or sender clears it (`updateProject`).
 */
export interface WebPushRejection {
  readonly fingerprint: string;
  readonly reason: string;
  readonly rejectedAt: Date;
}

/**
 * What a project's Web Push sends are signed with now (its website, the VAPID subject, and its
 * sender, the VAPID key) and the fingerprint its hold names, read in one statement: a chunk run
 * that read its project before a new website lifted the hold would otherwise sign with the old
 * one, unheld. Null for a project deleted.
 */
export interface WebPushSigning {
  readonly website: string;
  readonly senderId: number;
  readonly rejectedFingerprint: string | null;
}

export async function findWebPushSigning(db: Queryable, projectId: number): Promise<WebPushSigning | null> {
  const { rows } = await db.query<{ website: string; sender_id: number; fingerprint: string | null }>(
    `SELECT p.website, p.sender_id, r.fingerprint
     FROM projects p LEFT JOIN web_push_rejections r ON r.project_id = p.id
     WHERE p.id = $1 AND p.deleted_at IS NULL`,
    [projectId],
  );
  const r = rows[0];
  return r ? { website: r.website, senderId: Number(r.sender_id), rejectedFingerprint: r.fingerprint } : null;
}

/** These projects' rejections (projects without one are absent). */
export async function listWebPushRejections(db: Queryable, projectIds: readonly number[]): Promise<Map<number, WebPushRejection>> {
  const result = new Map<number, WebPushRejection>();
  if (projectIds.length === 0) return result;
  const { rows } = await db.query<{ project_id: string; fingerprint: string; reason: string; rejected_at: Date }>(
    `SELECT project_id, fingerprint, reason, rejected_at FROM web_push_rejections WHERE project_id = ANY($1::bigint[])`,
    [projectIds],
  );
  for (const r of rows) result.set(Number(r.project_id), { fingerprint: r.fingerprint, reason: r.reason, rejectedAt: r.rejected_at });
  return result;
}

/**
 * Marks the project's VAPID key and subject (`fingerprint`) rejected and emits
 * `credentials.rejected` (platform `web`) in the same statement, once: a project already held for
 * the same fingerprint is left as it is, and so is one whose website or sender is no longer
 * `signedWith` (it moved on while the refused sends were in flight). Returns true when this call
 * marked it.
 */
export async function rejectWebPush(
  db: Queryable,
  projectId: number,
  fingerprint: string,
  reason: string,
  signedWith: Pick<WebPushSigning, 'website' | 'senderId'>,
): Promise<boolean> {
  const { rows } = await db.query<{ id: string | null }>(
    `WITH r AS (
       INSERT INTO web_push_rejections (project_id, fingerprint, reason)
       SELECT $1, $2, $3 FROM projects WHERE id = $1 AND website = $4 AND sender_id = $5 AND deleted_at IS NULL
       ON CONFLICT (project_id) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, reason = EXCLUDED.reason, rejected_at = now()
         WHERE web_push_rejections.fingerprint <> EXCLUDED.fingerprint
       RETURNING project_id, reason, rejected_at)
     SELECT pushcast_emit_event(r.project_id, 'credentials.rejected',
              jsonb_build_object('project_id', r.project_id, 'platform', 'web', 'reason', r.reason,
                                 'rejected_at', r.rejected_at, 'credentials_updated_at', NULL),
              'credentials.rejected:' || r.project_id || ':web:' || extract(epoch FROM r.rejected_at)) AS id
     FROM r`,
    [projectId, fingerprint, reason, signedWith.website, signedWith.senderId],
  );
  return rows.length === 1;
}
