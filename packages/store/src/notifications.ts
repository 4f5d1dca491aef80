import type { ExactPayloads, Notification, RecordDeliveries, NotificationAction, NotificationContent, NotificationStatus, PlatformOverrides } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { SqlParams } from './sql-params.ts';
import { audienceWhere, type AudienceFilter } from './subscriptions.ts';
import { NOTIFICATION_DONE_CHANNEL } from './notification-completions.ts';

interface NotificationRow {
  id: number;
  project_id: number;
  title: string | null;
  body: string;
  target_url: string | null;
  icon_url: string | null;
  badge_url: string | null;
  image_url: string | null;
  ttl: number;
  require_interaction: boolean;
  silent: boolean;
  urgent: boolean;
  custom_data: string | null;
  actions: { title: string; target_url: string | null; icon: string | null; action: string | null }[];
  starred: boolean;
  custom_metrics: string[];
  topic: string | null;
  overrides: PlatformOverrides;
  payloads: ExactPayloads | null;
  external_id: string | null;
  target_uids: string[] | null;
  target_tags: string[] | null;
  target_emails: string[] | null;
  target_subscription_ids: number[] | null;
  record_deliveries: RecordDeliveries | null;
  send_at: Date | null;
  throttle_rate_per_minute: number | null;
  status: NotificationStatus;
  scheduled_count: number;
  created_at: Date;
  planned_at: Date | null;
  sending_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
}

const COLUMNS = `id, project_id, title, body, target_url, icon_url, badge_url, image_url, ttl, require_interaction,
  silent, urgent, custom_data, actions, starred, custom_metrics, topic, overrides, payloads, external_id, target_uids, target_tags, target_emails, target_subscription_ids, record_deliveries, send_at, throttle_rate_per_minute, status,
  scheduled_count, created_at, planned_at, sending_at, completed_at, cancelled_at`;

const toAction = (a: NotificationRow['actions'][number]): NotificationAction => ({
  title: a.title,
  targetUrl: a.target_url ?? null,
  icon: a.icon ?? null,
  action: a.action ?? null,
});

const toNotification = (r: NotificationRow): Notification => ({
  id: r.id,
  projectId: r.project_id,
  title: r.title,
  body: r.body,
  targetUrl: r.target_url,
  iconUrl: r.icon_url,
  badgeUrl: r.badge_url,
  imageUrl: r.image_url,
  ttl: r.ttl,
  requireInteraction: r.require_interaction,
  silent: r.silent,
  urgent: r.urgent,
  customData: r.custom_data,
  actions: r.actions.map(toAction),
  starred: r.starred,
  customMetrics: r.custom_metrics,
  topic: r.topic,
  overrides: r.overrides,
  payloads: r.payloads,
  externalId: r.external_id,
  targetUids: r.target_uids,
  targetTags: r.target_tags,
  targetEmails: r.target_emails,
  targetSubscriptionIds: r.target_subscription_ids,
  recordDeliveries: r.record_deliveries,
  sendAt: r.send_at,
  throttleRatePerMinute: r.throttle_rate_per_minute,
  status: r.status,
  scheduledCount: r.scheduled_count,
  createdAt: r.created_at,
  plannedAt: r.planned_at,
  sendingAt: r.sending_at,
  completedAt: r.completed_at,
  cancelledAt: r.cancelled_at,
});

export interface NewNotification extends NotificationContent {
  readonly projectId: number;
  readonly targetUids: readonly string[] | null;
  readonly targetTags: readonly string[] | null;
  readonly sendAt: Date | null;
  readonly scheduledCount: number;
  readonly throttleRatePerMinute?: number | null;
  readonly externalId?: string | null;
  readonly targetEmails?: readonly string[] | null;
  readonly targetSubscriptionIds?: readonly number[] | null;
  readonly recordDeliveries?: RecordDeliveries | null;
}

const INSERT_COLUMNS = `project_id, title, body, target_url, icon_url, badge_url, image_url, ttl,
       require_interaction, silent, urgent, custom_data, actions, starred, custom_metrics, topic, target_uids, target_tags,
       send_at, status, scheduled_count, overrides, throttle_rate_per_minute, payloads, external_id,
       target_emails, target_subscription_ids, record_deliveries`;
const INSERT_COLUMN_NAMES = INSERT_COLUMNS.split(',').map((c) => c.trim());
const INSERT_VALUES = `$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25,
       $26, $27, $28`;

function insertParams(n: NewNotification): unknown[] {
  const actions = n.actions.map((a) => ({ title: a.title, target_url: a.targetUrl, icon: a.icon, action: a.action }));
  return [
    n.projectId, n.title, n.body, n.targetUrl, n.iconUrl, n.badgeUrl, n.imageUrl, n.ttl,
    n.requireInteraction, n.silent, n.urgent, n.customData, JSON.stringify(actions), n.starred, n.customMetrics, n.topic,
    n.targetUids, n.targetTags, n.sendAt, n.sendAt ? 'scheduled' : 'queued', n.scheduledCount,
    JSON.stringify(n.overrides), n.throttleRatePerMinute ?? null,
    n.payloads === null ? null : JSON.stringify(n.payloads), n.externalId ?? null,
    n.targetEmails ?? null, n.targetSubscriptionIds ?? null, n.recordDeliveries ?? null,
  ];
}

export async function insertNotification(db: Queryable, n: NewNotification): Promise<Notification> {
  const { rows } = await db.query<NotificationRow>(
    `INSERT INTO notifications (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES}) RETURNING ${COLUMNS}`,
    insertParams(n),
  );
  return toNotification(rows[0]!);
}

/**
 * Inserts a notification and emits its `notification.created` webhook event (data: notification_id,
 * project_id, scheduled, send_at) in ONE statement, so one round trip and its own transaction: the
 * event exists exactly when the notification does, as with insertNotification + emitWebhookEvent in
 * a BEGIN/COMMIT, without the three extra round trips (issue 15: a create's tail on a busy machine).
 */
export async function insertNotificationEmittingCreated(db: Queryable, n: NewNotification): Promise<{ id: number }> {
  const { rows } = await db.query<{ id: string }>(
    `WITH n AS (INSERT INTO notifications (${INSERT_COLUMNS}) VALUES (${INSERT_VALUES}) RETURNING id)
     SELECT n.id, pushcast_emit_event($29::bigint, 'notification.created',
       jsonb_build_object('notification_id', n.id, 'project_id', $29::bigint, 'scheduled', $30::bigint, 'send_at', $31::text),
       'notification.created:' || n.id) AS event_id
     FROM n`,
    [...insertParams(n), n.projectId, n.scheduledCount, n.sendAt?.toISOString() ?? null],
  );
  return { id: Number(rows[0]!.id) };
}

/**
 * Counts the audience (exactly, up to `exactUpTo`) and, when it is no more than that, inserts the
 * notification with that count as its scheduled_count and emits its `notification.created` event:
 * all in ONE statement (one round trip, one transaction). `n.scheduledCount` is ignored. Above
 * `exactUpTo` nothing is inserted (`id` null): the caller estimates and inserts as before.
 */
export async function insertNotificationCountingAudience(
  db: Queryable,
  n: NewNotification,
  filter: AudienceFilter,
  exactUpTo: number,
): Promise<{ id: number | null; counted: number }> {
  const params = new SqlParams();
  // The count replaces the scheduled_count parameter: found by name, so a column added to
  // INSERT_COLUMNS cannot shift the count into another column.
  const SCHEDULED_COUNT = INSERT_COLUMN_NAMES.indexOf('scheduled_count');
  const values = insertParams(n).map((v, i) => (i === SCHEDULED_COUNT ? 'c.n' : params.add(v)));
  const where = audienceWhere(filter, params);
  const limit = params.add(exactUpTo + 1);
  const upTo = params.add(exactUpTo);
  const projectId = params.add(n.projectId);
  const sendAt = params.add(n.sendAt?.toISOString() ?? null);
  const { rows } = await db.query<{ counted: string; id: string | null }>(
    `WITH c AS (SELECT count(*)::bigint AS n FROM (SELECT 1 FROM subscriptions WHERE ${where} LIMIT ${limit}) t),
     ins AS (INSERT INTO notifications (${INSERT_COLUMNS}) SELECT ${values.join(', ')} FROM c WHERE c.n <= ${upTo}::bigint RETURNING id, scheduled_count)
     SELECT c.n AS counted, ins.id,
       CASE WHEN ins.id IS NOT NULL THEN pushcast_emit_event(${projectId}::bigint, 'notification.created',
         jsonb_build_object('notification_id', ins.id, 'project_id', ${projectId}::bigint, 'scheduled', ins.scheduled_count, 'send_at', ${sendAt}::text),
         'notification.created:' || ins.id) END AS event_id
     FROM c LEFT JOIN ins ON true`,
    params.values,
  );
  const r = rows[0]!;
  return { id: r.id === null ? null : Number(r.id), counted: Number(r.counted) };
}

/** Find a notification by the id its dialect knows it by (CloudSignal's request_id, Beams' publishId). */
export async function findNotificationByExternalId(db: Queryable, projectId: number, externalId: string): Promise<Notification | null> {
  const { rows } = await db.query<NotificationRow>(`SELECT ${COLUMNS} FROM notifications WHERE project_id = $1 AND external_id = $2`, [
    projectId,
    externalId,
  ]);
  return rows[0] ? toNotification(rows[0]) : null;
}

export async function findNotification(db: Queryable, id: number): Promise<Notification | null> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM notifications n
     WHERE id = $1 AND EXISTS (SELECT 1 FROM projects p WHERE p.id = n.project_id AND p.deleted_at IS NULL)`,
    [id],
  );
  return rows[0] ? toNotification(rows[0]) : null;
}

/** Newest first. */
export async function listNotifications(
  db: Queryable,
  projectId: number,
  page: { readonly page: number; readonly perPage: number },
): Promise<Notification[]> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM notifications WHERE project_id = $1 ORDER BY id DESC LIMIT $2 OFFSET $3`,
    [projectId, page.perPage, (page.page - 1) * page.perPage],
  );
  return rows.map(toNotification);
}

/**
 * Cancels unless already sent or cancelled; returns the notification as it now is. The same
 * statement emits `notification.cancelled` (webhooks' outbox) with the counts of the chunks over
 * by then (running ones stop within a slice and keep what they sent).
 */
export async function cancelNotification(db: Queryable, id: number): Promise<Notification | null> {
  await db.query(
    `WITH n AS (
       UPDATE notifications SET status = 'cancelled', cancelled_at = now(), updated_at = now()
       WHERE id = $1 AND status NOT IN ('sent', 'cancelled') RETURNING id, project_id, cancelled_at),
     chunks AS (
       UPDATE notification_chunks SET status = 'cancelled' WHERE notification_id IN (SELECT id FROM n) AND status = 'pending')
     SELECT pushcast_emit_event(project_id, 'notification.cancelled',
              pushcast_notification_counts(id) || jsonb_build_object('cancelled_at', cancelled_at),
              'notification.cancelled:' || id),
            pg_notify('${NOTIFICATION_DONE_CHANNEL}', id::text)
     FROM n`,
    [id],
  );
  return findNotification(db, id);
}

/** Moves a notification forward (never back): scheduled/queued → planning → sending. */
export async function advanceNotification(db: Queryable, id: number, to: 'planning' | 'sending'): Promise<boolean> {
  const from = to === 'planning' ? ['scheduled', 'queued'] : ['scheduled', 'queued', 'planning'];
  const { rowCount } = await db.query(
    `UPDATE notifications SET status = $2, updated_at = now() WHERE id = $1 AND status = ANY($3::text[])`,
    [id, to, from],
  );
  return rowCount === 1;
}

/** Unfinished notifications after `afterId`, for reconciliation. */
export async function listUnfinishedNotifications(db: Queryable, afterId: number, limit: number): Promise<Notification[]> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT ${COLUMNS} FROM notifications n
     WHERE status NOT IN ('sent', 'cancelled') AND id > $1
       AND EXISTS (SELECT 1 FROM projects p WHERE p.id = n.project_id AND p.deleted_at IS NULL)
     ORDER BY id LIMIT $2`,
    [afterId, limit],
  );
  return rows.map(toNotification);
}

export async function notificationStatus(db: Queryable, id: number): Promise<NotificationStatus | null> {
  const { rows } = await db.query<{ status: NotificationStatus }>(`SELECT status FROM notifications WHERE id = $1`, [id]);
  return rows[0]?.status ?? null;
}

export interface CustomMetricStats {
  readonly name: string;
  readonly notifications: number;
  readonly scheduled: number;
  readonly delivered: number;
  readonly pruned: number;
  readonly expired: number;
  readonly failed: number;
}

/** Statistics summed per custom metric over a project's notifications (chunks that are over). */
export async function customMetricStats(db: Queryable, projectId: number): Promise<CustomMetricStats[]> {
  const { rows } = await db.query<CustomMetricStats>(
    `WITH per_notification AS (
       SELECT n.id, n.scheduled_count, n.custom_metrics,
              COALESCE(sum(c.delivered), 0) AS delivered,
              COALESCE(sum(c.pruned), 0) AS pruned,
              COALESCE(sum(c.expired), 0) AS expired,
              COALESCE(sum((SELECT COALESCE(sum(v::bigint), 0) FROM jsonb_each_text(c.failed) AS f(k, v))), 0) AS failed
       FROM notifications n
       LEFT JOIN notification_chunks c ON c.notification_id = n.id AND c.status IN ('done', 'cancelled')
       WHERE n.project_id = $1 AND cardinality(n.custom_metrics) > 0
       GROUP BY n.id)
     SELECT m AS name, count(*)::int AS notifications, sum(scheduled_count)::bigint AS scheduled,
            sum(delivered)::bigint AS delivered, sum(pruned)::bigint AS pruned,
            sum(expired)::bigint AS expired, sum(failed)::bigint AS failed
     FROM per_notification, unnest(custom_metrics) AS m
     GROUP BY m ORDER BY m`,
    [projectId],
  );
  return rows;
}
