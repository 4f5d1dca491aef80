import type { Subscription } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { SUBSCRIPTION_COLUMNS, toSubscription, type SubscriptionRow } from './subscriptions.ts';

/**
 * Queries of the browser endpoints (no access token): a browser names its subscription by its
 * endpoint and proves it with the auth secret, which the caller compares.
 */

/**
 * A project's web subscription with this endpoint, active (or in any state with `anyState`: the row
 * a subscribe must make active again); `forUpdate` locks it until the transaction ends.
 */
export async function findWebSubscriptionByEndpoint(
  db: Queryable,
  projectId: number,
  endpoint: string,
  opts: { forUpdate?: boolean; anyState?: boolean } = {},
): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE project_id = $1 AND platform = 'web' AND endpoint = $2
     ${opts.anyState ? '' : `AND state = 'active'`} ${opts.forUpdate ? 'FOR UPDATE' : ''}`,
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
  s: NewBrowserSubscription,
): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `INSERT INTO subscriptions (project_id, platform, endpoint, p256dh, auth, uid, tags, user_email, user_agent)
     VALUES ($1, 'web', $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (project_id, endpoint) WHERE platform = 'web' DO NOTHING
     RETURNING ${SUBSCRIPTION_COLUMNS}`,
    [s.projectId, s.endpoint, s.p256dh, s.auth, s.uid, s.tags, s.userEmail, s.userAgent],
  );
  return rows[0] ? toSubscription(rows[0]) : null;
}

export interface NewBrowserSubscription {
  readonly projectId: number;
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
  readonly uid: string | null;
  readonly tags: readonly string[];
  readonly userEmail: string | null;
  readonly userAgent: string | null;
}

/**
 * A gone subscription (expired, unregistered) with this endpoint registered again by a browser:
 * active again with what the browser gives now (its keys, uid, tags), as a new one would be.
 */
export async function reviveBrowserSubscription(db: Queryable, id: number, s: NewBrowserSubscription): Promise<Subscription> {
  const { rows } = await db.query<SubscriptionRow>(
    `UPDATE subscriptions SET p256dh = $2, auth = $3, uid = $4, tags = $5, user_email = $6, user_agent = $7,
       state = 'active', state_changed_at = now(), updated_at = now()
     WHERE id = $1 RETURNING ${SUBSCRIPTION_COLUMNS}`,
    [id, s.p256dh, s.auth, s.uid, s.tags, s.userEmail, s.userAgent],
  );
  return toSubscription(rows[0]!);
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
