import { createHash, randomBytes } from 'node:crypto';
import { createDb, ensureDatabase, listMigrations, migrate } from '@pushcast/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl } from './support/database.ts';
import { createProject, insertLegacySender, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Project secret keys (issue 15: the Beams secretKey of the project's instance, and issue 16's
// X-Secret-Key) and every project's Beams instance id, over the HTTP API.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let server: TestServer;
let keyless: TestServer;
beforeAll(async () => {
  [server, keyless] = await Promise.all([
    startTestServer('secretkeys', { PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64') }),
    startTestServer('secretkeyskeyless', { PUSHCAST_SECRET_KEY: '' }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), keyless?.close()]);
});

const api = (s: TestServer, method: string, path: string, token = s.adminToken) => call(s.apiUrl, method, path, { token });

describe('secret keys', () => {
  it('are shown once, listed without the key, stored hashed and sealed, and deleted', async () => {
    const { projectId } = await createProject(server, 'keys');
    const created = await api(server, 'POST', `/projects/${projectId}/secret_keys`);
    expect(created.status).toBe(201);
    const secret: string = created.body.secret_key;
    expect(secret).toMatch(/^sk_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({ id: expect.any(Number), project_id: projectId, prefix: secret.slice(0, 8) });
    expect(Date.parse(created.body.created_at)).not.toBeNaN();

    // Several live at once (rotation), each its own.
    const second = await api(server, 'POST', `/projects/${projectId}/secret_keys`);
    expect(second.body.secret_key).not.toBe(secret);

    const list = await api(server, 'GET', `/projects/${projectId}/secret_keys`);
    expect(list.status).toBe(200);
    expect(list.body.map((k: { id: number }) => k.id)).toEqual([created.body.id, second.body.id]);
    expect(list.body[0]).not.toHaveProperty('secret_key');
    const listed = JSON.stringify(list.body);
    expect(listed).not.toContain(secret.slice(8));
    expect(listed).not.toContain(second.body.secret_key.slice(8));

    // At rest: its SHA-256 for lookups, and sealed; its text is nowhere in the row.
    const { rows } = await server.db.query(`SELECT key_hash, encode(ciphertext, 'escape') AS c, row_to_json(k)::text AS r FROM project_secret_keys k WHERE id = $1`, [
      created.body.id,
    ]);
    expect(rows[0].key_hash).toEqual(createHash('sha256').update(secret).digest());
    expect(rows[0].c).not.toContain(secret.slice(3));
    expect(rows[0].r).not.toContain(secret.slice(3));

    expect((await api(server, 'DELETE', `/projects/${projectId}/secret_keys/${created.body.id}`)).status).toBe(204);
    expect((await api(server, 'DELETE', `/projects/${projectId}/secret_keys/${created.body.id}`)).status).toBe(404);
    const after = await api(server, 'GET', `/projects/${projectId}/secret_keys`);
    expect(after.body.map((k: { id: number }) => k.id)).toEqual([second.body.id]);
  });

  it('belong to their project: another project neither lists nor deletes them, a scoped token reaches only its own', async () => {
    const a = await createProject(server, 'a');
    const b = await createProject(server, 'b');
    const key = await api(server, 'POST', `/projects/${a.projectId}/secret_keys`);
    expect((await api(server, 'GET', `/projects/${b.projectId}/secret_keys`)).body).toEqual([]);
    expect((await api(server, 'DELETE', `/projects/${b.projectId}/secret_keys/${key.body.id}`)).status).toBe(404);

    const tokenOfB = await scopedToken(server, [b.projectId]);
    expect((await api(server, 'POST', `/projects/${a.projectId}/secret_keys`, tokenOfB)).status).toBe(403);
    expect((await api(server, 'GET', `/projects/${a.projectId}/secret_keys`, tokenOfB)).status).toBe(403);
    expect((await api(server, 'POST', `/projects/${b.projectId}/secret_keys`, tokenOfB)).status).toBe(201);
    expect((await api(server, 'POST', `/projects/999999/secret_keys`)).status).toBe(404);
  });

  it('cannot be created without PUSHCAST_SECRET_KEY (409), since they are kept sealed', async () => {
    // Without a key no sender can be created either: one from before VAPID keys were sealed.
    const { projectId } = await createProject(keyless, 'keyless', { senderId: (await insertLegacySender(keyless.db)).id });
    const refused = await api(keyless, 'POST', `/projects/${projectId}/secret_keys`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'conflict', rule: 'secret_key_not_configured' });
    expect((await keyless.db.query('SELECT count(*)::int AS n FROM project_secret_keys')).rows[0].n).toBe(0);
  });
});

describe('Beams instance ids', () => {
  it('every project has its own, shown in GET /projects/:id', async () => {
    const a = await createProject(server, 'instance a');
    const b = await createProject(server, 'instance b');
    const ga = await api(server, 'GET', `/projects/${a.projectId}`);
    const gb = await api(server, 'GET', `/projects/${b.projectId}`);
    expect(ga.body.beams_instance_id).toMatch(UUID);
    expect(gb.body.beams_instance_id).toMatch(UUID);
    expect(ga.body.beams_instance_id).not.toBe(gb.body.beams_instance_id);
    const listed = await api(server, 'GET', '/projects');
    expect(listed.body.find((p: { id: number }) => p.id === a.projectId).beams_instance_id).toBe(ga.body.beams_instance_id);
  });

  it('projects that existed before the migration get one each', async () => {
    const database = freshDatabaseUrl('beamsmigration');
    await ensureDatabase(database.url);
    const db = createDb(database.url, 2);
    try {
      // Projects made under the first schema, long before instance ids; then every later migration.
      const first = (await listMigrations())[0]!;
      await db.query(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      await db.query(first.sql);
      await db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [first.version, first.name]);
      await db.query(`INSERT INTO senders (name, vapid_private_key, vapid_public_key) VALUES ('s', 'x', 'y')`);
      await db.query(`INSERT INTO projects (sender_id, name, website) SELECT id, 'p' || g, 'https://example.com' FROM senders, generate_series(1, 3) g`);
      await migrate(db);
      const { rows } = await db.query<{ beams_instance_id: string }>('SELECT beams_instance_id FROM projects');
      expect(rows).toHaveLength(3);
      expect(new Set(rows.map((r) => r.beams_instance_id)).size).toBe(3);
      for (const r of rows) expect(r.beams_instance_id).toMatch(UUID);
    } finally {
      await db.end();
      await database.drop();
    }
  });
});
