import type { SealedSecret } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { sealedParams } from './sealed.ts';

/**
 * Secrets Pushcast generates for itself (`pushcast_secrets`, migrations 0008 and 0012), by name:
 * plaintext (a deployment without PUSHCAST_SECRET_KEY) or sealed (`value` is then the ciphertext,
 * beside its key id, IV and tag). The first process to store a name wins; the others read its value.
 */

interface SecretRow {
  value: Buffer;
  key_id: string | null;
  iv: Buffer | null;
  auth_tag: Buffer | null;
}

export type StoredSecret = { readonly sealed: false; readonly value: Buffer } | { readonly sealed: true; readonly value: SealedSecret };

/** Stores `fresh` under `name` unless a secret of that name exists. */
export async function insertSecretIfMissing(db: Queryable, name: string, fresh: Buffer): Promise<void> {
  await db.query(`INSERT INTO pushcast_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, [name, fresh]);
}

/** Stores a sealed value under `name` unless a secret of that name exists. */
export async function insertSealedSecretIfMissing(db: Queryable, name: string, sealed: SealedSecret): Promise<void> {
  const [keyId, iv, ciphertext, authTag] = sealedParams(sealed);
  await db.query(
    `INSERT INTO pushcast_secrets (name, value, key_id, iv, auth_tag) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO NOTHING`,
    [name, ciphertext, keyId, iv, authTag],
  );
}

export async function findSecret(db: Queryable, name: string): Promise<StoredSecret | null> {
  const { rows } = await db.query<SecretRow>(`SELECT value, key_id, iv, auth_tag FROM pushcast_secrets WHERE name = $1`, [name]);
  const r = rows[0];
  if (!r) return null;
  if (r.key_id === null) return { sealed: false, value: r.value };
  return { sealed: true, value: { keyId: r.key_id, iv: r.iv!, ciphertext: r.value, authTag: r.auth_tag! } };
}
