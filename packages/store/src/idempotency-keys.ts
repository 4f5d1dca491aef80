import type { Queryable } from './db.ts';

/** How long a key answers with its first response; older keys are ignored and then purged. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;
const FRESH = `created_at > now() - make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})`;
const STALE = `created_at <= now() - make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS})`;

interface IdempotencyKeyRow {
  fingerprint: Buffer;
  response_status: number | null;
  response_body: unknown;
  notification_id: number | null;
  created_at: Date;
}

export interface StoredResponse {
  readonly status: number;
  readonly body: unknown;
}

export interface IdempotencyKeyRecord {
  readonly fingerprint: Buffer;
  /** Null only while the transaction that claimed the key is still open (never seen by others). */
  readonly response: StoredResponse | null;
  readonly notificationId: number | null;
  readonly createdAt: Date;
}

export interface IdempotencyClaim {
  readonly projectId: number;
  readonly key: string;
  readonly fingerprint: Buffer;
}

const toRecord = (r: IdempotencyKeyRow): IdempotencyKeyRecord => ({
  fingerprint: r.fingerprint,
  response: r.response_status === null ? null : { status: r.response_status, body: r.response_body },
  notificationId: r.notification_id,
  createdAt: r.created_at,
});

/** The key's record if it was used within the last 24 hours. */
export async function findIdempotencyKey(db: Queryable, projectId: number, key: string): Promise<IdempotencyKeyRecord | null> {
  const { rows } = await db.query<IdempotencyKeyRow>(
    `SELECT fingerprint, response_status, response_body, notification_id, created_at
     FROM idempotency_keys WHERE project_id = $1 AND key = $2 AND ${FRESH}`,
    [projectId, key],
  );
  return rows[0] ? toRecord(rows[0]) : null;
}

/**
 * Claims a key inside the creating transaction: true when this transaction now owns it (a new key,
 * or one older than 24 hours, which is taken over). While another transaction holds an uncommitted
 * claim on the same key, this waits for it; after its commit this returns false and the key's
 * record is readable, after its rollback the claim goes through.
 */
export async function claimIdempotencyKey(tx: Queryable, c: IdempotencyClaim): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO idempotency_keys AS k (project_id, key, fingerprint) VALUES ($1, $2, $3)
     ON CONFLICT (project_id, key) DO UPDATE
       SET fingerprint = EXCLUDED.fingerprint, response_status = NULL, response_body = NULL,
           notification_id = NULL, created_at = now()
       WHERE k.${STALE}`,
    [c.projectId, c.key, c.fingerprint],
  );
  return rowCount === 1;
}

/** Writes the answer of a claimed key, in the transaction that claimed it. */
export async function recordIdempotentResponse(
  tx: Queryable,
  c: Pick<IdempotencyClaim, 'projectId' | 'key'>,
  response: StoredResponse & { readonly notificationId: number },
): Promise<void> {
  await tx.query(
    `UPDATE idempotency_keys SET response_status = $3, response_body = $4, notification_id = $5
     WHERE project_id = $1 AND key = $2`,
    [c.projectId, c.key, response.status, JSON.stringify(response.body), response.notificationId],
  );
}

/**
 * Deletes up to `limit` keys older than 24 hours; returns how many. The age is tested again on the
 * row being deleted, so a key taken over meanwhile by a new request (now fresh) stays.
 */
export async function deleteExpiredIdempotencyKeys(db: Queryable, limit: number): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM idempotency_keys
     WHERE (project_id, key) IN (SELECT project_id, key FROM idempotency_keys WHERE ${STALE} LIMIT $1)
       AND ${STALE}`,
    [limit],
  );
  return rowCount ?? 0;
}
