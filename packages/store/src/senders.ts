import { err, ok, sealSecret, vapidKeyAad, type Result, type SecretKeyring, type Sender, type VapidKeyPair } from '@pushcast/domain';
import type { Queryable } from './db.ts';
import { openSealed, sealedParams, type SecretUnreadableReason } from './sealed.ts';

/**
 * Senders and their VAPID key pairs (migration 0001, sealed since 0012). The private key is sealed
 * under PUSHCAST_SECRET_KEY and bound to its sender (AAD `pushcast:vapid:<id>`); a row written
 * before 0012 keeps its plaintext key until `pushcast rekey` seals it. Only the public parts leave
 * this module as a `Sender`; the private key is opened by the functions that say so.
 */

interface SenderRow {
  id: number;
  name: string;
  vapid_public_key: string;
  created_at: Date;
}

interface SenderKeyRow extends SenderRow {
  /** Plaintext PEM of a row not sealed yet (written before migration 0012). */
  vapid_private_key: string | null;
  key_id: string | null;
  iv: Buffer | null;
  sealed_private_key: Buffer | null;
  auth_tag: Buffer | null;
}

const COLUMNS = 'id, name, vapid_public_key, created_at';
const KEY_COLUMNS = `${COLUMNS}, vapid_private_key, key_id, iv, sealed_private_key, auth_tag`;

const toSender = (r: SenderRow): Sender => ({
  id: r.id,
  name: r.name,
  vapidPublicKey: r.vapid_public_key,
  createdAt: r.created_at,
});

/** A sender with its private key opened, or why it does not open. */
export interface SenderWithKey {
  readonly sender: Sender;
  readonly privateKey: Result<string, SecretUnreadableReason>;
}

function privateKeyOf(ring: SecretKeyring, r: SenderKeyRow): Result<string, SecretUnreadableReason> {
  if (r.vapid_private_key !== null) return ok(r.vapid_private_key);
  const opened = openSealed(
    ring,
    { keyId: r.key_id!, iv: r.iv!, ciphertext: r.sealed_private_key!, authTag: r.auth_tag! },
    vapidKeyAad(r.id),
  );
  return opened.ok ? ok(opened.value.toString('utf8')) : opened;
}

const withKey = (ring: SecretKeyring, r: SenderKeyRow): SenderWithKey => ({ sender: toSender(r), privateKey: privateKeyOf(ring, r) });

/**
 * Stores a sender with its private key sealed under `secretKey` (the current key). The id is drawn
 * first because the seal is bound to it.
 */
export async function insertSender(
  db: Queryable,
  secretKey: Buffer,
  s: { name: string; keys: VapidKeyPair },
): Promise<Sender> {
  const { rows: ids } = await db.query<{ id: number }>(`SELECT nextval(pg_get_serial_sequence('senders', 'id')) AS id`);
  const id = ids[0]!.id;
  const sealed = sealSecret(secretKey, s.keys.privateKeyPem, vapidKeyAad(id));
  const { rows } = await db.query<SenderRow>(
    `INSERT INTO senders (id, name, vapid_public_key, key_id, iv, sealed_private_key, auth_tag)
     VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING ${COLUMNS}`,
    [id, s.name, s.keys.publicKeyPem, ...sealedParams(sealed)],
  );
  return toSender(rows[0]!);
}

export async function listSendersWithKeys(db: Queryable, ring: SecretKeyring): Promise<SenderWithKey[]> {
  const { rows } = await db.query<SenderKeyRow>(`SELECT ${KEY_COLUMNS} FROM senders ORDER BY id`);
  return rows.map((r) => withKey(ring, r));
}

/** The sender without its private key (its public key, e.g. for `vapid_public_key`). */
export async function findSender(db: Queryable, id: number): Promise<Sender | null> {
  const { rows } = await db.query<SenderRow>(`SELECT ${COLUMNS} FROM senders WHERE id = $1`, [id]);
  return rows[0] ? toSender(rows[0]) : null;
}

export async function findSenderWithKey(db: Queryable, ring: SecretKeyring, id: number): Promise<SenderWithKey | null> {
  const { rows } = await db.query<SenderKeyRow>(`SELECT ${KEY_COLUMNS} FROM senders WHERE id = $1`, [id]);
  return rows[0] ? withKey(ring, rows[0]) : null;
}

export async function renameSender(db: Queryable, ring: SecretKeyring, id: number, name: string): Promise<SenderWithKey | null> {
  const { rows } = await db.query<SenderKeyRow>(`UPDATE senders SET name = $2 WHERE id = $1 RETURNING ${KEY_COLUMNS}`, [id, name]);
  return rows[0] ? withKey(ring, rows[0]) : null;
}

/**
 * The worker's entry point: a sender's key pair, opened to sign VAPID headers. null = no such
 * sender; an error = its private key does not open in this process (and why).
 */
export async function loadSenderKeys(
  db: Queryable,
  ring: SecretKeyring,
  id: number,
): Promise<Result<VapidKeyPair | null, SecretUnreadableReason>> {
  const found = await findSenderWithKey(db, ring, id);
  if (!found) return ok(null);
  if (!found.privateKey.ok) return err(found.privateKey.error);
  return ok({ privateKeyPem: found.privateKey.value, publicKeyPem: found.sender.vapidPublicKey });
}

export type DeleteSenderOutcome = 'deleted' | 'not_found' | 'in_use';

/** A sender still used by a project (even one being deleted) is kept: its keys sign that project's pushes. */
export async function deleteSender(db: Queryable, id: number): Promise<DeleteSenderOutcome> {
  const { rows } = await db.query<{ deleted: boolean; in_use: boolean }>(
    `WITH used AS (SELECT EXISTS (SELECT 1 FROM projects WHERE sender_id = $1) AS in_use),
          del AS (DELETE FROM senders WHERE id = $1 AND NOT (SELECT in_use FROM used) RETURNING id)
     SELECT EXISTS (SELECT 1 FROM del) AS deleted, (SELECT in_use FROM used) AS in_use`,
    [id],
  );
  const r = rows[0]!;
  if (r.deleted) return 'deleted';
  return r.in_use && (await findSender(db, id)) ? 'in_use' : 'not_found';
}
