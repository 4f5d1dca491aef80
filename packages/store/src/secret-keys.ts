import { projectSecretKeyAad, sealSecret, type ProjectSecretKey, type SecretKeyring } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { openSealed, type SecretUnreadableReason } from './sealed.ts';

/**
 * Project secret keys (migration 0013): found by their SHA-256, kept sealed under
 * PUSHCAST_SECRET_KEY for what needs the key itself (verifying Beams user JWTs, HS256); opened with
 * the key their `key_id` names (the current one or one of PUSHCAST_SECRET_KEY_PREVIOUS).
 */

interface SecretKeyRow {
  id: number;
  project_id: number;
  key_prefix: string;
  created_at: Date;
}

const COLUMNS = 'id, project_id, key_prefix, created_at';

const toSecretKey = (r: SecretKeyRow): ProjectSecretKey => ({
  id: r.id,
  projectId: r.project_id,
  prefix: r.key_prefix,
  createdAt: r.created_at,
});

export interface NewProjectSecretKey {
  readonly projectId: number;
  readonly secretKey: string;
  readonly keyHash: Buffer;
  readonly prefix: string;
}

/** Inserts a key, sealed under `sealingKey` and bound to its row id. */
export async function insertProjectSecretKey(db: Queryable, sealingKey: Buffer, k: NewProjectSecretKey): Promise<ProjectSecretKey> {
  // The id is drawn first: the sealed key's AAD names it.
  const { rows: ids } = await db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('project_secret_keys', 'id'))::bigint AS id`);
  const id = ids[0]!.id;
  const sealed = sealSecret(sealingKey, k.secretKey, projectSecretKeyAad(id));
  const { rows } = await db.query<SecretKeyRow>(
    `INSERT INTO project_secret_keys (id, project_id, key_hash, key_prefix, key_id, iv, ciphertext, auth_tag)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
    [id, k.projectId, k.keyHash, k.prefix, sealed.keyId, Buffer.from(sealed.iv), Buffer.from(sealed.ciphertext), Buffer.from(sealed.authTag)],
  );
  return toSecretKey(rows[0]!);
}

/** Oldest first. */
export async function listProjectSecretKeys(db: Queryable, projectId: number): Promise<ProjectSecretKey[]> {
  const { rows } = await db.query<SecretKeyRow>(`SELECT ${COLUMNS} FROM project_secret_keys WHERE project_id = $1 ORDER BY id`, [projectId]);
  return rows.map(toSecretKey);
}

export async function deleteProjectSecretKey(db: Queryable, projectId: number, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`DELETE FROM project_secret_keys WHERE project_id = $1 AND id = $2`, [projectId, id]);
  return rowCount === 1;
}

/** The key with this hash, of a live project. */
export async function findProjectSecretKeyByHash(db: Queryable, keyHash: Buffer): Promise<ProjectSecretKey | null> {
  const { rows } = await db.query<SecretKeyRow>(
    `SELECT k.id, k.project_id, k.key_prefix, k.created_at FROM project_secret_keys k
     JOIN projects p ON p.id = k.project_id AND p.deleted_at IS NULL
     WHERE k.key_hash = $1`,
    [keyHash],
  );
  return rows[0] ? toSecretKey(rows[0]) : null;
}

/** Why a project's secret keys do not open (as for credentials). */
export type SecretKeyUnreadable = SecretUnreadableReason;

/** A project's live secret keys, opened, newest first: what a Beams user JWT may be signed with. */
export async function openProjectSecretKeys(
  db: Queryable,
  ring: SecretKeyring,
  projectId: number,
): Promise<{ ok: true; value: string[] } | { ok: false; error: SecretKeyUnreadable }> {
  const { rows } = await db.query<{ id: number; key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
    `SELECT id, key_id, iv, ciphertext, auth_tag FROM project_secret_keys WHERE project_id = $1 ORDER BY id DESC`,
    [projectId],
  );
  if (rows.length === 0) return { ok: true, value: [] };
  const keys: string[] = [];
  for (const r of rows) {
    const opened = openSealed(ring, { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag }, projectSecretKeyAad(r.id));
    if (!opened.ok) return opened;
    keys.push(opened.value.toString('utf8'));
  }
  return { ok: true, value: keys };
}
