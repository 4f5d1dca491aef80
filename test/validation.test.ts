import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint, type ApiResponse } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
let projectId: number;

beforeAll(async () => {
  server = await startTestServer('validation');
  ({ projectId } = await createProject(server));
});
afterAll(async () => server?.close());

const admin = () => ({ token: server.adminToken });

/** Every refusal: a 4xx, JSON, naming the field and the rule. */
function expectRefusal(res: ApiResponse, status: number, field: string, rule: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ field, rule, error: expect.stringContaining(field) });
}

const importSub = (body: Record<string, unknown>) =>
  call(server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, {
    ...admin(),
    body: { endpoint: localEndpoint(), ...browserKeys(), ...body },
  });

describe('subscription endpoint', () => {
  it.each([
    ['not a URL', 'url'],
    ['ftp://fcm.googleapis.com/x', 'url'],
    ['http://fcm.googleapis.com/fcm/send/abc', 'https_required'],
    ['https://10.1.2.3/push/1', 'private_host'],
    ['https://192.168.1.10/push/1', 'private_host'],
    ['https://169.254.169.254/latest/meta-data', 'private_host'],
    ['https://[::1]/push/1', 'private_host'],
    ['https://127.0.0.2/push/1', 'private_host'],
    ['https://localhost/push/1', 'private_host'],
    ['https://attacker.example.net/push/1', 'host_not_allowed'],
    ['https://fcm.googleapis.com.evil.net/x', 'host_not_allowed'],
    ['https://fcm.googleapis.com:25/fcm/send/x', 'host_not_allowed'], // a known host, on a port it does not push from
    [`https://fcm.googleapis.com/${'a'.repeat(2100)}`, 'max_length'],
    ['https://user:pw@fcm.googleapis.com/x', 'url'],
  ])('refuses %s (%s)', async (endpoint, rule) => {
    expectRefusal(await importSub({ endpoint }), 422, 'endpoint', rule);
  });

  it.each([
    'https://fcm.googleapis.com/fcm/send/dGVzdA:APA91b',
    'https://updates.push.services.mozilla.com/wpush/v2/gAAAA',
    'https://web.push.apple.com/QAbc',
    'https://wns2-par02p.notify.windows.com/w/?token=abc',
    'https://127.0.0.1:8443/push/allowed-by-config',
    'http://127.0.0.1:9000/push/plain-http-on-allowed-host',
  ])('accepts %s', async (endpoint) => {
    const res = await importSub({ endpoint });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.endpoint).toBe(endpoint);
  });

  it('the same endpoint imported twice is one subscription, updated', async () => {
    const endpoint = localEndpoint();
    const first = await importSub({ endpoint, uid: 'a' });
    const second = await importSub({ endpoint, uid: 'b' });
    expect(second.body.id).toBe(first.body.id);
    expect(second.body.uid).toBe('b');
  });
});

describe('subscription keys, uid and tags', () => {
  const { p256dh } = browserKeys();
  const offCurve = Buffer.from(p256dh, 'base64url');
  offCurve[64]! ^= 1;

  it.each([
    [{ p256dh: Buffer.alloc(64, 4).toString('base64url') }, 'p256dh', 'p256_point'],
    [{ p256dh: offCurve.toString('base64url') }, 'p256dh', 'p256_point'],
    [{ p256dh: Buffer.concat([Buffer.from([2]), offCurve.subarray(1, 33)]).toString('base64url') }, 'p256dh', 'p256_point'],
    [{ p256dh: 'not base64 !!' }, 'p256dh', 'p256_point'],
    [{ auth: Buffer.alloc(15).toString('base64url') }, 'auth', 'auth_secret_16_bytes'],
    [{ auth: Buffer.alloc(17).toString('base64') }, 'auth', 'auth_secret_16_bytes'],
    [{ uid: 'u'.repeat(256) }, 'uid', 'max_length'],
    [{ uid: 42 }, 'uid', 'invalid_type'],
    [{ tags: ['ok', 'not ok'] }, 'tags.1', 'tag_characters'],
    [{ tags: ['a&&b'] }, 'tags.0', 'tag_characters'],
    [{ tags: ['x'.repeat(165)] }, 'tags.0', 'max_length'],
    [{ tags: Array.from({ length: 101 }, (_, i) => `t${i}`) }, 'tags', 'max_items'],
    [{ tags: 'sports' }, 'tags', 'invalid_type'],
    [{ surprise: 1 }, 'surprise', 'unknown_field'],
  ])('refuses %j', async (body, field, rule) => {
    expectRefusal(await importSub(body), 422, field, rule);
  });

  it('accepts Pushpad tag characters, 255-char uids and standard base64 keys', async () => {
    const keys = browserKeys();
    const res = await importSub({
      p256dh: Buffer.from(keys.p256dh, 'base64url').toString('base64'),
      auth: Buffer.from(keys.auth, 'base64url').toString('base64'),
      uid: 'u'.repeat(255),
      tags: ['zip_code:28865', 'friend_of:Organizer123', 'a-b.c@d#e'],
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });

  it.each(['endpoint', 'p256dh', 'auth'])('a missing %s is a 400 naming it', async (field) => {
    const body: Record<string, unknown> = { endpoint: localEndpoint(), ...browserKeys() };
    delete body[field];
    const res = await call(server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, { ...admin(), body });
    expectRefusal(res, 400, field, 'required');
  });

  it('PATCH validates uid and tags the same way', async () => {
    const sub = await importSub({});
    const path = `/projects/${projectId}/subscriptions/${sub.body.id}`;
    expectRefusal(await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { uid: 'x'.repeat(256) } }), 422, 'uid', 'max_length');
    expectRefusal(await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { tags: ['a b'] } }), 422, 'tags.0', 'tag_characters');
    expectRefusal(await call(server.apiUrl, 'PATCH', path, { ...admin(), body: { endpoint: 'x' } }), 422, 'endpoint', 'unknown_field');
  });
});

describe('query parameters', () => {
  const list = (query: string) => call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions?${query}`, admin());

  it.each([
    ['per_page=1001', 'per_page', 'max'],
    ['per_page=0', 'per_page', 'min'],
    ['page=0', 'page', 'min'],
    ['page=abc', 'page', 'invalid_type'],
  ])('refuses %s', async (query, field, rule) => {
    expectRefusal(await list(query), 422, field, rule);
  });

  it('a tag expression syntax error is a 400 quoting the expression and the position', async () => {
    const res = await list(`tags[]=sports&tags[]=${encodeURIComponent('a && (b || ')}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ field: 'tags.1', rule: 'tag_expression_syntax', expression: 'a && (b || ', position: 11 });
    expect(res.body.error).toContain('"a && (b || "');
    expect(res.body.error).toContain('position 11');
  });

  it('HEAD answers a bad expression with 400 too (no body)', async () => {
    const res = await call(server.apiUrl, 'HEAD', `/projects/${projectId}/subscriptions?tags[]=${encodeURIComponent('&&')}`, admin());
    expect(res.status).toBe(400);
  });
});

describe('request bodies and routes', () => {
  it('malformed JSON is a 400 naming the body', async () => {
    const res = await call(server.apiUrl, 'POST', '/senders', { ...admin(), rawBody: '{"name": ' });
    expectRefusal(res, 400, 'body', 'json');
  });

  it('an unknown route is a JSON 404', async () => {
    const res = await call(server.apiUrl, 'GET', '/nowhere', admin());
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ error: expect.any(String), code: 'not_found' });
  });

  it('a non-numeric id is a 422 naming it', async () => {
    expectRefusal(await call(server.apiUrl, 'GET', '/projects/abc', admin()), 422, 'id', 'invalid_type');
  });

  it('a missing resource is a JSON 404', async () => {
    const res = await call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions/999999`, admin());
    expect(res.status).toBe(404);
    expect(res.body.error).toContain('subscription 999999');
  });
});

describe('senders and projects', () => {
  it('refuses one VAPID key without the other', async () => {
    const res = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 's', vapid_public_key: 'x' } });
    expectRefusal(res, 422, 'vapid_private_key', 'both_or_neither');
  });

  it('refuses a key pair that does not match, or is not P-256 PEM', async () => {
    const a = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'a' } });
    const b = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'b' } });
    const mismatch = await call(server.apiUrl, 'POST', '/senders', {
      ...admin(),
      body: { name: 'm', vapid_private_key: a.body.vapid_private_key, vapid_public_key: b.body.vapid_public_key },
    });
    expectRefusal(mismatch, 422, 'vapid_public_key', 'key_mismatch');
    const garbage = await call(server.apiUrl, 'POST', '/senders', {
      ...admin(),
      body: { name: 'g', vapid_private_key: 'garbage', vapid_public_key: b.body.vapid_public_key },
    });
    expectRefusal(garbage, 422, 'vapid_private_key', 'pem');
  });

  it('PATCH on a sender accepts only name', async () => {
    const s = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'p' } });
    const res = await call(server.apiUrl, 'PATCH', `/senders/${s.body.id}`, { ...admin(), body: { vapid_public_key: 'x' } });
    expectRefusal(res, 422, 'vapid_public_key', 'unknown_field');
  });

  it('a sender used by a project cannot be deleted (409)', async () => {
    const { senderId } = await createProject(server, 'uses sender');
    const res = await call(server.apiUrl, 'DELETE', `/senders/${senderId}`, admin());
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ rule: 'sender_in_use' });
  });

  it('project create: missing name is 400, unknown sender and bad values are 422', async () => {
    const s = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'pc' } });
    const create = (body: Record<string, unknown>) => call(server.apiUrl, 'POST', '/projects', { ...admin(), body });
    expectRefusal(await create({ sender_id: s.body.id, website: 'https://e.com' }), 400, 'name', 'required');
    expectRefusal(await create({ sender_id: 987654, name: 'n', website: 'https://e.com' }), 422, 'sender_id', 'exists');
    expectRefusal(
      await create({ sender_id: s.body.id, name: 'n', website: 'https://e.com', notifications_ttl: -1 }),
      422,
      'notifications_ttl',
      'min',
    );
    expectRefusal(
      await create({ sender_id: s.body.id, name: 'n', website: 'https://e.com', icon_url: 'javascript:alert(1)' }),
      422,
      'icon_url',
      'url',
    );
  });

  it('access token create needs projects that exist, or admin', async () => {
    const create = (body: Record<string, unknown>) => call(server.apiUrl, 'POST', '/access_tokens', { ...admin(), body });
    expectRefusal(await create({ name: 'none' }), 422, 'project_ids', 'min_items');
    expectRefusal(await create({ project_ids: [987654] }), 422, 'project_ids', 'exists');
  });
});

describe('content types', () => {
  it('a DELETE with Content-Type: application/json and no body is fine', async () => {
    const s = await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'to delete' } });
    const res = await call(server.apiUrl, 'DELETE', `/senders/${s.body.id}`, { ...admin(), rawBody: '' });
    expect(res.status).toBe(204);
  });
});
