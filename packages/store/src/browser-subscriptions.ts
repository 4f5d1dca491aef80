import type { Subscription } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { SUBSCRIPTION_COLUMNS, toSubscription, type SubscriptionRow } from './subscriptions.ts';

/**
 * Queries of the browser endpoints (no access token): a browser names its subscription by its
 * endpoint and proves it with the auth secret, which the caller compares.
 */

/** A project's web subscription with this endpoint; `forUpdate` locks it until the transaction ends. */
export async function findWebSubscriptionByEndpoint(
  db: Queryable,
  projectId: number,
  endpoint: string,
  opts: { forUpdate?: boolean } = {},
): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE project_id = $1 AND platform = 'web' AND endpoint = $2
     ${opts.forUpdate ? 'FOR UPDATE' : ''}`,
    [projectId, endpoint],
  );
  return rows[0] ? toSubscription(rows[0]) : null;
}

/**
 * A new browser subscription, or null when the endpoint is already subscribed (a racing twin
 * inserted it first): the caller then proves and updates that one, never overwriting its keys.
 */
export async function insertBrowserSubscription(
  db: Queryable,
  s: { projectId: number; endpoint: string; p256dh: string; auth: string; uid: string | null; tags: readonly string[] },
): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `INSERT INTO subscriptions (project_id, platform, endpoint, p256dh, auth, uid, tags)
     VALUES ($1, 'web', $2, $3, $4, $5, $6)
     ON CONFLICT (project_id, endpoint) WHERE platform = 'web' DO NOTHING
     RETURNING ${SUBSCRIPTION_COLUMNS}`,
    [s.projectId, s.endpoint, s.p256dh, s.auth, s.uid, s.tags],
  );
  return rows[0] ? toSubscription(rows[0]) : null;
}

/**
 * The HMAC key states of the live tokens that may sign uids for a project: those scoped to it.
 * Not admin tokens: `signature_for(uid)` does not name the project, so a uid signed with a token
 * valid everywhere would let a visitor of one site claim the same uid in every other project.
 */
export async function listUidSigningStates(db: Queryable, projectId: number): Promise<Buffer[]> {
  const { rows } = await db.query<{ hmac_key_state: Buffer }>(
    `SELECT hmac_key_state FROM access_tokens WHERE revoked_at IS NULL AND $1 = ANY(project_ids)`,
    [projectId],
  );
  return rows.map((r) => r.hmac_key_state);
}
