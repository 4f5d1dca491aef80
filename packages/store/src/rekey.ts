import { setTimeout as sleep } from 'node:timers/promises';
import {
  credentialsAad,
  ok,
  projectSecretKeyAad,
  sealSecret,
  storedSecretAad,
  vapidKeyAad,
  webhookSecretAad,
  type SealedSecret,
  type SecretKeyring,
} from '@pushcast/domain';
import { inTransaction, type Db, type Queryable } from './db.ts';
import { openSealed, sealedParams, type SecretUnreadableReason } from './sealed.ts';

/**
 * `pushcast rekey`: every sealed value not under the current PUSHCAST_SECRET_KEY is opened (with the
 * key its key id names, or read as the plaintext of a row written before it was sealed) and sealed
 * again under the current key, with the same AAD.
 *
 * Online: small transactions, each locking only its batch of rows (`FOR UPDATE SKIP LOCKED`: a row
 * that the API is writing at that moment is left for a later pass, and two rekeys never wait on
 * each other). Resumable: only rows not under the current key are read, so a run that stopped
 * midway (crash, Ctrl-C) is finished by running it again. A value that cannot be opened (sealed
 * under a key not given, or changed) is reported and left as it is.
 */

export type SealedTableName = 'project_credentials' | 'senders' | 'webhook_secrets' | 'project_secret_keys' | 'pushcast_secrets';

/** A row not under the current key: where it is (for reports), how to find the next one, what it holds. */
interface StaleRow {
  readonly ref: string;
  readonly cursor: readonly unknown[];
  readonly aad: string;
  /** Sealed under another key, or null when the row holds plaintext (`plaintext`). */
  readonly sealed: SealedSecret | null;
  readonly plaintext: Buffer | null;
}

interface SealedTable {
  readonly name: SealedTableName;
  /** Up to `limit` rows after `after` (keyset) not sealed under `currentId`, locked; rows locked by others are skipped. */
  lockStale(tx: Queryable, currentId: string, after: readonly unknown[] | null, limit: number): Promise<StaleRow[]>;
  write(tx: Queryable, row: StaleRow, sealed: SealedSecret): Promise<void>;
  /** [rows holding a secret, of which not under `currentId`]. */
  count(db: Queryable, currentId: string): Promise<{ total: number; stale: number }>;
}

const projectCredentials: SealedTable = {
  name: 'project_credentials',
  async lockStale(tx, currentId, after, limit) {
    const { rows } = await tx.query<{ project_id: number; platform: 'apns' | 'fcm'; key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
      `SELECT project_id, platform, key_id, iv, ciphertext, auth_tag FROM project_credentials
       WHERE key_id <> $1 AND ($2::bigint IS NULL OR (project_id, platform) > ($2::bigint, $3::text))
       ORDER BY project_id, platform LIMIT $4 FOR UPDATE SKIP LOCKED`,
      [currentId, after?.[0] ?? null, after?.[1] ?? null, limit],
    );
    return rows.map((r) => ({
      ref: `project ${r.project_id} ${r.platform}`,
      cursor: [r.project_id, r.platform],
      aad: credentialsAad(r.project_id, r.platform),
      sealed: { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag },
      plaintext: null,
    }));
  },
  async write(tx, row, sealed) {
    // updated_at stays: the credentials did not change, only the key they are sealed under.
    await tx.query(
      `UPDATE project_credentials SET key_id = $3, iv = $4, ciphertext = $5, auth_tag = $6 WHERE project_id = $1 AND platform = $2`,
      [row.cursor[0], row.cursor[1], ...sealedParams(sealed)],
    );
  },
  async count(db, currentId) {
    const { rows } = await db.query<{ total: number; stale: number }>(
      `SELECT count(*)::int AS total, (count(*) FILTER (WHERE key_id <> $1))::int AS stale FROM project_credentials`,
      [currentId],
    );
    return rows[0]!;
  },
};

const senders: SealedTable = {
  name: 'senders',
  async lockStale(tx, currentId, after, limit) {
    const { rows } = await tx.query<{
      id: number;
      vapid_private_key: string | null;
      key_id: string | null;
      iv: Buffer | null;
      sealed_private_key: Buffer | null;
      auth_tag: Buffer | null;
    }>(
      `SELECT id, vapid_private_key, key_id, iv, sealed_private_key, auth_tag FROM senders
       WHERE key_id IS DISTINCT FROM $1 AND id > $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [currentId, after?.[0] ?? 0, limit],
    );
    return rows.map((r) => ({
      ref: `sender ${r.id}`,
      cursor: [r.id],
      aad: vapidKeyAad(r.id),
      sealed: r.key_id === null ? null : { keyId: r.key_id, iv: r.iv!, ciphertext: r.sealed_private_key!, authTag: r.auth_tag! },
      plaintext: r.vapid_private_key === null ? null : Buffer.from(r.vapid_private_key, 'utf8'),
    }));
  },
  async write(tx, row, sealed) {
    await tx.query(
      `UPDATE senders SET vapid_private_key = NULL, key_id = $2, iv = $3, sealed_private_key = $4, auth_tag = $5 WHERE id = $1`,
      [row.cursor[0], ...sealedParams(sealed)],
    );
  },
  async count(db, currentId) {
    const { rows } = await db.query<{ total: number; stale: number }>(
      `SELECT count(*)::int AS total, (count(*) FILTER (WHERE key_id IS DISTINCT FROM $1))::int AS stale FROM senders`,
      [currentId],
    );
    return rows[0]!;
  },
};

/**
 * A table of sealed values with a bigint `id`, columns `key_id, iv, ciphertext, auth_tag`, and an
 * AAD made from one of its columns (`owner`: the row's own id, or the row it belongs to).
 */
function idKeyedTable(
  name: SealedTableName,
  owner: 'id' | 'webhook_id',
  aad: (ownerId: number) => string,
  ref: (id: number, ownerId: number) => string,
): SealedTable {
  // Names are this module's constants, never input.
  return {
    name,
    async lockStale(tx, currentId, after, limit) {
      const { rows } = await tx.query<{ id: number; owner: number; key_id: string; iv: Buffer; ciphertext: Buffer; auth_tag: Buffer }>(
        `SELECT id, ${owner} AS owner, key_id, iv, ciphertext, auth_tag FROM ${name}
         WHERE key_id <> $1 AND id > $2 ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [currentId, after?.[0] ?? 0, limit],
      );
      return rows.map((r) => ({
        ref: ref(r.id, r.owner),
        cursor: [r.id],
        aad: aad(r.owner),
        sealed: { keyId: r.key_id, iv: r.iv, ciphertext: r.ciphertext, authTag: r.auth_tag },
        plaintext: null,
      }));
    },
    async write(tx, row, sealed) {
      await tx.query(`UPDATE ${name} SET key_id = $2, iv = $3, ciphertext = $4, auth_tag = $5 WHERE id = $1`, [
        row.cursor[0],
        ...sealedParams(sealed),
      ]);
    },
    async count(db, currentId) {
      const { rows } = await db.query<{ total: number; stale: number }>(
        `SELECT count(*)::int AS total, (count(*) FILTER (WHERE key_id <> $1))::int AS stale FROM ${name}`,
        [currentId],
      );
      return rows[0]!;
    },
  };
}

/** Webhooks' signing secrets (migration 0010), one row each, two during a rotation's overlap. */
const webhookSecrets = idKeyedTable('webhook_secrets', 'webhook_id', webhookSecretAad, (id, webhook) => `webhook ${webhook} secret ${id}`);

/** Projects' secret keys (migration 0013: Beams' secretKey, CloudSignal's X-Secret-Key). */
const projectSecretKeys = idKeyedTable('project_secret_keys', 'id', projectSecretKeyAad, (id) => `secret key ${id}`);

/** Only sealed rows: a plaintext one is the random secret of a deployment without a key (0008), not a sealed value. */
const pushcastSecrets: SealedTable = {
  name: 'pushcast_secrets',
  async lockStale(tx, currentId, after, limit) {
    const { rows } = await tx.query<{ name: string; value: Buffer; key_id: string; iv: Buffer; auth_tag: Buffer }>(
      `SELECT name, value, key_id, iv, auth_tag FROM pushcast_secrets
       WHERE key_id IS NOT NULL AND key_id <> $1 AND name > $2 ORDER BY name LIMIT $3 FOR UPDATE SKIP LOCKED`,
      [currentId, after?.[0] ?? '', limit],
    );
    return rows.map((r) => ({
      ref: `secret ${r.name}`,
      cursor: [r.name],
      aad: storedSecretAad(r.name),
      sealed: { keyId: r.key_id, iv: r.iv, ciphertext: r.value, authTag: r.auth_tag },
      plaintext: null,
    }));
  },
  async write(tx, row, sealed) {
    const [keyId, iv, ciphertext, authTag] = sealedParams(sealed);
    await tx.query(`UPDATE pushcast_secrets SET value = $2, key_id = $3, iv = $4, auth_tag = $5 WHERE name = $1`, [
      row.cursor[0],
      ciphertext,
      keyId,
      iv,
      authTag,
    ]);
  },
  async count(db, currentId) {
    const { rows } = await db.query<{ total: number; stale: number }>(
      `SELECT (count(*) FILTER (WHERE key_id IS NOT NULL))::int AS total,
              (count(*) FILTER (WHERE key_id IS NOT NULL AND key_id <> $1))::int AS stale FROM pushcast_secrets`,
      [currentId],
    );
    return rows[0]!;
  },
};

/** Every table holding sealed values, in the order rekey walks them. */
export const SEALED_TABLES: readonly SealedTable[] = [projectCredentials, senders, webhookSecrets, projectSecretKeys, pushcastSecrets];

export interface UnreadableSecret {
  readonly table: SealedTableName;
  readonly row: string;
  readonly reason: SecretUnreadableReason;
}

export type RekeyEvent =
  | { readonly kind: 'start'; readonly table: SealedTableName; readonly total: number; readonly stale: number }
  | { readonly kind: 'batch'; readonly table: SealedTableName; readonly resealed: number }
  /** Rows still not under the current key after a pass: locked by a writer at that moment, or written since under an old key. */
  | { readonly kind: 'waiting'; readonly table: SealedTableName; readonly remaining: number; readonly passes: number }
  | { readonly kind: 'unreadable'; readonly secret: UnreadableSecret }
  | { readonly kind: 'done'; readonly table: SealedTableName; readonly resealed: number; readonly alreadyCurrent: number };

export interface RekeyTableSummary {
  readonly resealed: number;
  /** Rows that were under the current key before this run (a previous run's work, or written since the key changed). */
  readonly alreadyCurrent: number;
}

export interface RekeySummary {
  readonly tables: Readonly<Record<SealedTableName, RekeyTableSummary>>;
  readonly resealed: number;
  readonly unreadable: readonly UnreadableSecret[];
}

export interface RekeyOptions {
  /** Rows re-sealed per transaction (default 100). */
  readonly batchSize?: number;
  /** Pause before walking a table again for rows that were locked (default 500 ms). */
  readonly retryDelayMs?: number;
  readonly onEvent?: (event: RekeyEvent) => void;
}

/** Re-seals every sealed value under `ring.current`. Throws only when the keyring has no current key. */
export async function rekeySecrets(db: Db, ring: SecretKeyring, options: RekeyOptions = {}): Promise<RekeySummary> {
  const current = ring.current;
  const currentId = ring.currentId;
  if (current === undefined || currentId === undefined) throw new Error('rekey needs PUSHCAST_SECRET_KEY (the key to seal under)');
  const batchSize = options.batchSize ?? 100;
  const emit = options.onEvent ?? (() => {});
  const tables = {} as Record<SealedTableName, RekeyTableSummary>;
  const unreadable: UnreadableSecret[] = [];
  let total = 0;
  for (const table of SEALED_TABLES) {
    const before = await table.count(db, currentId);
    emit({ kind: 'start', table: table.name, ...before });
    const failed = new Map<string, UnreadableSecret>();
    let resealed = 0;
    for (let passes = 1; ; passes += 1) {
      let after: readonly unknown[] | null = null;
      for (;;) {
        const done = await inTransaction(db, async (tx) => {
          const rows = await table.lockStale(tx, currentId, after, batchSize);
          let n = 0;
          for (const row of rows) {
            const opened = row.sealed === null ? ok(row.plaintext!) : openSealed(ring, row.sealed, row.aad);
            if (!opened.ok) {
              if (!failed.has(row.ref)) {
                const secret = { table: table.name, row: row.ref, reason: opened.error };
                failed.set(row.ref, secret);
                emit({ kind: 'unreadable', secret });
              }
              continue;
            }
            await table.write(tx, row, sealSecret(current, opened.value, row.aad));
            n += 1;
          }
          after = rows.at(-1)?.cursor ?? after;
          return { rows: rows.length, resealed: n };
        });
        resealed += done.resealed;
        if (done.resealed > 0) emit({ kind: 'batch', table: table.name, resealed });
        if (done.rows < batchSize) break;
      }
      const remaining = (await table.count(db, currentId)).stale - failed.size;
      if (remaining <= 0) break;
      emit({ kind: 'waiting', table: table.name, remaining, passes });
      await sleep(options.retryDelayMs ?? 500);
    }
    tables[table.name] = { resealed, alreadyCurrent: before.total - before.stale };
    emit({ kind: 'done', table: table.name, resealed, alreadyCurrent: before.total - before.stale });
    unreadable.push(...failed.values());
    total += resealed;
  }
  return { tables, resealed: total, unreadable };
}

/**
 * Sealed values not under the current key, per table (plaintext senders count): what `pushcast
 * rekey` would re-seal. Without a current key, only the senders still holding a plaintext key.
 */
export async function secretsToRekey(db: Queryable, ring: SecretKeyring): Promise<Partial<Record<SealedTableName, number>>> {
  const out: Partial<Record<SealedTableName, number>> = {};
  if (ring.currentId === undefined) {
    const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM senders WHERE vapid_private_key IS NOT NULL`);
    if (rows[0]!.n > 0) out.senders = rows[0]!.n;
    return out;
  }
  for (const table of SEALED_TABLES) {
    const { stale } = await table.count(db, ring.currentId);
    if (stale > 0) out[table.name] = stale;
  }
  return out;
}
