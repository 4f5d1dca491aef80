import { sealSecret, webhookSecretAad, type SecretKeyring, type Webhook, type WebhookAttempt, type WebhookFormat } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { openSealed, type SecretUnreadableReason } from './sealed.ts';

/**
 * A project's webhooks (migration 0010) and their signing secrets, sealed with AES-256-GCM under
 * PUSHCAST_SECRET_KEY and bound to their webhook, opened with the key their `key_id` names (the
 * current one or one of PUSHCAST_SECRET_KEY_PREVIOUS). Secrets are read only by the worker that signs.
 */

interface WebhookRow {
  id: number;
  project_id: number;
  url: string;
  format: WebhookFormat;
  custom_data: Record<string, unknown>;
  events: string[];
  description: string;
  enabled: boolean;
  disabled_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `id, project_id, url, format, custom_data, events, description, enabled, disabled_reason, created_at, updated_at`;

const toWebhook = (r: WebhookRow): Webhook => ({
  id: r.id,
  projectId: r.project_id,
  url: r.url,
  format: r.format,
  customData: r.custom_data,
  events: r.events,
  description: r.description,
  enabled: r.enabled,
  disabledReason: r.disabled_reason,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export interface NewWebhook {
  readonly projectId: number;
  readonly url: string;
  readonly format: WebhookFormat;
  readonly customData: Readonly<Record<string, unknown>>;
  readonly events: readonly string[];
  readonly description: string;
}

/** Inserts a webhook with its first secret, sealed (one statement). */
export async function insertWebhook(db: Queryable, secretKey: Buffer, w: NewWebhook, secret: string): Promise<Webhook> {
  // The id is drawn first: the secret's AAD names it.
  const { rows: ids } = await db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('webhooks', 'id'))::bigint AS id`);
  const id = ids[0]!.id;
  const sealed = sealSecret(secretKey, secret, webhookSecretAad(id));
  const { rows } = await db.query<WebhookRow>(
    `WITH w AS (
       INSERT INTO webhooks (id, project_id, url, events, description, format, custom_data)
       VALUES ($1, $2, $3, $4, $5, $10, $11) RETURNING ${COLUMNS}),
     s AS (
       INSERT INTO webhook_secrets (webhook_id, key_id, iv, ciphertext, auth_tag) SELECT id, $6, $7, $8, $9 FROM w)
     SELECT * FROM w`,
    [
      id,
      w.projectId,
      w.url,
      w.events,
      w.description,
      sealed.keyId,
      Buffer.from(sealed.iv),
      Buffer.from(sealed.ciphertext),
      Buffer.from(sealed.authTag),
      w.format,
      JSON.stringify(w.customData),
    ],
  );
  return toWebhook(rows[0]!);
}

export async function findWebhook(db: Queryable, projectId: number, id: number): Promise<Webhook | null> {
  const { rows } = await db.query<WebhookRow>(`SELECT ${COLUMNS} FROM webhooks WHERE project_id = $1 AND id = $2`, [projectId, id]);
  return rows[0] ? toWebhook(rows[0]) : null;
}

/** Oldest first. */
export async function listWebhooks(db: Queryable, projectId: number, page: { readonly page: number; readonly perPage: number }): Promise<Webhook[]> {
  const { rows } = await db.query<WebhookRow>(
    `SELECT ${COLUMNS} FROM webhooks WHERE project_id = $1 ORDER BY id LIMIT $2 OFFSET $3`,
    [projectId, page.perPage, (page.page - 1) * page.perPage],
  );
  return rows.map(toWebhook);
}

export interface WebhookPatch {
  readonly url?: string;
  readonly events?: readonly string[];
  readonly description?: string;
  readonly enabled?: boolean;
  readonly customData?: Readonly<Record<string, unknown>>;
}

/** Changes what is given; enabling (again) clears the reason it was disabled and its failure streak. */
export async function updateWebhook(db: Queryable, projectId: number, id: number, patch: WebhookPatch): Promise<Webhook | null> {
  const { rows } = await db.query<WebhookRow>(
    `UPDATE webhooks SET
       url = COALESCE($3, url),
       events = COALESCE($4, events),
       description = COALESCE($5, description),
       enabled = COALESCE($6, enabled),
       custom_data = COALESCE($7::jsonb, custom_data),
       disabled_reason = CASE WHEN $6::boolean IS NULL THEN disabled_reason ELSE NULL END,
       failing_since = CASE WHEN $6::boolean THEN NULL ELSE failing_since END,
       updated_at = now()
     WHERE project_id = $1 AND id = $2 RETURNING ${COLUMNS}`,
    [
      projectId,
      id,
      patch.url ?? null,
      patch.events ?? null,
      patch.description ?? null,
      patch.enabled ?? null,
      patch.customData === undefined ? null : JSON.stringify(patch.customData),
    ],
  );
  return rows[0] ? toWebhook(rows[0]) : null;
}

export async function deleteWebhook(db: Queryable, projectId: number, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM webhooks WHERE project_id = $1 AND id = $2`, [projectId, id]);
  return rowCount === 1;
}

/**
 * A new secret for a webhook; the current one keeps signing for `overlapMs` (both signatures go
 * with every request meanwhile), older ones are dropped. False when there is no such webhook.
 */
export async function rotateWebhookSecret(
  db: Queryable,
  secretKey: Buffer,
  projectId: number,
  id: number,
  secret: string,
  overlapMs: number,
): Promise<boolean> {
  const sealed = sealSecret(secretKey, secret, webhookSecretAad(id));
  const { rows } = await db.query<{ id: number }>(
    `WITH w AS (SELECT id FROM webhooks WHERE project_id = $1 AND id = $2 FOR UPDATE),
     dropped AS (
       DELETE FROM webhook_secrets WHERE webhook_id IN (SELECT id FROM w) AND expires_at IS NOT NULL),
     kept AS (
       UPDATE webhook_secrets SET expires_at = now() + $3 * interval '1 millisecond'
       WHERE webhook_id IN (SELECT id FROM w) AND expires_at IS NULL),
     added AS (
       INSERT INTO webhook_secrets (webhook_id, key_id, iv, ciphertext, auth_tag) SELECT id, $4, $5, $6, $7 FROM w RETURNING webhook_id)
     SELECT webhook_id AS id FROM added`,
    [projectId, id, overlapMs, sealed.keyId, Buffer.from(sealed.iv), Buffer.from(sealed.ciphertext), Buffer.from(sealed.authTag)],
  );
  return rows.length === 1;
}

/** Why a webhook's secrets do not open (as for credentials). */
export type WebhookSecretUnreadable = SecretUnreadableReason;

/** The secrets that sign now, newest first (two during a rotation's overlap). */
export async function openWebhookSecrets(
  db: Queryable,
  ring: SecretKeyring,
  webhookId: number,
): Promise<{ ok: true; value: string[] } | { ok: false; error: WebhookSecretUnreadable }> {
  const { rows } = await db.query<{ key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
    `SELECT key_id, iv, ciphertext, auth_tag FROM webhook_secrets
     WHERE webhook_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY id DESC`,
    [webhookId],
  );
  if (ring.byId.size === 0) return { ok: false, error: 'secret_key_not_configured' };
  const secrets: string[] = [];
  for (const r of rows) {
    const opened = openSealed(ring, { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag }, webhookSecretAad(webhookId));
    if (!opened.ok) return opened;
    secrets.push(opened.value.toString('utf8'));
  }
  return { ok: true, value: secrets };
}

/** A webhook's attempts, newest first. */
export async function listWebhookAttempts(
  db: Queryable,
  webhookId: number,
  page: { readonly page: number; readonly perPage: number },
): Promise<WebhookAttempt[]> {
  const { rows } = await db.query<{
    event_id: string;
    type: string;
    attempt: number;
    status: number | null;
    duration_ms: number;
    error: string | null;
    at: Date;
  }>(
    `SELECT a.event_id, e.type, a.attempt, a.status, a.duration_ms, a.error, a.at
     FROM webhook_attempts a JOIN webhook_events e ON e.id = a.event_id
     WHERE a.webhook_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3`,
    [webhookId, page.perPage, (page.page - 1) * page.perPage],
  );
  return rows.map((r) => ({
    eventId: r.event_id,
    type: r.type,
    attempt: r.attempt,
    status: r.status,
    durationMs: r.duration_ms,
    error: r.error,
    at: r.at,
  }));
}
