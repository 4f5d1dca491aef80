import type { DevicePlatform, Platform, Subscription, SubscriptionState, TagExpr } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { SqlParams } from './sql-params.ts';
import { tagExprToSql } from './tag-sql.ts';

interface SubscriptionRow {
  id: number;
  project_id: number;
  platform: Platform;
  endpoint: string | null;
  p256dh: string | null;
  auth: string | null;
  device_token: string | null;
  uid: string | null;
  tags: string[];
  user_email: string | null;
  state: SubscriptionState;
  state_changed_at: Date | null;
  user_agent: string | null;
  last_click_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS =
  'id, project_id, platform, endpoint, p256dh, auth, device_token, uid, tags, user_email, state, state_changed_at, user_agent, last_click_at, created_at, updated_at';

const toSubscription = (r: SubscriptionRow): Subscription => ({
  id: r.id,
  projectId: r.project_id,
  platform: r.platform,
  endpoint: r.endpoint,
  p256dh: r.p256dh,
  auth: r.auth,
  deviceToken: r.device_token,
  uid: r.uid,
  tags: r.tags,
  userEmail: r.user_email,
  state: r.state,
  stateChangedAt: r.state_changed_at,
  userAgent: r.user_agent,
  lastClickAt: r.last_click_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface AudienceFilter {
  readonly projectId: number;
  /** Only these uids (uids that are not subscribed simply match nothing). */
  readonly uids?: readonly string[] | undefined;
  /** A parsed tag filter; null or undefined = no tag condition. */
  readonly tags?: TagExpr | null | undefined;
  /** Only subscriptions of this platform; undefined = every platform. */
  readonly platform?: Platform | undefined;
  /** Only subscriptions of these platforms (a notification with exact payloads); undefined = every platform. */
  readonly platforms?: readonly Platform[] | undefined;
  /** Only subscriptions with one of these user emails, compared case-insensitively. */
  readonly emails?: readonly string[] | undefined;
  /** Only these subscriptions (ids of the project's; others match nothing). */
  readonly ids?: readonly number[] | undefined;
  /**
   * Subscriptions in these states; undefined = active only. Only lists of clients (CloudSignal) ask
   * for others: an audience never does, so a gone subscription is never targeted nor counted.
   */
  readonly states?: readonly SubscriptionState[] | undefined;
  /** Only active subscriptions last seen (registered again, or clicked) before this (`true`) or since (`false`): CloudSignal's inactive. */
  readonly seenBefore?: { readonly at: Date; readonly before: boolean } | undefined;
}

/** The WHERE clause for an audience, with its values in `params`. */
export function audienceWhere(filter: AudienceFilter, params: SqlParams): string {
  const parts = [`project_id = ${params.add(filter.projectId)}`];
  parts.push(filter.states === undefined ? `state = 'active'` : `state = ANY(${params.add(filter.states)}::text[])`);
  if (filter.seenBefore !== undefined) {
    parts.push(`state = 'active' AND GREATEST(updated_at, last_click_at) ${filter.seenBefore.before ? '<' : '>='} ${params.add(filter.seenBefore.at)}`);
  }
  if (filter.platform !== undefined) parts.push(`platform = ${params.add(filter.platform)}`);
  if (filter.platforms !== undefined) parts.push(`platform = ANY(${params.add(filter.platforms)}::text[])`);
  if (filter.uids !== undefined) parts.push(`uid = ANY(${params.add(filter.uids)}::text[])`);
  if (filter.emails !== undefined) {
    parts.push(`user_email IS NOT NULL AND lower(user_email) = ANY(${params.add(filter.emails.map((e) => e.toLowerCase()))}::text[])`);
  }
  if (filter.ids !== undefined) parts.push(`id = ANY(${params.add(filter.ids)}::bigint[])`);
  if (filter.tags) parts.push(tagExprToSql(filter.tags, 'tags', params));
  return parts.join(' AND ');
}

export interface NewWebSubscription {
  readonly projectId: number;
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
  readonly uid: string | null;
  readonly tags: readonly string[];
  /** Undefined keeps what an existing row has; null clears it. */
  readonly userEmail?: string | null | undefined;
  /** The registering browser's User-Agent, when a browser registered it; undefined/null keeps the row's. */
  readonly userAgent?: string | null | undefined;
}

/** Registering a gone subscription (expired, unregistered) again makes it active again. */
export const REVIVE = `state = 'active', state_changed_at = CASE WHEN subscriptions.state = 'active' THEN subscriptions.state_changed_at ELSE now() END`;

/** Imports a browser subscription; the same endpoint again updates the existing row. */
export async function upsertWebSubscription(db: Queryable, s: NewWebSubscription): Promise<Subscription> {
  const { rows } = await db.query<SubscriptionRow>(
    `INSERT INTO subscriptions (project_id, platform, endpoint, p256dh, auth, uid, tags, user_email, user_agent)
     VALUES ($1, 'web', $2, $3, $4, $5, $6, $7, $9)
     ON CONFLICT (project_id, endpoint) WHERE platform = 'web'
     DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth, uid = EXCLUDED.uid, tags = EXCLUDED.tags,
                   user_email = CASE WHEN $8::boolean THEN EXCLUDED.user_email ELSE subscriptions.user_email END,
                   user_agent = COALESCE(EXCLUDED.user_agent, subscriptions.user_agent),
                   ${REVIVE}, updated_at = now()
     RETURNING ${COLUMNS}`,
    [s.projectId, s.endpoint, s.p256dh, s.auth, s.uid, s.tags, s.userEmail ?? null, s.userEmail !== undefined, s.userAgent ?? null],
  );
  return toSubscription(rows[0]!);
}

export interface NewDeviceSubscription {
  readonly projectId: number;
  readonly platform: DevicePlatform;
  /** APNs: lower-case hex; FCM: the registration token (checked by the caller). */
  readonly token: string;
  readonly uid: string | null;
  readonly tags: readonly string[];
  /** Undefined keeps what an existing row has; null clears it. */
  readonly userEmail?: string | null | undefined;
}

/** Imports an APNs or FCM device; the same (project, platform, token) again updates the existing row. */
export async function upsertDeviceSubscription(db: Queryable, s: NewDeviceSubscription): Promise<Subscription> {
  const { rows } = await db.query<SubscriptionRow>(
    `INSERT INTO subscriptions (project_id, platform, device_token, uid, tags, user_email)
     VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (project_id, platform, device_token) WHERE platform <> 'web'
     DO UPDATE SET uid = EXCLUDED.uid, tags = EXCLUDED.tags,
                   user_email = CASE WHEN $7::boolean THEN EXCLUDED.user_email ELSE subscriptions.user_email END,
                   ${REVIVE}, updated_at = now()
     RETURNING ${COLUMNS}`,
    [s.projectId, s.platform, s.token, s.uid, s.tags, s.userEmail ?? null, s.userEmail !== undefined],
  );
  return toSubscription(rows[0]!);
}

export async function listSubscriptions(
  db: Queryable,
  filter: AudienceFilter,
  page: { readonly page: number; readonly perPage: number },
): Promise<Subscription[]> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE ${where} ORDER BY id
     LIMIT ${params.add(page.perPage)} OFFSET ${params.add((page.page - 1) * page.perPage)}`,
    params.values,
  );
  return rows.map(toSubscription);
}

/** A page by offset (CloudSignal's `limit`/`offset`) in id order, with the filter's total. */
export async function listSubscriptionsWindow(
  db: Queryable,
  filter: AudienceFilter,
  window: { readonly limit: number; readonly offset: number },
): Promise<{ readonly subscriptions: Subscription[]; readonly total: number }> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const [page, total] = await Promise.all([
    db.query<SubscriptionRow>(
      `SELECT ${COLUMNS} FROM subscriptions WHERE ${where} ORDER BY id LIMIT ${params.add(window.limit)} OFFSET ${params.add(window.offset)}`,
      params.values,
    ),
    countSubscriptions(db, filter),
  ]);
  return { subscriptions: page.rows.map(toSubscription), total };
}

/**
 * Deliveries recorded per subscription (delivery records of outcome `delivered`, kept for the
 * records' retention: every delivery where the project records `all`, and every synchronous send's).
 */
export async function deliveredCounts(db: Queryable, projectId: number, ids: readonly number[]): Promise<Map<number, number>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<{ id: number; n: number }>(
    `SELECT subscription_id AS id, count(*)::bigint AS n FROM delivery_records
     WHERE project_id = $1 AND subscription_id = ANY($2::bigint[]) AND outcome = 'delivered' GROUP BY subscription_id`,
    [projectId, ids],
  );
  return new Map(rows.map((r) => [r.id, r.n]));
}

export type ExportLineFormat = 'ndjson' | 'csv';

/**
 * A subscription as an export reads it: id (the cursor), platform, endpoint, p256dh, auth, device
 * token, uid, the tags already in the format's form (a JSON array for NDJSON, joined by spaces
 * for CSV: PostgreSQL writes either faster than Node parses an array literal), and user_email.
 */
export type ExportRow = [
  id: string,
  platform: string,
  endpoint: string | null,
  p256dh: string | null,
  auth: string | null,
  token: string | null,
  uid: string | null,
  tags: string,
  userEmail: string | null,
];

const EXPORT_TAGS: Record<ExportLineFormat, string> = { ndjson: 'array_to_json(tags)::text', csv: "array_to_string(tags, ' ')" };

/**
 * The next page of an export after `afterId`, in id order (a keyset cursor: every page costs the
 * same, whatever the project's size, and no snapshot or connection is held between pages, however
 * slowly the client reads). Plain columns, as arrays: the API renders the lines, which is 2-3×
 * cheaper than json_build_object per row in PostgreSQL (docs/benchmarks.md).
 */
export async function exportRows(
  db: Queryable,
  filter: AudienceFilter,
  format: ExportLineFormat,
  afterId: number,
  limit: number,
): Promise<ExportRow[]> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<ExportRow>({
    text: `SELECT id, platform, endpoint, p256dh, auth, device_token, uid, ${EXPORT_TAGS[format]}, user_email FROM subscriptions
           WHERE ${where} AND id > ${params.add(afterId)} ORDER BY id LIMIT ${params.add(limit)}`,
    values: params.values,
    rowMode: 'array',
  });
  return rows;
}

export async function countSubscriptions(db: Queryable, filter: AudienceFilter): Promise<number> {
  const params = new SqlParams();
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::bigint AS n FROM subscriptions WHERE ${audienceWhere(filter, params)}`,
    params.values,
  );
  return rows[0]!.n;
}

export async function findSubscription(db: Queryable, projectId: number, id: number): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `SELECT ${COLUMNS} FROM subscriptions WHERE project_id = $1 AND id = $2 AND state = 'active'`,
    [projectId, id],
  );
  return rows[0] ? toSubscription(rows[0]) : null;
}

/** A subscription in any state (CloudSignal lists gone clients for 30 days). */
export async function findSubscriptionInAnyState(db: Queryable, projectId: number, id: number): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(`SELECT ${COLUMNS} FROM subscriptions WHERE project_id = $1 AND id = $2`, [projectId, id]);
  return rows[0] ? toSubscription(rows[0]) : null;
}

/** A subscription's state changes to expired (pruned) or unregistered (deregistered): kept, listed, never targeted again. Returns whether an active one did. */
export async function retireSubscriptions(db: Queryable, projectId: number, ids: readonly number[], state: 'expired' | 'unregistered'): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE subscriptions SET state = $3, state_changed_at = now() WHERE project_id = $1 AND id = ANY($2::bigint[]) AND state = 'active'`,
    [projectId, ids, state],
  );
  return rowCount ?? 0;
}

/** Deletes, a batch at a time, subscriptions gone (expired, unregistered) before `before`; returns how many. */
export async function purgeGoneSubscriptions(db: Queryable, before: Date, batch: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM subscriptions WHERE id IN (
       SELECT id FROM subscriptions WHERE state <> 'active' AND state_changed_at < $1 ORDER BY state_changed_at LIMIT $2)`,
    [before, batch],
  );
  return rowCount ?? 0;
}

/** `uid: null` clears the uid; a field left undefined is kept. */
export async function updateSubscription(
  db: Queryable,
  projectId: number,
  id: number,
  patch: { uid?: string | null; tags?: readonly string[]; userEmail?: string | null | undefined; userAgent?: string | undefined },
): Promise<Subscription | null> {
  const { rows } = await db.query<SubscriptionRow>(
    `UPDATE subscriptions SET
       uid = CASE WHEN $3::boolean THEN $4 ELSE uid END,
       tags = COALESCE($5, tags),
       user_email = CASE WHEN $6::boolean THEN $7 ELSE user_email END,
       user_agent = COALESCE($8, user_agent),
       updated_at = now()
     WHERE project_id = $1 AND id = $2 AND state = 'active' RETURNING ${COLUMNS}`,
    [projectId, id, patch.uid !== undefined, patch.uid ?? null, patch.tags ?? null, patch.userEmail !== undefined, patch.userEmail ?? null, patch.userAgent ?? null],
  );
  return rows[0] ? toSubscription(rows[0]) : null;
}

export async function deleteSubscription(db: Queryable, projectId: number, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM subscriptions WHERE project_id = $1 AND id = $2 AND state = 'active'`, [projectId, id]);
  return rowCount === 1;
}

/**
 * The audience size: exact up to `exactUpTo`, PostgreSQL's planner estimate above it, so that
 * creating a notification for a huge project stays fast (counting a million rows is not).
 */
export async function estimateAudience(db: Queryable, filter: AudienceFilter, exactUpTo: number): Promise<{ count: number; exact: boolean }> {
  const params = new SqlParams();
  const where = audienceWhere(filter, params);
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::bigint AS n FROM (SELECT 1 FROM subscriptions WHERE ${where} LIMIT ${params.add(exactUpTo + 1)}) t`,
    params.values,
  );
  const counted = rows[0]!.n;
  if (counted <= exactUpTo) return { count: counted, exact: true };
  return estimateAudienceOver(db, filter, counted);
}

/** PostgreSQL's estimate of an audience whose exact count stopped at `counted` (no less than that). */
export async function estimateAudienceOver(db: Queryable, filter: AudienceFilter, counted: number): Promise<{ count: number; exact: boolean }> {
  const explainParams = new SqlParams();
  const plan = await db.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(
    `EXPLAIN (FORMAT JSON) SELECT 1 FROM subscriptions WHERE ${audienceWhere(filter, explainParams)}`,
    explainParams.values,
  );
  const estimate = Math.round(plan.rows[0]!['QUERY PLAN'][0].Plan['Plan Rows']);
  return { count: Math.max(estimate, counted), exact: false };
}

/** Which of these uids have at least one subscription in the audience. */
export async function subscribedUids(db: Queryable, filter: AudienceFilter & { uids: readonly string[] }): Promise<string[]> {
  const params = new SqlParams();
  const { rows } = await db.query<{ uid: string }>(
    `SELECT DISTINCT uid FROM subscriptions WHERE ${audienceWhere(filter, params)} ORDER BY uid`,
    params.values,
  );
  return rows.map((r) => r.uid);
}

/**
 * Many web subscriptions in one statement (set-up of tests, the demo and the benchmark, and bulk
 * imports): one round trip per batch instead of one per subscription.
 */
export async function insertWebSubscriptionsBulk(
  db: Queryable,
  projectId: number,
  rows: readonly { endpoint: string; p256dh: string; auth: string; uid?: string | null; tags?: readonly string[] }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO subscriptions (project_id, endpoint, p256dh, auth, uid, tags)
     SELECT $1, e, p, a, u, ARRAY(SELECT json_array_elements_text(t::json))
     FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS x(e, p, a, u, t)`,
    [
      projectId,
      rows.map((r) => r.endpoint),
      rows.map((r) => r.p256dh),
      rows.map((r) => r.auth),
      rows.map((r) => r.uid ?? null),
      rows.map((r) => JSON.stringify(r.tags ?? [])),
    ],
  );
}

/**
 * Many APNs or FCM devices in one statement (set-up of tests and the benchmark): tokens are written
 * as given, unchecked; a token already subscribed in the project makes the statement fail, as in
 * `insertWebSubscriptionsBulk`.
 */
export async function insertDeviceSubscriptionsBulk(
  db: Queryable,
  projectId: number,
  platform: DevicePlatform,
  rows: readonly { token: string; uid?: string | null; tags?: readonly string[] }[],
): Promise<void> {
  if (rows.length === 0) return;
  await db.query(
    `INSERT INTO subscriptions (project_id, platform, device_token, uid, tags)
     SELECT $1, $2, d, u, ARRAY(SELECT json_array_elements_text(t::json))
     FROM unnest($3::text[], $4::text[], $5::text[]) AS x(d, u, t)`,
    [
      projectId,
      platform,
      rows.map((r) => r.token),
      rows.map((r) => r.uid ?? null),
      rows.map((r) => JSON.stringify(r.tags ?? [])),
    ],
  );
}

// The row mapping, for the browser-side queries in browser-subscriptions.ts.
export { COLUMNS as SUBSCRIPTION_COLUMNS, toSubscription, type SubscriptionRow };
