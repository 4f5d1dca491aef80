import { randomBytes } from 'node:crypto';
import { deleteExpiredIdempotencyKeys } from '@pushcast/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint, type ApiResponse } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Idempotent notification create over real HTTP and PostgreSQL: repeats answer the first response
// and create nothing; the key and its notification are written together or not at all.

let server: TestServer;
let projectId: number;

beforeAll(async () => {
  server = await startTestServer('idem');
  ({ projectId } = await createProject(server, 'Idempotent'));
  for (const uid of ['u1', 'u2']) {
    await call(server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, {
      token: server.adminToken,
      body: { endpoint: localEndpoint(), ...browserKeys(), uid },
    });
  }
});
afterAll(async () => server?.close());

const newKey = () => `key-${randomBytes(8).toString('hex')}`;

async function create(body: unknown, opts: { key?: string; project?: number } = {}): Promise<ApiResponse> {
  const res = await fetch(`${server.apiUrl}/projects/${opts.project ?? projectId}/notifications`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${server.adminToken}`,
      'content-type': 'application/json',
      ...(opts.key !== undefined ? { 'idempotency-key': opts.key } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : text };
}

/** Notifications of the project as the API lists them. */
async function notificationIds(project = projectId): Promise<number[]> {
  const res = await call(server.apiUrl, 'GET', `/projects/${project}/notifications?per_page=1000`, { token: server.adminToken });
  expect(res.status).toBe(200);
  return res.body.map((n: { id: number }) => n.id);
}

describe('a repeat answers the first response and creates nothing', () => {
  it('with the Idempotency-Key header', async () => {
    const key = newKey();
    const before = await notificationIds();
    const first = await create({ body: 'Hello', uids: ['u1', 'ghost'] }, { key });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(Number), scheduled: 1, uids: ['u1'] });
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const again = await create({ body: 'Hello', uids: ['u1', 'ghost'] }, { key });
    expect(again.status).toBe(201);
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await notificationIds()).toEqual([first.body.id, ...before]);
  });

  it('with idempotency_key in a flat body; the key is not notification content', async () => {
    const key = newKey();
    const before = await notificationIds();
    const first = await create({ body: 'Flat', title: 'T', idempotency_key: key });
    expect(first.status).toBe(201);
    // Same key, same request, key order of the JSON changed: still the same request.
    const again = await create({ idempotency_key: key, title: 'T', body: 'Flat' });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    // The header form of the same key and body is the same request too.
    const viaHeader = await create({ body: 'Flat', title: 'T' }, { key });
    expect(viaHeader.headers.get('idempotent-replayed')).toBe('true');
    expect(viaHeader.body).toEqual(first.body);
    expect(await notificationIds()).toEqual([first.body.id, ...before]);

    const stored = await call(server.apiUrl, 'GET', `/notifications/${first.body.id}`, { token: server.adminToken });
    expect(stored.body).toMatchObject({ body: 'Flat', title: 'T' });
    expect(JSON.stringify(stored.body)).not.toContain(key);
    expect(stored.body).not.toHaveProperty('idempotency_key');
  });

  it('with idempotency_key beside notification in the wrapped body (not inside it)', async () => {
    const key = newKey();
    const before = await notificationIds();
    const wrapped = { notification: { body: 'Wrapped' }, uids: ['u2'], idempotency_key: key };
    const first = await create(wrapped);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(Number), scheduled: 1, uids: ['u2'] });
    const again = await create(wrapped);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    expect(await notificationIds()).toEqual([first.body.id, ...before]);

    const inside = await create({ notification: { body: 'Wrapped', idempotency_key: newKey() } });
    expect(inside.status).toBe(422);
    expect(inside.body).toMatchObject({ code: 'validation', field: 'notification.idempotency_key', rule: 'unknown_field' });
  });

  it('a scheduled notification replays {id, send_at}', async () => {
    const key = newKey();
    const sendAt = new Date(Date.now() + 3_600_000).toISOString();
    const first = await create({ body: 'Later', send_at: sendAt }, { key });
    expect(first.body).toEqual({ id: expect.any(Number), send_at: sendAt });
    const again = await create({ body: 'Later', send_at: sendAt }, { key });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
  });
});

describe('refusals', () => {
  it('the same key with a different body is 422 idempotency_key_reused, and creates nothing', async () => {
    const key = newKey();
    const first = await create({ body: 'One' }, { key });
    expect(first.status).toBe(201);
    const before = await notificationIds();
    for (const other of [{ body: 'Two' }, { body: 'One', title: 'x' }, { notification: { body: 'One' } }]) {
      const res = await create(other, { key });
      expect(res.status).toBe(422);
      expect(res.body).toMatchObject({ code: 'validation', field: 'idempotency_key', rule: 'idempotency_key_reused' });
    }
    expect(await notificationIds()).toEqual(before);
  });

  it.each([
    ['an empty header', { key: '' }, {}, 'Idempotency-Key', 'idempotency_key'],
    ['a header of 256 characters', { key: 'k'.repeat(256) }, {}, 'Idempotency-Key', 'idempotency_key'],
    ['an empty field', {}, { idempotency_key: '' }, 'idempotency_key', 'idempotency_key'],
    ['a field with a control character', {}, { idempotency_key: 'a\u0001b' }, 'idempotency_key', 'idempotency_key'],
    ['a field beyond ASCII', {}, { idempotency_key: 'ключ' }, 'idempotency_key', 'idempotency_key'],
    ['a field that is not a string', {}, { idempotency_key: 42 }, 'idempotency_key', 'invalid_type'],
    ['a header and a field that differ', { key: 'one' }, { idempotency_key: 'two' }, 'idempotency_key', 'idempotency_key_mismatch'],
  ])('an invalid key (%s) is 422 naming it', async (_label, opts, extra, field, rule) => {
    const before = await notificationIds();
    const res = await create({ body: 'x', ...extra }, opts);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'validation', field, rule });
    expect(await notificationIds()).toEqual(before);
  });

  it('a key of 255 printable characters, spaces included, is fine', async () => {
    const key = `${' ~!"#'}${'k'.repeat(245)}${newKey().slice(-5)}`;
    expect(key).toHaveLength(255);
    const a = await create({ body: 'long key', idempotency_key: key });
    const b = await create({ body: 'long key', idempotency_key: key });
    expect(a.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    expect(b.body).toEqual(a.body);
  });

  it('a refused request does not use up its key', async () => {
    const key = newKey();
    const bad = await create({ body: 'x', target_url: 'not a url' }, { key });
    expect(bad.status).toBe(422);
    const good = await create({ body: 'x' }, { key });
    expect(good.status).toBe(201);
    expect(good.headers.get('idempotent-replayed')).toBeNull();
  });
});

describe('concurrency, scope, expiry and atomicity', () => {
  it('ten identical requests racing create one notification, and all get its answer', async () => {
    for (let round = 0; round < 3; round += 1) {
      const key = newKey();
      const before = await notificationIds();
      const answers = await Promise.all(Array.from({ length: 10 }, () => create({ body: `race ${round}`, uids: ['u1'] }, { key })));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(201));
      const ids = new Set(answers.map((a) => a.body.id));
      expect(ids.size).toBe(1);
      for (const a of answers) expect(a.body).toEqual({ id: [...ids][0], scheduled: 1, uids: ['u1'] });
      expect(answers.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
      expect(await notificationIds()).toEqual([[...ids][0], ...before]);
    }
  });

  it('a key belongs to its project: the same key on another project creates there', async () => {
    const other = await createProject(server, 'Other');
    const key = newKey();
    const a = await create({ body: 'same' }, { key });
    const b = await create({ body: 'same' }, { key, project: other.projectId });
    expect(b.status).toBe(201);
    expect(b.headers.get('idempotent-replayed')).toBeNull();
    expect(b.body.id).not.toBe(a.body.id);
    expect(await notificationIds(other.projectId)).toEqual([b.body.id]);
  });

  it('a key older than 24 hours is ignored (a new request creates anew) and purged', async () => {
    const key = newKey();
    const fresh = newKey();
    const first = await create({ body: 'old' }, { key });
    await create({ body: 'fresh' }, { key: fresh });
    // Set-up: age the key by a day (the clock is PostgreSQL's).
    await server.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '24 hours 1 second' WHERE key = $1`, [key]);

    const again = await create({ body: 'old, resent' }, { key });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(again.body.id).not.toBe(first.body.id);
    // The key now answers with its new notification.
    const replay = await create({ body: 'old, resent' }, { key });
    expect(replay.body).toEqual(again.body);

    await server.db.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = $1`, [key]);
    expect(await deleteExpiredIdempotencyKeys(server.db, 1000)).toBe(1);
    const { rows } = await server.db.query(`SELECT key FROM idempotency_keys WHERE key = ANY($1::text[])`, [[key, fresh]]);
    expect(rows).toEqual([{ key: fresh }]);
  });

  it('a failed create leaves neither the key nor the notification, and the key can be used again', async () => {
    // Set-up: make PostgreSQL fail the notification's insert, then the key's answer, inside the transaction.
    await server.db.query(`
      CREATE FUNCTION fail_on_marker() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF (TG_TABLE_NAME = 'notifications' AND NEW.body = 'explode')
          OR (TG_TABLE_NAME = 'idempotency_keys' AND NEW.key LIKE 'explode-record-%' AND NEW.response_status IS NOT NULL) THEN
          RAISE EXCEPTION 'injected failure';
        END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER fail_notifications BEFORE INSERT ON notifications FOR EACH ROW EXECUTE FUNCTION fail_on_marker();
      CREATE TRIGGER fail_keys BEFORE UPDATE ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION fail_on_marker();`);
    const before = await notificationIds();
    try {
      const key = newKey();
      expect((await create({ body: 'explode' }, { key })).status).toBe(500);
      const recordKey = `explode-record-${newKey()}`;
      expect((await create({ body: 'fine' }, { key: recordKey })).status).toBe(500);
      expect(await notificationIds()).toEqual(before);
      const { rows } = await server.db.query(`SELECT key FROM idempotency_keys WHERE key = ANY($1::text[])`, [[key, recordKey]]);
      expect(rows).toEqual([]);

      await server.db.query(`DROP TRIGGER fail_notifications ON notifications; DROP TRIGGER fail_keys ON idempotency_keys`);
      const retried = await create({ body: 'explode' }, { key });
      expect(retried.status).toBe(201);
      expect(retried.headers.get('idempotent-replayed')).toBeNull();
    } finally {
      await server.db.query(`DROP TRIGGER IF EXISTS fail_notifications ON notifications; DROP TRIGGER IF EXISTS fail_keys ON idempotency_keys`);
    }
  });
});
