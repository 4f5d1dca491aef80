import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, insertLegacySender, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Webhooks over the HTTP API: the secret shown once, the URL rules, events, scope, and no secret
// without PUSHCAST_SECRET_KEY. Delivery is test/webhook-delivery.test.ts.

let server: TestServer;
let keyless: TestServer;
beforeAll(async () => {
  [server, keyless] = await Promise.all([
    startTestServer('webhooksapi', { PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64') }),
    startTestServer('webhookskeyless', { PUSHCAST_SECRET_KEY: '' }),
  ]);
});
afterAll(async () => {
  await Promise.all([server?.close(), keyless?.close()]);
});

const api = (s: TestServer, method: string, path: string, body?: unknown, token = s.adminToken) =>
  call(s.apiUrl, method, path, { token, ...(body === undefined ? {} : { body }) });

describe('webhooks API', () => {
  it('creates a webhook and shows its secret only in that answer and after a rotation', async () => {
    const { projectId } = await createProject(server, 'hooks');
    const created = await api(server, 'POST', `/projects/${projectId}/webhooks`, {
      url: 'https://hooks.example.com/pushcast',
      events: ['notification.completed', 'notification.*'],
      description: 'CRM',
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      project_id: projectId,
      url: 'https://hooks.example.com/pushcast',
      events: ['notification.completed', 'notification.*'],
      description: 'CRM',
      enabled: true,
      disabled_reason: null,
    });
    const secret: string = created.body.secret;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(secret.slice('whsec_'.length), 'base64')).toHaveLength(24);
    const id = created.body.id;

    const one = await api(server, 'GET', `/projects/${projectId}/webhooks/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('secret');
    const list = await api(server, 'GET', `/projects/${projectId}/webhooks`);
    expect(list.body.map((w: { id: number }) => w.id)).toEqual([id]);
    expect(JSON.stringify(list.body)).not.toContain(secret.slice(6));

    // Sealed at rest: the secret's text is nowhere in the database.
    const { rows } = await server.db.query(`SELECT encode(ciphertext, 'escape') AS c FROM webhook_secrets WHERE webhook_id = $1`, [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0].c).not.toContain(secret.slice(6));

    const rotated = await api(server, 'POST', `/projects/${projectId}/webhooks/${id}/rotate_secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(secret);
    const secrets = await server.db.query(`SELECT expires_at FROM webhook_secrets WHERE webhook_id = $1 ORDER BY id`, [id]);
    // The old one signs 24 more hours, the new one until the next rotation.
    expect(secrets.rows).toHaveLength(2);
    const overlap = new Date(secrets.rows[0].expires_at).getTime() - Date.now();
    expect(overlap).toBeGreaterThan(23 * 3600_000);
    expect(overlap).toBeLessThanOrEqual(24 * 3600_000);
    expect(secrets.rows[1].expires_at).toBeNull();
  });

  it('changes, disables and deletes a webhook', async () => {
    const { projectId } = await createProject(server, 'patch');
    const { body } = await api(server, 'POST', `/projects/${projectId}/webhooks`, { url: 'https://a.example.com/h' });
    expect(body.events).toEqual(['*']);
    const patched = await api(server, 'PATCH', `/projects/${projectId}/webhooks/${body.id}`, {
      url: 'https://b.example.com/h',
      events: ['notification.cancelled'],
      enabled: false,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ url: 'https://b.example.com/h', events: ['notification.cancelled'], enabled: false });
    expect((await api(server, 'PATCH', `/projects/${projectId}/webhooks/${body.id}`, { secret: 'x' })).body).toMatchObject({
      field: 'secret',
      rule: 'unknown_field',
    });
    expect((await api(server, 'DELETE', `/projects/${projectId}/webhooks/${body.id}`)).status).toBe(204);
    expect((await api(server, 'GET', `/projects/${projectId}/webhooks/${body.id}`)).status).toBe(404);
    expect((await api(server, 'POST', `/projects/${projectId}/webhooks/${body.id}/test`)).status).toBe(404);
  });

  it('refuses URLs the push endpoints would refuse: plain http, loopback, private ranges, unless the host is allowed', async () => {
    const { projectId } = await createProject(server, 'urls');
    const refused: [string, string][] = [
      ['http://hooks.example.com/x', 'https_required'],
      ['https://127.0.0.2/x', 'private_host'],
      ['https://10.1.2.3/x', 'private_host'],
      ['https://192.168.0.10/x', 'private_host'],
      ['https://169.254.169.254/latest/meta-data', 'private_host'],
      ['https://[::1]/x', 'private_host'],
      ['https://localhost/x', 'private_host'],
      ['https://user:pw@hooks.example.com/x', 'url'],
      ['ftp://hooks.example.com/x', 'url'],
    ];
    for (const [url, rule] of refused) {
      const res = await api(server, 'POST', `/projects/${projectId}/webhooks`, { url });
      expect({ url, status: res.status, field: res.body.field, rule: res.body.rule }).toEqual({ url, status: 422, field: 'url', rule });
    }
    // PUSHCAST_ALLOWED_PUSH_HOSTS=127.0.0.1 in the tests: allowed, plain http included.
    expect((await api(server, 'POST', `/projects/${projectId}/webhooks`, { url: 'http://127.0.0.1:9/x' })).status).toBe(201);
    expect((await api(server, 'POST', `/projects/${projectId}/webhooks`, { url: 'https://127.0.0.1:9443/x' })).status).toBe(201);
  });

  it('takes only event types Pushcast sends', async () => {
    const { projectId } = await createProject(server, 'events');
    for (const events of [['notification.exploded'], ['nothing.*'], []]) {
      const res = await api(server, 'POST', `/projects/${projectId}/webhooks`, { url: 'https://a.example.com/h', events });
      expect(res.status).toBe(422);
      expect(res.body.field).toMatch(/^events/);
    }
    const ok = await api(server, 'POST', `/projects/${projectId}/webhooks`, {
      url: 'https://a.example.com/h',
      events: ['*', 'subscription.pruned', 'notification.*', 'notification.*'],
    });
    expect(ok.body.events).toEqual(['*', 'subscription.pruned', 'notification.*']);
    expect((await api(server, 'POST', `/projects/${projectId}/webhooks`, { url: 'https://a.example.com/h', events: ['x'] })).body.rule).toBe('event_type');
  });

  it("a scoped token manages its own project's webhooks and gets 403 on another's", async () => {
    const mine = await createProject(server, 'mine');
    const theirs = await createProject(server, 'theirs');
    const token = await scopedToken(server, [mine.projectId]);
    const created = await api(server, 'POST', `/projects/${mine.projectId}/webhooks`, { url: 'https://a.example.com/h' }, token);
    expect(created.status).toBe(201);
    const other = await api(server, 'POST', `/projects/${theirs.projectId}/webhooks`, { url: 'https://a.example.com/h' });
    expect((await api(server, 'GET', `/projects/${theirs.projectId}/webhooks`, undefined, token)).status).toBe(403);
    expect((await api(server, 'GET', `/projects/${theirs.projectId}/webhooks/${other.body.id}`, undefined, token)).status).toBe(403);
    // Another project's webhook id under one's own project is not found.
    expect((await api(server, 'GET', `/projects/${mine.projectId}/webhooks/${other.body.id}`, undefined, token)).status).toBe(404);
    expect((await api(server, 'GET', `/projects/${mine.projectId}/webhooks/${created.body.id}/attempts`, undefined, token)).body).toEqual([]);
  });

  it('without PUSHCAST_SECRET_KEY, a webhook cannot be created (409): its secret could not be sealed', async () => {
    // Without a key no sender can be created either: one from before VAPID keys were sealed.
    const { projectId } = await createProject(keyless, 'keyless', { senderId: (await insertLegacySender(keyless.db)).id });
    const res = await api(keyless, 'POST', `/projects/${projectId}/webhooks`, { url: 'https://a.example.com/h' });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', rule: 'secret_key_not_configured' });
    expect((await keyless.db.query(`SELECT count(*)::int AS n FROM webhooks`)).rows[0].n).toBe(0);
  });
});
