import { randomBytes } from 'node:crypto';
import { openTrackingKey, sealSecret, storedSecretAad, type SecretKeyring } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { findSecret, insertSealedSecretIfMissing, insertSecretIfMissing } from './pushcast-secrets.ts';
import { openSealed } from './sealed.ts';

/** Open tracking: one row per opened (notification, subscription), counters per action. */

export interface OpenStats {
  /** Recipients who opened the notification, each counted once. */
  readonly count: number;
  /** Of those, how many opened it through each action (keyed by the action's `action`, or its title). */
  readonly actions: Readonly<Record<string, number>>;
}

export const NO_OPENS: OpenStats = Object.freeze({ count: 0, actions: Object.freeze({}) });

/**
 * Records that a subscription opened a notification (through `action`, or null for the notification
 * itself). Only the first report of a (notification, subscription) counts: it bumps the counter,
 * sets the subscription's `last_click_at` and adds it to the batched `notification.opened` event,
 * all in one statement. Returns whether this one counted.
 */
export async function recordOpen(
  db: Queryable,
  open: { notificationId: number; subscriptionId: number; action: string | null },
): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    `WITH opened AS (
       INSERT INTO notification_opens (notification_id, subscription_id, action) VALUES ($1, $2, $3)
       ON CONFLICT (notification_id, subscription_id) DO NOTHING
       RETURNING notification_id, action),
     counted AS (
       INSERT INTO notification_open_counts (notification_id, action, count)
       SELECT notification_id, COALESCE(action, ''), 1 FROM opened
       ON CONFLICT (notification_id, action) DO UPDATE SET count = notification_open_counts.count + 1
       RETURNING 1),
     clicked AS (
       UPDATE subscriptions SET last_click_at = now() WHERE id = $2 AND EXISTS (SELECT 1 FROM opened)
       RETURNING uid),
     -- The batched notification.opened event (webhooks' outbox), with the open it counts.
     told AS (
       SELECT pushcast_emit_batched(n.project_id, 'notification.opened', n.id::text,
                jsonb_build_object('notification_id', n.id, 'project_id', n.project_id), 'opens',
                jsonb_build_array(jsonb_build_object('subscription_id', $2::bigint, 'uid', (SELECT uid FROM clicked LIMIT 1),
                  'action', o.action, 'opened_at', now())))
       FROM opened o JOIN notifications n ON n.id = o.notification_id)
     SELECT (SELECT count(*) FROM opened)::int AS n, (SELECT count(*) FROM told)::int AS told`,
    [open.notificationId, open.subscriptionId, open.action],
  );
  return rows[0]!.n === 1;
}

export async function openStats(db: Queryable, notificationId: number): Promise<OpenStats> {
  const { rows } = await db.query<{ action: string; count: number }>(
    `SELECT action, count FROM notification_open_counts WHERE notification_id = $1`,
    [notificationId],
  );
  let count = 0;
  const actions: Record<string, number> = {};
  for (const r of rows) {
    count += r.count;
    if (r.action !== '') actions[r.action] = r.count;
  }
  return { count, actions };
}

/** Opens summed per custom metric over a project's notifications. */
export async function openedCountsByCustomMetric(db: Queryable, projectId: number): Promise<Map<string, number>> {
  const { rows } = await db.query<{ name: string; opened: number }>(
    `SELECT m AS name, sum(c.count)::bigint AS opened
     FROM notifications n
     JOIN notification_open_counts c ON c.notification_id = n.id, unnest(n.custom_metrics) AS m
     WHERE n.project_id = $1 AND cardinality(n.custom_metrics) > 0
     GROUP BY m`,
    [projectId],
  );
  return new Map(rows.map((r) => [r.name, r.opened]));
}

/**
 * The key of open-tracking tokens, the same in the API and every worker.
 * - With PUSHCAST_SECRET_KEY: a key kept sealed in PostgreSQL (`open_tracking_key`), so that rotating
 *   the secret key leaves it, and the tokens already sent, unchanged (`pushcast rekey` re-seals it).
 *   The first process to need it stores the key derived from its PUSHCAST_SECRET_KEY, which is what
 *   tokens were signed with before it was kept (migration 0012).
 * - Without: derived from a random secret kept in plaintext (`open_tracking`), generated once.
 * Whichever process asks first stores it; the SELECT after the INSERT runs in a new snapshot, so it
 * sees what a racing process committed.
 */
export async function loadOpenTrackingKey(db: Queryable, ring: SecretKeyring): Promise<Buffer> {
  if (ring.current === undefined) {
    const existing = await findSecret(db, OPEN_TRACKING_SECRET);
    if (existing && !existing.sealed) return openTrackingKey(existing.value);
    await insertSecretIfMissing(db, OPEN_TRACKING_SECRET, randomBytes(32));
    const stored = await findSecret(db, OPEN_TRACKING_SECRET);
    if (!stored || stored.sealed) throw new Error('open-tracking secret missing right after it was stored');
    return openTrackingKey(stored.value);
  }
  const aad = storedSecretAad(OPEN_TRACKING_KEY);
  let stored = await findSecret(db, OPEN_TRACKING_KEY);
  if (!stored) {
    await insertSealedSecretIfMissing(db, OPEN_TRACKING_KEY, sealSecret(ring.current, openTrackingKey(ring.current), aad));
    stored = await findSecret(db, OPEN_TRACKING_KEY);
  }
  if (!stored || !stored.sealed) throw new Error('open-tracking key missing right after it was stored');
  const opened = openSealed(ring, stored.value, aad);
  // A deployment whose key was replaced without PUSHCAST_SECRET_KEY_PREVIOUS: nothing to fall back on.
  if (!opened.ok) throw new Error(`the open-tracking key does not open: ${opened.error}`);
  return opened.value;
}

/**
 * The key, loaded once per process and kept (it never changes while the process runs); a failed
 * load (PostgreSQL away) is tried again on the next call. What the API and the workers hold.
 */
export function openTrackingKeySource(db: Queryable, ring: SecretKeyring): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  return () => {
    key ??= loadOpenTrackingKey(db, ring).catch((error: unknown) => {
      key = undefined;
      throw error;
    });
    return key;
  };
}

/** Plaintext random secret the key is derived from when there is no PUSHCAST_SECRET_KEY. */
const OPEN_TRACKING_SECRET = 'open_tracking';
/** The key itself, sealed under PUSHCAST_SECRET_KEY. */
export const OPEN_TRACKING_KEY = 'open_tracking_key';
