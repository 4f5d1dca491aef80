import { generateVapidKeyPair } from '@pushcast/domain';
import type { Queryable } from '@pushcast/store';
import { call } from './http.ts';
import type { TestServer } from './server.ts';

/**
 * A sender and a project made through the API with the admin token (or a project of an existing
 * sender: `senderId`).
 */
export async function createProject(
  server: TestServer,
  name = 'Project',
  opts: { senderId?: number } = {},
): Promise<{ senderId: number; projectId: number }> {
  const senderId =
    opts.senderId ?? (await call(server.apiUrl, 'POST', '/senders', { token: server.adminToken, body: { name: `${name} sender` } })).body.id;
  const project = await call(server.apiUrl, 'POST', '/projects', {
    token: server.adminToken,
    body: { sender_id: senderId, name, website: 'https://example.com' },
  });
  if (project.status !== 201) throw new Error(`project not created: ${JSON.stringify(project.body)}`);
  return { senderId, projectId: project.body.id };
}

/**
 * A sender as rows written before VAPID private keys were sealed (migration 0012) look: the
 * private key in plaintext. Set-up only (no API writes one any more). Returns its id and keys.
 */
export async function insertLegacySender(db: Queryable, name = 'legacy'): Promise<{ id: number; privateKeyPem: string; publicKeyPem: string }> {
  const keys = generateVapidKeyPair();
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO senders (name, vapid_private_key, vapid_public_key) VALUES ($1, $2, $3) RETURNING id`,
    [name, keys.privateKeyPem, keys.publicKeyPem],
  );
  return { id: rows[0]!.id, ...keys };
}

/** A token limited to the given projects, minted through the admin API. */
export async function scopedToken(server: TestServer, projectIds: number[]): Promise<string> {
  const res = await call(server.apiUrl, 'POST', '/access_tokens', {
    token: server.adminToken,
    body: { name: 'scoped', project_ids: projectIds },
  });
  if (res.status !== 201) throw new Error(`token not created: ${JSON.stringify(res.body)}`);
  return res.body.token;
}
