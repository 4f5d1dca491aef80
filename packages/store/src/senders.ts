import type { Sender } from '@pushcast/domain';
import type { Queryable } from './db.ts';

interface SenderRow {
  id: number;
  name: string;
  vapid_private_key: string;
  vapid_public_key: string;
  created_at: Date;
}

const COLUMNS = 'id, name, vapid_private_key, vapid_public_key, created_at';

const toSender = (r: SenderRow): Sender => ({
  id: r.id,
  name: r.name,
  vapidPrivateKey: r.vapid_private_key,
  vapidPublicKey: r.vapid_public_key,
  createdAt: r.created_at,
});

export async function insertSender(
  db: Queryable,
  s: { name: string; vapidPrivateKey: string; vapidPublicKey: string },
): Promise<Sender> {
  const { rows } = await db.query<SenderRow>(
    `INSERT INTO senders (name, vapid_private_key, vapid_public_key) VALUES ($1, $2, $3) RETURNING ${COLUMNS}`,
    [s.name, s.vapidPrivateKey, s.vapidPublicKey],
  );
  return toSender(rows[0]!);
}

export async function listSenders(db: Queryable): Promise<Sender[]> {
  const { rows } = await db.query<SenderRow>(`SELECT ${COLUMNS} FROM senders ORDER BY id`);
  return rows.map(toSender);
}

export async function findSender(db: Queryable, id: number): Promise<Sender | null> {
  const { rows } = await db.query<SenderRow>(`SELECT ${COLUMNS} FROM senders WHERE id = $1`, [id]);
  return rows[0] ? toSender(rows[0]) : null;
}

export async function renameSender(db: Queryable, id: number, name: string): Promise<Sender | null> {
  const { rows } = await db.query<SenderRow>(`UPDATE senders SET name = $2 WHERE id = $1 RETURNING ${COLUMNS}`, [id, name]);
  return rows[0] ? toSender(rows[0]) : null;
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
