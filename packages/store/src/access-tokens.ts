import type { AccessToken } from '@pushcast/domain';
import { inTransaction, type Db, type Queryable } from './db.ts';

interface AccessTokenRow {
  id: number;
  name: string;
  token_prefix: string;
  admin: boolean;
  project_ids: string[]; // int8[] arrives as strings
  created_at: Date;
}

const COLUMNS = 'id, name, token_prefix, admin, project_ids, created_at';

const toAccessToken = (r: AccessTokenRow): AccessToken => ({
  id: r.id,
  name: r.name,
  prefix: r.token_prefix,
  admin: r.admin,
  projectIds: r.project_ids.map(Number),
  createdAt: r.created_at,
});

export interface NewAccessToken {
  readonly name: string;
  readonly tokenHash: Buffer;
  readonly tokenPrefix: string;
  readonly hmacKeyState: Buffer;
  readonly admin: boolean;
  readonly projectIds: readonly number[];
}

export async function insertAccessToken(db: Queryable, t: NewAccessToken): Promise<AccessToken> {
  const { rows } = await db.query<AccessTokenRow>(
    `INSERT INTO access_tokens (name, token_hash, token_prefix, hmac_key_state, admin, project_ids)
     VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${COLUMNS}`,
    [t.name, t.tokenHash, t.tokenPrefix, t.hmacKeyState, t.admin, t.projectIds],
  );
  return toAccessToken(rows[0]!);
}

/** The live (not revoked) token with this hash. */
export async function findAccessTokenByHash(db: Queryable, tokenHash: Buffer): Promise<AccessToken | null> {
  const { rows } = await db.query<AccessTokenRow>(
    `SELECT ${COLUMNS} FROM access_tokens WHERE token_hash = $1 AND revoked_at IS NULL`,
    [tokenHash],
  );
  return rows[0] ? toAccessToken(rows[0]) : null;
}

export async function listAccessTokens(db: Queryable): Promise<AccessToken[]> {
  const { rows } = await db.query<AccessTokenRow>(`SELECT ${COLUMNS} FROM access_tokens WHERE revoked_at IS NULL ORDER BY id`);
  return rows.map(toAccessToken);
}

export async function revokeAccessToken(db: Queryable, id: number): Promise<boolean> {
  const { rowCount } = await db.query(`UPDATE access_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL`, [id]);
  return rowCount === 1;
}

/**
 * Inserts the token only when no live admin token exists, atomically across processes starting
 * together (first-start bootstrap). Returns null when an admin token already existed.
 */
export async function insertFirstAdminToken(
  db: Db,
  t: Omit<NewAccessToken, 'admin' | 'projectIds'>,
): Promise<AccessToken | null> {
  return inTransaction(db, async (tx) => {
    // Taken in its own statement so that the NOT EXISTS below sees what a racing process committed.
    await tx.query('SELECT pg_advisory_xact_lock(7365002)');
    const { rows } = await tx.query<AccessTokenRow>(
      `INSERT INTO access_tokens (name, token_hash, token_prefix, hmac_key_state, admin, project_ids)
       SELECT $1, $2, $3, $4, true, '{}'
       WHERE NOT EXISTS (SELECT 1 FROM access_tokens WHERE admin AND revoked_at IS NULL)
       RETURNING ${COLUMNS}`,
      [t.name, t.tokenHash, t.tokenPrefix, t.hmacKeyState],
    );
    return rows[0] ? toAccessToken(rows[0]) : null;
  });
}
