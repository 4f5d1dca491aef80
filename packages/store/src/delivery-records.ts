import type { DeliveryRecord, DeliveryRecordInput, DeliveryRecordOutcome, Platform } from '@pushcast/domain';
import { inTransaction, quoteIdentifier, type Db, type Queryable } from './db.ts';
import { SqlParams } from './sql-params.ts';

/**
 * Per-recipient outcomes of notifications (table `delivery_records`, migration 0017), partitioned
 * by the notification's day: written a batch at a time by the workers, read a page at a time by the
 * API, dropped a day at a time after the retention.
 */

/** What every record of one batch shares: one chunk run's notification and platform. */
export interface DeliveryRecordBatch {
  readonly projectId: number;
  readonly notificationId: number;
  /** `deliveryRecordDay(notification)`: the partition. */
  readonly day: string;
  readonly platform: Platform;
}

/** PostgreSQL's "no partition of relation … found for row" (a check_violation). */
const CHECK_VIOLATION = '23514';

/**
 * Writes a batch of records in one statement (a multi-row INSERT of arrays), each recipient once
 * however often a chunk runs (ON CONFLICT DO NOTHING), with the subscription's uid copied in (a
 * lookup by primary key per row, as a scalar subquery: a join let a planner with a freshly imported
 * project's stale statistics hash the whole project for every batch, 100 ms instead of 2). In the
 * same statement, the new pruned recipients join the notification's batched `subscription.pruned`
 * event and the other failures its `delivery.failed` event (pushcast_emit_batched: nothing when no
 * webhook wants them). A day without its partition yet (a notification scheduled further ahead than
 * the maintenance job creates them) gets it, and the batch is written again.
 */
export async function insertDeliveryRecords(db: Queryable, batch: DeliveryRecordBatch, records: readonly DeliveryRecordInput[]): Promise<void> {
  if (records.length === 0) return;
  const ids: number[] = [];
  const outcomes: string[] = [];
  const statuses: (number | null)[] = [];
  const reasons: (string | null)[] = [];
  for (const r of records) {
    ids.push(r.subscriptionId);
    outcomes.push(r.outcome);
    statuses.push(r.status);
    reasons.push(r.reason);
  }
  const params = [batch.day, batch.notificationId, batch.projectId, batch.platform, ids, outcomes, statuses, reasons];
  try {
    await db.query(INSERT_RECORDS, params);
  } catch (error) {
    if ((error as { code?: string }).code !== CHECK_VIOLATION) throw error;
    await ensureDeliveryRecordPartition(db, batch.day);
    await db.query(INSERT_RECORDS, params);
  }
}

const eventItems = (where: string) =>
  `COALESCE((SELECT jsonb_agg(jsonb_build_object('id', subscription_id, 'uid', uid, 'platform', $4::text,
     'outcome', outcome, 'status', status, 'reason', COALESCE(reason, outcome)) ORDER BY subscription_id) FROM r WHERE ${where}), '[]'::jsonb)`;

const INSERT_RECORDS = `
  WITH r AS (
    INSERT INTO delivery_records (day, notification_id, subscription_id, project_id, uid, platform, outcome, status, reason)
    SELECT $1::date, $2, u.id, $3, (SELECT s.uid FROM subscriptions s WHERE s.id = u.id), $4, u.outcome, u.status, u.reason
    FROM unnest($5::bigint[], $6::text[], $7::int[], $8::text[]) AS u(id, outcome, status, reason)
    ON CONFLICT DO NOTHING
    RETURNING subscription_id, uid, outcome, status, reason)
  SELECT
    pushcast_emit_batched($3, 'subscription.pruned', $2::text, jsonb_build_object('notification_id', $2::bigint, 'project_id', $3::bigint),
      'subscriptions', ${eventItems(`outcome = 'pruned'`)}),
    pushcast_emit_batched($3, 'delivery.failed', $2::text, jsonb_build_object('notification_id', $2::bigint, 'project_id', $3::bigint),
      'subscriptions', ${eventItems(`outcome IN ('failed', 'expired', 'quota_expired')`)})`;

/** Creates the partition of `day` (YYYY-MM-DD) if it does not exist. */
export async function ensureDeliveryRecordPartition(db: Queryable, day: string): Promise<void> {
  await db.query(`SELECT pushcast_delivery_partition($1::date)`, [day]);
}

interface RecordRow {
  subscription_id: number;
  uid: string | null;
  platform: Platform;
  outcome: DeliveryRecordOutcome;
  status: number | null;
  reason: string | null;
  at: Date;
}

export interface DeliveryRecordQuery {
  readonly notificationId: number;
  readonly day: string;
  /** Only recipients who did not get it. */
  readonly failuresOnly: boolean;
  /** Records after this subscription id (the previous page's last). */
  readonly after: number | null;
  readonly limit: number;
  readonly outcome?: DeliveryRecordOutcome | undefined;
  readonly reason?: string | undefined;
  readonly uid?: string | undefined;
}

/** A page of a notification's records in subscription id order, and whether more follow. */
export async function listDeliveryRecords(db: Queryable, q: DeliveryRecordQuery): Promise<{ records: DeliveryRecord[]; more: boolean }> {
  const p = new SqlParams();
  // Literal conditions, so that the planner can use the partial indexes (failures; uid).
  const where = [
    `day = ${p.add(q.day)}::date`,
    `notification_id = ${p.add(q.notificationId)}`,
    `subscription_id > ${p.add(q.after ?? 0)}`,
    ...(q.failuresOnly ? [`outcome <> 'delivered'`] : []),
    ...(q.uid !== undefined ? [`uid = ${p.add(q.uid)}`] : []),
    ...(q.outcome !== undefined ? [`outcome = ${p.add(q.outcome)}`] : []),
    ...(q.reason !== undefined ? [`reason = ${p.add(q.reason)}`] : []),
  ];
  const { rows } = await db.query<RecordRow>(
    `SELECT subscription_id, uid, platform, outcome, status, reason, at FROM delivery_records
     WHERE ${where.join(' AND ')}
     ORDER BY subscription_id LIMIT ${p.add(q.limit + 1)}`,
    p.values,
  );
  const more = rows.length > q.limit;
  return {
    records: rows.slice(0, q.limit).map((r) => ({
      subscriptionId: r.subscription_id,
      uid: r.uid,
      platform: r.platform,
      outcome: r.outcome,
      status: r.status,
      reason: r.reason,
      at: r.at,
    })),
    more,
  };
}

const PARTITION_NAME = /^delivery_records_(\d{4})(\d{2})(\d{2})$/;

/** The days (YYYY-MM-DD) that have a partition, oldest first. */
export async function listDeliveryRecordPartitions(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'delivery_records'::regclass`,
  );
  return rows
    .map((r) => PARTITION_NAME.exec(r.name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]}-${m[2]}-${m[3]}`)
    .sort();
}

/**
 * Drops the partitions of days before `firstKept` (YYYY-MM-DD): a whole day's records go at once,
 * with nothing to vacuum. Each drop waits at most `lockTimeoutMs` for the table (a long read of
 * the records holds it): what it could not drop now goes next time. Returns the days dropped.
 */
export async function dropDeliveryRecordPartitionsBefore(db: Db, firstKept: string, lockTimeoutMs = 5_000): Promise<string[]> {
  const dropped: string[] = [];
  for (const day of await listDeliveryRecordPartitions(db)) {
    if (day >= firstKept) break;
    const name = `delivery_records_${day.replaceAll('-', '')}`;
    const done = await inTransaction(db, async (tx) => {
      await tx.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
      await tx.query(`DROP TABLE IF EXISTS ${quoteIdentifier(name)}`);
      return true;
    }).catch((error: unknown) => {
      if ((error as { code?: string }).code === LOCK_NOT_AVAILABLE) return false;
      throw error;
    });
    if (done) dropped.push(day);
  }
  return dropped;
}

const LOCK_NOT_AVAILABLE = '55P03';
