import type { WebhookEventType, WebhookFormat } from '@pushcast/domain';
import pg from 'pg';
import type { Queryable } from './db.ts';

/**
 * The outbox (migration 0010): events written in the transaction of the change that causes them,
 * a delivery per webhook that wants each, and what the worker records of every attempt.
 */

/** The channel `pushcast_emit_event` notifies at commit: dispatchers LISTEN to it. */
export const WEBHOOK_WAKE_CHANNEL = 'pushcast_webhooks';

/**
 * Emits an event in the caller's transaction (pass the transaction's client): nothing is written
 * when no enabled webhook of the project wants this type, nor when `dedupKey` was emitted before.
 * Returns the event's id, or null. Statements that change state emit in the same statement instead,
 * through the SQL function `pushcast_emit_event` (see notifications.ts and chunks.ts).
 */
export async function emitWebhookEvent(
  db: Queryable,
  projectId: number,
  type: WebhookEventType,
  data: Record<string, unknown>,
  dedupKey: string | null = null,
): Promise<string | null> {
  const { rows } = await db.query<{ id: string | null }>(`SELECT pushcast_emit_event($1, $2, $3, $4) AS id`, [
    projectId,
    type,
    JSON.stringify(data),
    dedupKey,
  ]);
  return rows[0]?.id ?? null;
}

/**
 * Adds items to a batched event (e.g. `notification.opened`, keyed by the notification): an event
 * goes out for every 1,000 items, and `flushWebhookEventBatches` sends what a batch holds once it is
 * a few seconds old. In the caller's transaction; nothing is kept when no webhook wants the type.
 * Statements that change state call the SQL function `pushcast_emit_batched` in the same statement
 * instead (see opens.ts).
 */
export async function emitBatchedWebhookEvent(
  db: Queryable,
  batch: {
    readonly projectId: number;
    readonly type: WebhookEventType;
    readonly key: string;
    /** The event's fields besides the list. */
    readonly data: Record<string, unknown>;
    /** The list's name in the event's data: `opens`, `subscriptions`. */
    readonly listField: string;
  },
  items: readonly Record<string, unknown>[],
): Promise<void> {
  await db.query(`SELECT pushcast_emit_batched($1, $2, $3, $4, $5, $6)`, [
    batch.projectId,
    batch.type,
    batch.key,
    JSON.stringify(batch.data),
    batch.listField,
    JSON.stringify(items),
  ]);
}

/**
 * `quota.exhausted`: a project's hourly or daily quota is used up until `resetsAt`. Once per window
 * (its reset names it), however many chunks find it full.
 */
export async function emitQuotaExhausted(db: Queryable, projectId: number, window: 'hourly' | 'daily', limit: number, resetsAt: Date): Promise<void> {
  await emitWebhookEvent(
    db,
    projectId,
    'quota.exhausted',
    { project_id: projectId, window, limit, resets_at: resetsAt.toISOString() },
    `quota.exhausted:${projectId}:${window}:${resetsAt.getTime()}`,
  );
}

/** Sends the batches opened at least `maxAgeMs` ago as events, whatever they hold; returns how many. */
export async function flushWebhookEventBatches(db: Queryable, maxAgeMs: number): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT pushcast_flush_event_batches($1 * interval '1 millisecond') AS n`, [maxAgeMs]);
  return rows[0]?.n ?? 0;
}

/**
 * Deletes up to `limit` events older than `olderThanMs` with no delivery still pending (their
 * deliveries and attempts go with them); returns how many.
 */
export async function purgeOldWebhookEvents(db: Queryable, olderThanMs: number, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM webhook_events WHERE id IN (
       SELECT e.id FROM webhook_events e
       WHERE e.created_at < now() - $1 * interval '1 millisecond'
         AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending')
       ORDER BY e.created_at LIMIT $2)`,
    [olderThanMs, limit],
  );
  return rowCount ?? 0;
}

/** A `webhook.test` event for one webhook only, whatever its `events` (and even disabled). Returns the event's id, or null when there is no such webhook. */
export async function emitWebhookTestEvent(db: Queryable, projectId: number, webhookId: number): Promise<string | null> {
  const { rows } = await db.query<{ id: string }>(
    `WITH w AS (SELECT id, project_id FROM webhooks WHERE project_id = $1 AND id = $2),
     e AS (
       INSERT INTO webhook_events (project_id, type, data)
       SELECT project_id, 'webhook.test', jsonb_build_object('project_id', project_id, 'webhook_id', id) FROM w
       RETURNING id),
     d AS (INSERT INTO webhook_deliveries (event_id, webhook_id) SELECT e.id, w.id FROM e, w)
     SELECT id, pg_notify('${WEBHOOK_WAKE_CHANNEL}', '') FROM e`,
    [projectId, webhookId],
  );
  return rows[0]?.id ?? null;
}

/** A delivery handed to the queue: its id and the attempt it is about to make (1 for the first). */
export interface ClaimedDelivery {
  readonly id: number;
  readonly attempt: number;
}

/**
 * Claims up to `limit` due deliveries of enabled webhooks (of projects not deleted) by moving
 * their `next_attempt_at` a lease ahead: another dispatcher skips them, and if the job is lost
 * (Redis restarted empty, a worker killed) they are due again when the lease ends.
 */
export async function claimDueWebhookDeliveries(db: Queryable, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await db.query<{ id: number; attempts: number }>(
    `WITH due AS (
       SELECT d.id FROM webhook_deliveries d
       WHERE d.status = 'pending' AND d.next_attempt_at <= now()
         AND EXISTS (SELECT 1 FROM webhooks w JOIN projects p ON p.id = w.project_id
                     WHERE w.id = d.webhook_id AND w.enabled AND p.deleted_at IS NULL)
       ORDER BY d.next_attempt_at LIMIT $1
       FOR UPDATE OF d SKIP LOCKED)
     UPDATE webhook_deliveries d SET next_attempt_at = now() + $2 * interval '1 millisecond'
     FROM due WHERE d.id = due.id
     RETURNING d.id, d.attempts`,
    [limit, leaseMs],
  );
  return rows.map((r) => ({ id: r.id, attempt: r.attempts + 1 }));
}

/** When the next pending delivery is due (null: none), so that a dispatcher can wake up for it. */
export async function nextWebhookDeliveryDue(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>(
    `SELECT min(next_attempt_at) AS at FROM webhook_deliveries WHERE status = 'pending'`,
  );
  return rows[0]?.at ?? null;
}

/** What one attempt needs: the event, where it goes, and the webhook's failure streak. */
export interface DeliveryToAttempt {
  readonly deliveryId: number;
  readonly attempts: number;
  readonly status: 'pending' | 'delivered' | 'failed';
  readonly webhookId: number;
  /** The webhook's Beams id (`Webhook-ID-UUID`). */
  readonly webhookUuid: string;
  readonly url: string;
  readonly format: WebhookFormat;
  readonly customData: Readonly<Record<string, unknown>>;
  readonly enabled: boolean;
  readonly failingSince: Date | null;
  readonly eventId: string;
  readonly type: string;
  readonly data: unknown;
  readonly createdAt: Date;
}

export async function loadWebhookDelivery(db: Queryable, deliveryId: number): Promise<DeliveryToAttempt | null> {
  const { rows } = await db.query<{
    id: number;
    attempts: number;
    status: DeliveryToAttempt['status'];
    webhook_id: number;
    webhook_uuid: string;
    url: string;
    format: WebhookFormat;
    custom_data: Record<string, unknown>;
    enabled: boolean;
    failing_since: Date | null;
    event_id: string;
    type: string;
    data: unknown;
    created_at: Date;
  }>(
    `SELECT d.id, d.attempts, d.status, d.webhook_id, w.uuid AS webhook_uuid, w.url, w.format, w.custom_data, w.enabled AND p.deleted_at IS NULL AS enabled, w.failing_since,
            e.id AS event_id, e.type, e.data, e.created_at
     FROM webhook_deliveries d
     JOIN webhooks w ON w.id = d.webhook_id
     JOIN projects p ON p.id = w.project_id
     JOIN webhook_events e ON e.id = d.event_id
     WHERE d.id = $1`,
    [deliveryId],
  );
  const r = rows[0];
  if (!r) return null;
  return {
    deliveryId: r.id,
    attempts: r.attempts,
    status: r.status,
    webhookId: r.webhook_id,
    webhookUuid: r.webhook_uuid,
    url: r.url,
    format: r.format,
    customData: r.custom_data,
    enabled: r.enabled,
    failingSince: r.failing_since,
    eventId: r.event_id,
    type: r.type,
    data: r.data,
    createdAt: r.created_at,
  };
}

export interface RecordedAttempt {
  readonly deliveryId: number;
  readonly webhookId: number;
  readonly eventId: string;
  /** 1 for the first. */
  readonly attempt: number;
  readonly status: number | null;
  readonly durationMs: number;
  readonly error: string | null;
  /** What becomes of the delivery. */
  readonly delivery: 'delivered' | 'pending' | 'failed';
  readonly nextAttemptAt: Date | null;
  /** Disable the webhook, saying why. */
  readonly disable: string | null;
}

/**
 * Records an attempt and what follows, in one statement, once: a second run of the same attempt
 * (a job re-run after a crash) changes nothing and returns false.
 */
export async function recordWebhookAttempt(db: Queryable, a: RecordedAttempt): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `WITH d AS (
       UPDATE webhook_deliveries SET attempts = $4, status = $8, next_attempt_at = COALESCE($9, next_attempt_at),
         last_error = $7, updated_at = now()
       WHERE id = $1 AND status = 'pending' AND attempts = $4 - 1
       RETURNING id),
     a AS (
       INSERT INTO webhook_attempts (delivery_id, webhook_id, event_id, attempt, status, duration_ms, error)
       SELECT $1, $2, $3, $4, $5, $6, $7 FROM d
       ON CONFLICT (delivery_id, attempt) DO NOTHING),
     w AS (
       UPDATE webhooks SET failing_since = CASE WHEN $10::boolean THEN NULL ELSE COALESCE(failing_since, now()) END,
         enabled = CASE WHEN $11::text IS NULL THEN enabled ELSE false END,
         disabled_reason = COALESCE($11, disabled_reason),
         updated_at = CASE WHEN $11::text IS NULL THEN updated_at ELSE now() END
       WHERE id = $2 AND EXISTS (SELECT 1 FROM d))
     SELECT count(*)::int AS n FROM d`,
    [
      a.deliveryId,
      a.webhookId,
      a.eventId,
      a.attempt,
      a.status,
      a.durationMs,
      a.error,
      a.delivery,
      a.nextAttemptAt,
      a.delivery === 'delivered',
      a.disable,
    ],
  );
  return rows[0]!.n === 1;
}

export interface WakeListener {
  close(): Promise<void>;
}

/**
 * LISTENs for emitted events on a connection of its own (not the pool's), calling `onWake` for
 * each; a lost connection is opened again after `retryMs` (dispatchers also poll, so nothing
 * waits for it).
 */
export function listenForWebhookEvents(databaseUrl: string, onWake: () => void, onError: (err: unknown) => void, retryMs = 1_000): WakeListener {
  let client: pg.Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  const connect = async () => {
    if (closed) return;
    const c = new pg.Client({ connectionString: databaseUrl });
    c.on('notification', () => onWake());
    c.on('error', (err) => {
      onError(err);
      void c.end().catch(() => {});
      if (client === c) client = null;
      if (!closed) retry = setTimeout(() => void connect(), retryMs);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${WEBHOOK_WAKE_CHANNEL}`);
      if (closed) return void (await c.end());
      client = c;
      onWake(); // whatever was emitted while not listening
    } catch (err) {
      onError(err);
      await c.end().catch(() => {});
      if (!closed) retry = setTimeout(() => void connect(), retryMs);
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await client?.end().catch(() => {});
    },
  };
}
