import { createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApnsKey } from '@pushcast/local-apns-service';
import { NO_SECRET_KEYS, secretKeyring } from '@pushcast/domain';
import { loadProjectCredentials, openProjectCredentials } from '@pushcast/store';
import { freshDatabaseUrl, type TestDatabase } from './support/database.ts';
import { createProject, insertLegacySender, scopedToken } from './support/fixtures.ts';
import { call, type ApiResponse } from './support/http.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';
import { testRsaKeyPair } from './support/rsa-keys.ts';
import { deleteRedisPrefix, startTestServer, TEST_REDIS_URL, type TestServer } from './support/server.ts';

// APNs and FCM credentials per project: set, replaced and removed through the projects API,
// sealed at rest under PUSHCAST_SECRET_KEY, shown only as a summary, opened by the worker's
// `loadProjectCredentials`.

const secretKey = randomBytes(32);
const keys = secretKeyring(secretKey);
let server: TestServer;
let noKeyServer: TestServer;

beforeAll(async () => {
  [server, noKeyServer] = await Promise.all([
    startTestServer('credentials', { PUSHCAST_SECRET_KEY: secretKey.toString('base64') }),
    startTestServer('credentials_nokey', { PUSHCAST_SECRET_KEY: '' }),
  ]);
});
afterAll(async () => {
  await server?.close();
  await noKeyServer?.close();
});

/** APNs credentials as a user sends them, from a freshly generated .p8 key. */
function apnsCredentials(overrides: Record<string, unknown> = {}) {
  const { keyId, teamId, keyPem } = generateApnsKey();
  return { key: keyPem, key_id: keyId, team_id: teamId, topic: 'com.example.app', production: false, ...overrides };
}

/** A service-account JSON file as the Firebase console hands it out, with a real RSA key. */
function serviceAccount(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { privateKey } = testRsaKeyPair();
  return {
    type: 'service_account',
    project_id: 'pushcast-test',
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: 'firebase-adminsdk-abc12@pushcast-test.iam.gserviceaccount.com',
    client_id: '123456789012345678901',
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: 'https://www.googleapis.com/robot/v1/metadata/x509/firebase-adminsdk',
    universe_domain: 'googleapis.com',
    ...overrides,
  };
}

/** The base64 lines of a PEM: what would give a key away if it appeared anywhere. */
function pemBody(pem: string): string[] {
  return pem.split('\n').filter((line) => line !== '' && !line.startsWith('-----'));
}

function expectNoSecret(text: string, ...pems: string[]): void {
  expect(text).not.toContain('PRIVATE KEY');
  for (const pem of pems) for (const line of pemBody(pem)) expect(text).not.toContain(line);
}

const patchProject = (s: TestServer, id: number, body: unknown, token = s.adminToken) =>
  call(s.apiUrl, 'PATCH', `/projects/${id}`, { token, body });
const getProject = (s: TestServer, id: number, token = s.adminToken) => call(s.apiUrl, 'GET', `/projects/${id}`, { token });

function expectRefusal(res: ApiResponse, status: number, field: string, rule: string): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ field, rule, error: expect.stringContaining(field) });
}

describe('setting, replacing and removing credentials', () => {
  let projectId: number;
  beforeAll(async () => {
    ({ projectId } = await createProject(server, 'Credentials'));
  });

  it('a project without credentials shows null for both', async () => {
    const res = await getProject(server, projectId);
    expect(res.body).toMatchObject({ apns_credentials: null, fcm_credentials: null });
    expect(await loadProjectCredentials(server.db, keys, projectId, 'apns')).toEqual({ ok: true, value: null });
  });

  it('sets APNs credentials: the answer is a summary without the key, and the worker opens them', async () => {
    const apns = apnsCredentials({ production: true });
    const res = await patchProject(server, projectId, { apns_credentials: apns });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.apns_credentials).toEqual({
      key_id: apns.key_id,
      team_id: apns.team_id,
      topic: 'com.example.app',
      production: true,
      updated_at: expect.any(String),
      status: 'active',
      rejected_reason: null,
      rejected_at: null,
    });
    expect(res.body.fcm_credentials).toBeNull();
    expectNoSecret(JSON.stringify(res.body), apns.key);
    const got = await getProject(server, projectId);
    expect(got.body).toEqual(res.body);
    const listed = await call(server.apiUrl, 'GET', '/projects', { token: server.adminToken });
    expect(listed.body.find((p: any) => p.id === projectId)).toEqual(res.body);
    expectNoSecret(JSON.stringify(listed.body), apns.key);

    const loaded = await loadProjectCredentials(server.db, keys, projectId, 'apns');
    if (!loaded.ok || loaded.value?.platform !== 'apns') throw new Error(`not loaded: ${JSON.stringify(loaded)}`);
    const c = loaded.value.apns;
    expect({ keyId: c.keyId, teamId: c.teamId, topic: c.topic, production: c.production }).toEqual({
      keyId: apns.key_id,
      teamId: apns.team_id,
      topic: 'com.example.app',
      production: true,
    });
    expect(loaded.value.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    // The very key that was given: what it signs, the given key's public half verifies.
    const signature = sign('sha256', Buffer.from('jwt'), { key: c.keyPem, dsaEncoding: 'ieee-p1363' });
    expect(verify('sha256', Buffer.from('jwt'), { key: createPublicKey(apns.key), dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    expect(c.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('sets FCM credentials from the service-account object; APNs stay as they were', async () => {
    const before = (await getProject(server, projectId)).body.apns_credentials;
    const sa = serviceAccount();
    const res = await patchProject(server, projectId, { fcm_credentials: { service_account: sa } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.fcm_credentials).toEqual({
      project_id: 'pushcast-test',
      client_email: sa.client_email,
      private_key_id: sa.private_key_id,
      updated_at: expect.any(String),
      status: 'active',
      rejected_reason: null,
      rejected_at: null,
    });
    expect(res.body.apns_credentials).toEqual(before);
    expectNoSecret(JSON.stringify(res.body), String(sa.private_key));

    const loaded = await loadProjectCredentials(server.db, keys, projectId, 'fcm');
    if (!loaded.ok || loaded.value?.platform !== 'fcm') throw new Error(`not loaded: ${JSON.stringify(loaded)}`);
    expect(loaded.value.fcm).toEqual({
      projectId: 'pushcast-test',
      clientEmail: sa.client_email,
      privateKey: sa.private_key,
      privateKeyId: sa.private_key_id,
    });
  });

  it('takes the service account as a string of JSON too (the file pasted as is)', async () => {
    const sa = serviceAccount({ project_id: 'other-project-42' });
    delete sa.private_key_id;
    const res = await patchProject(server, projectId, { fcm_credentials: { service_account: JSON.stringify(sa) } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.fcm_credentials).toMatchObject({ project_id: 'other-project-42', private_key_id: null });
    const loaded = await loadProjectCredentials(server.db, keys, projectId, 'fcm');
    expect(loaded.ok && loaded.value?.platform === 'fcm' && loaded.value.fcm.privateKey).toBe(sa.private_key);
  });

  it('replacing APNs credentials changes the summary and the fingerprint; the same ones again keep the fingerprint under a fresh IV', async () => {
    const first = await loadProjectCredentials(server.db, keys, projectId, 'apns');
    const firstAt = (await getProject(server, projectId)).body.apns_credentials.updated_at;
    const replacement = apnsCredentials({ topic: 'com.example.other' });
    const res = await patchProject(server, projectId, { apns_credentials: replacement });
    expect(res.body.apns_credentials).toMatchObject({ key_id: replacement.key_id, topic: 'com.example.other', production: false });
    expect(Date.parse(res.body.apns_credentials.updated_at)).toBeGreaterThanOrEqual(Date.parse(firstAt));
    const second = await loadProjectCredentials(server.db, keys, projectId, 'apns');
    expect(first.ok && second.ok).toBe(true);
    if (!first.ok || !second.ok) return;
    expect(second.value!.fingerprint).not.toBe(first.value!.fingerprint);

    const ivBefore = (await server.db.query(`SELECT iv FROM project_credentials WHERE project_id = $1 AND platform = 'apns'`, [projectId])).rows[0].iv;
    await patchProject(server, projectId, { apns_credentials: replacement });
    const again = await loadProjectCredentials(server.db, keys, projectId, 'apns');
    expect(again.ok && again.value!.fingerprint).toBe(second.value!.fingerprint);
    const ivAfter = (await server.db.query(`SELECT iv FROM project_credentials WHERE project_id = $1 AND platform = 'apns'`, [projectId])).rows[0].iv;
    expect(Buffer.compare(ivBefore, ivAfter)).not.toBe(0);
  });

  it('null removes one platform and leaves the other', async () => {
    const res = await patchProject(server, projectId, { apns_credentials: null });
    expect(res.status).toBe(200);
    expect(res.body.apns_credentials).toBeNull();
    expect(res.body.fcm_credentials).not.toBeNull();
    expect(await loadProjectCredentials(server.db, keys, projectId, 'apns')).toEqual({ ok: true, value: null });
    const { rows } = await server.db.query('SELECT platform FROM project_credentials WHERE project_id = $1', [projectId]);
    expect(rows).toEqual([{ platform: 'fcm' }]);
    // Removing what is not there is fine too.
    expect((await patchProject(server, projectId, { apns_credentials: null })).status).toBe(200);
  });

  it('other project settings change alongside, in the same request', async () => {
    const res = await patchProject(server, projectId, { name: 'Renamed', fcm_credentials: null });
    expect(res.body).toMatchObject({ name: 'Renamed', apns_credentials: null, fcm_credentials: null });
  });

  it('POST /projects takes both credentials at once', async () => {
    const sender = await call(server.apiUrl, 'POST', '/senders', { token: server.adminToken, body: { name: 'creds' } });
    const apns = apnsCredentials();
    const sa = serviceAccount();
    const res = await call(server.apiUrl, 'POST', '/projects', {
      token: server.adminToken,
      body: { sender_id: sender.body.id, name: 'Mobile', website: 'https://example.com', apns_credentials: apns, fcm_credentials: { service_account: sa } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.apns_credentials).toMatchObject({ key_id: apns.key_id, production: false });
    expect(res.body.fcm_credentials).toMatchObject({ client_email: sa.client_email });
    expectNoSecret(JSON.stringify(res.body), apns.key, String(sa.private_key));
    for (const platform of ['apns', 'fcm'] as const) {
      const loaded = await loadProjectCredentials(server.db, keys, res.body.id, platform);
      expect(loaded.ok && loaded.value?.platform).toBe(platform);
    }
  });
});

describe('at rest', () => {
  let projectId: number;
  let apns: ReturnType<typeof apnsCredentials>;
  let sa: Record<string, unknown>;

  beforeAll(async () => {
    ({ projectId } = await createProject(server, 'At rest'));
    apns = apnsCredentials();
    sa = serviceAccount();
    const res = await patchProject(server, projectId, { apns_credentials: apns, fcm_credentials: { service_account: sa } });
    expect(res.status).toBe(200);
  });

  it('the table holds neither PEM in plaintext, in any column', async () => {
    const { rows } = await server.db.query('SELECT t::text AS text, ciphertext FROM project_credentials t WHERE project_id = $1', [projectId]);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expectNoSecret(row.text, apns.key, String(sa.private_key));
      for (const line of [...pemBody(apns.key), ...pemBody(String(sa.private_key))]) {
        expect((row.ciphertext as Buffer).includes(Buffer.from(line))).toBe(false);
      }
    }
  });

  it('a row copied to another project does not open there', async () => {
    const { projectId: other } = await createProject(server, 'Thief');
    await server.db.query(
      `INSERT INTO project_credentials (project_id, platform, key_id, iv, ciphertext, auth_tag, summary)
       SELECT $2, platform, key_id, iv, ciphertext, auth_tag, summary FROM project_credentials WHERE project_id = $1`,
      [projectId, other],
    );
    for (const platform of ['apns', 'fcm'] as const) {
      expect(await loadProjectCredentials(server.db, keys, other, platform)).toEqual({ ok: false, error: 'credentials_unreadable' });
      expect(await openProjectCredentials(server.db, keys, other, platform)).toEqual({ ok: false, error: 'tampered' });
      // The original still opens.
      expect((await loadProjectCredentials(server.db, keys, projectId, platform)).ok).toBe(true);
    }
  });

  it('a changed ciphertext does not open', async () => {
    const { projectId: victim } = await createProject(server, 'Tampered');
    await patchProject(server, victim, { apns_credentials: apnsCredentials() });
    await server.db.query(
      `UPDATE project_credentials SET ciphertext = set_byte(ciphertext, 5, get_byte(ciphertext, 5) # 1) WHERE project_id = $1`,
      [victim],
    );
    expect(await openProjectCredentials(server.db, keys, victim, 'apns')).toEqual({ ok: false, error: 'tampered' });
    expect(await loadProjectCredentials(server.db, keys, victim, 'apns')).toEqual({ ok: false, error: 'credentials_unreadable' });
  });

  it('another PUSHCAST_SECRET_KEY, or none, gives credentials_unreadable (and says which)', async () => {
    const wrong = randomBytes(32);
    expect(await loadProjectCredentials(server.db, secretKeyring(wrong), projectId, 'apns')).toEqual({ ok: false, error: 'credentials_unreadable' });
    expect(await openProjectCredentials(server.db, secretKeyring(wrong), projectId, 'fcm')).toEqual({ ok: false, error: 'wrong_secret_key' });
    expect(await loadProjectCredentials(server.db, NO_SECRET_KEYS, projectId, 'fcm')).toEqual({ ok: false, error: 'credentials_unreadable' });
    expect(await openProjectCredentials(server.db, NO_SECRET_KEYS, projectId, 'apns')).toEqual({ ok: false, error: 'secret_key_not_configured' });
  });
});

describe('without PUSHCAST_SECRET_KEY', () => {
  let projectId: number;
  beforeAll(async () => {
    // Without a key no sender can be created any more (its VAPID key would be stored in plaintext):
    // a deployment without one has senders from before VAPID keys were sealed.
    const sender = await insertLegacySender(noKeyServer.db);
    ({ projectId } = await createProject(noKeyServer, 'No key', { senderId: sender.id }));
  });

  it.each([
    ['apns_credentials', () => apnsCredentials()],
    ['fcm_credentials', () => ({ service_account: serviceAccount() })],
  ])('setting %s answers 409 secret_key_not_configured, telling to set PUSHCAST_SECRET_KEY', async (field, value) => {
    const res = await patchProject(noKeyServer, projectId, { [field]: value() });
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({ code: 'conflict', field, rule: 'secret_key_not_configured' });
    expect(res.body.error).toContain('PUSHCAST_SECRET_KEY');
    const { rows } = await noKeyServer.db.query('SELECT count(*)::int AS n FROM project_credentials');
    expect(rows[0].n).toBe(0);
  });

  it('a project created with credentials is refused whole (no project appears)', async () => {
    const before = (await call(noKeyServer.apiUrl, 'GET', '/projects', { token: noKeyServer.adminToken })).body.length;
    const sender = await insertLegacySender(noKeyServer.db);
    const res = await call(noKeyServer.apiUrl, 'POST', '/projects', {
      token: noKeyServer.adminToken,
      body: { sender_id: sender.id, name: 'x', website: 'https://example.com', fcm_credentials: { service_account: serviceAccount() } },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ field: 'fcm_credentials', rule: 'secret_key_not_configured' });
    expect((await call(noKeyServer.apiUrl, 'GET', '/projects', { token: noKeyServer.adminToken })).body).toHaveLength(before);
  });

  it('removing (null) and everything else still works', async () => {
    const res = await patchProject(noKeyServer, projectId, { apns_credentials: null, fcm_credentials: null, name: 'Still fine' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ name: 'Still fine', apns_credentials: null, fcm_credentials: null });
  });
});

describe('validation names the field and the rule, and never echoes a key', () => {
  let projectId: number;
  beforeAll(async () => {
    ({ projectId } = await createProject(server, 'Validation'));
  });

  const ec384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const ecPublic = createPublicKey(generateApnsKey().keyPem).export({ type: 'spki', format: 'pem' }).toString();
  const p256 = generateApnsKey().keyPem;
  const without = (o: Record<string, unknown>, key: string) => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

  it.each([
    ['a malformed .p8', { key: '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n' }, 'apns_credentials.key', 'p8'],
    ['a .p8 that is not PEM at all', { key: 'MIGTAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBHkwdwIBAQQg' }, 'apns_credentials.key', 'p8'],
    ['an RSA key instead of EC P-256', { key: rsa }, 'apns_credentials.key', 'p8'],
    ['a P-384 key', { key: ec384 }, 'apns_credentials.key', 'p8'],
    ['a public key', { key: ecPublic }, 'apns_credentials.key', 'p8'],
    ['no key', { key: undefined }, 'apns_credentials.key', 'required'],
    ['a key_id of 9 characters', { key_id: 'ABC123DEF' }, 'apns_credentials.key_id', 'apple_id'],
    ['a lower-case key_id', { key_id: 'abc123defg' }, 'apns_credentials.key_id', 'apple_id'],
    ['a team_id of 11 characters', { team_id: 'DEF123GHIJK' }, 'apns_credentials.team_id', 'apple_id'],
    ['no team_id', { team_id: undefined }, 'apns_credentials.team_id', 'required'],
    ['a topic without a dot', { topic: 'myapp' }, 'apns_credentials.topic', 'bundle_id'],
    ['a topic with a space', { topic: 'com.example.my app' }, 'apns_credentials.topic', 'bundle_id'],
    ['no production', { production: undefined }, 'apns_credentials.production', 'required'],
    ['production as a string', { production: 'true' }, 'apns_credentials.production', 'invalid_type'],
    ['an unknown field', { bundle: 'x' }, 'apns_credentials.bundle', 'unknown_field'],
  ])('APNs: %s', async (_label, overrides, field, rule) => {
    const body = { ...apnsCredentials(), key: p256, ...overrides };
    const res = await patchProject(server, projectId, { apns_credentials: JSON.parse(JSON.stringify(body)) });
    expectRefusal(res, 422, field, rule);
    expect(res.body.code).toBe('validation');
    expectNoSecret(JSON.stringify(res.body), p256, rsa, ec384);
    const given = (overrides as Record<string, unknown>).key;
    if (typeof given === 'string') expect(JSON.stringify(res.body)).not.toContain(given.split('\n')[1] ?? given);
  });

  it('APNs credentials that are not an object', async () => {
    expectRefusal(await patchProject(server, projectId, { apns_credentials: 'AuthKey.p8' }), 422, 'apns_credentials', 'invalid_type');
  });

  it('a service account without private_key: 422 naming the nested field, rule required', async () => {
    const res = await patchProject(server, projectId, { fcm_credentials: { service_account: without(serviceAccount(), 'private_key') } });
    expectRefusal(res, 422, 'fcm_credentials.service_account.private_key', 'required');
    expect(res.body.code).toBe('validation');
  });

  it.each([
    ['a private_key that is not PEM', { private_key: 'not a key, secret-marker-41' }, 'fcm_credentials.service_account.private_key', 'pem'],
    ['an EC private_key', { private_key: p256 }, 'fcm_credentials.service_account.private_key', 'pem'],
    ['another type of credentials', { type: 'authorized_user' }, 'fcm_credentials.service_account.type', 'service_account_type'],
    ['no type', { type: undefined }, 'fcm_credentials.service_account.type', 'required'],
    ['no project_id', { project_id: undefined }, 'fcm_credentials.service_account.project_id', 'required'],
    ['a project_id with a slash', { project_id: 'a/../b' }, 'fcm_credentials.service_account.project_id', 'project_id'],
    ['no client_email', { client_email: undefined }, 'fcm_credentials.service_account.client_email', 'required'],
    ['a client_email that is not one', { client_email: 'firebase-adminsdk' }, 'fcm_credentials.service_account.client_email', 'email'],
    ['a private_key_id that is a number', { private_key_id: 42 }, 'fcm_credentials.service_account.private_key_id', 'invalid_type'],
  ])('FCM: %s', async (_label, overrides, field, rule) => {
    const sa = JSON.parse(JSON.stringify({ ...serviceAccount(), ...overrides }));
    const res = await patchProject(server, projectId, { fcm_credentials: { service_account: sa } });
    expectRefusal(res, 422, field, rule);
    expectNoSecret(JSON.stringify(res.body), p256);
    expect(JSON.stringify(res.body)).not.toContain('secret-marker-41');
  });

  it.each([
    ['no service_account', {}, 'fcm_credentials.service_account', 'required'],
    ['a service_account string that is not JSON', { service_account: '{"type": "service_account",' }, 'fcm_credentials.service_account', 'json'],
    ['a service_account that is an array', { service_account: [] }, 'fcm_credentials.service_account', 'invalid_type'],
    ['a field beside service_account', { service_account: {}, project: 'x' }, 'fcm_credentials.project', 'unknown_field'],
  ])('FCM: %s', async (_label, value, field, rule) => {
    expectRefusal(await patchProject(server, projectId, { fcm_credentials: value }), 422, field, rule);
  });

  it('nothing was stored by any refused request', async () => {
    const res = await getProject(server, projectId);
    expect(res.body).toMatchObject({ apns_credentials: null, fcm_credentials: null });
  });
});

describe('tenant isolation', () => {
  it("a token scoped to project A can neither read nor set project B's credentials, but can set A's", async () => {
    const a = (await createProject(server, 'Tenant A')).projectId;
    const b = (await createProject(server, 'Tenant B')).projectId;
    const bApns = apnsCredentials();
    await patchProject(server, b, { apns_credentials: bApns });
    const before = await loadProjectCredentials(server.db, keys, b, 'apns');
    const tokenA = await scopedToken(server, [a]);

    const read = await getProject(server, b, tokenA);
    expect(read.status).toBe(403);
    expect(read.body).toMatchObject({ code: 'forbidden', rule: 'project_scope' });
    expect(JSON.stringify(read.body)).not.toContain(bApns.key_id);
    const list = await call(server.apiUrl, 'GET', '/projects', { token: tokenA });
    expect(list.body.map((p: any) => p.id)).toEqual([a]);

    for (const body of [{ apns_credentials: apnsCredentials() }, { apns_credentials: null }, { fcm_credentials: { service_account: serviceAccount() } }]) {
      const res = await patchProject(server, b, body, tokenA);
      expect(res.status).toBe(403);
      expect(res.body).toMatchObject({ code: 'forbidden', rule: 'project_scope' });
    }
    expect(await loadProjectCredentials(server.db, keys, b, 'apns')).toEqual(before);
    expect(await loadProjectCredentials(server.db, keys, b, 'fcm')).toEqual({ ok: true, value: null });

    const own = await patchProject(server, a, { fcm_credentials: { service_account: serviceAccount() } }, tokenA);
    expect(own.status).toBe(200);
    expect(own.body.fcm_credentials).toMatchObject({ project_id: 'pushcast-test' });
  });
});

describe('logs', () => {
  let database: TestDatabase | undefined;
  let prefix: string | undefined;
  let proc: Child | undefined;
  afterAll(async () => {
    proc?.child.kill('SIGKILL');
    await database?.drop();
    if (prefix) await deleteRedisPrefix(prefix);
  });

  it('the API at LOG_LEVEL=trace logs no credential, whether accepted or refused', async () => {
    database = freshDatabaseUrl('credlogs');
    prefix = `pushcast-test-credlogs-${randomBytes(4).toString('hex')}`;
    const adminToken = randomBytes(24).toString('hex');
    proc = startProcess('apps/api/src/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_ADMIN_TOKEN: adminToken,
      PUSHCAST_QUEUE_PREFIX: prefix,
      PUSHCAST_SECRET_KEY: secretKey.toString('hex'),
      LOG_LEVEL: 'trace',
    });
    const apiUrl = await waitFor('the API to listen', () => proc!.output().stdout.match(/listening on (http:\/\/\S+\/api\/v1)/)?.[1]);
    const sender = await call(apiUrl, 'POST', '/senders', { token: adminToken, body: { name: 's' } });
    const project = await call(apiUrl, 'POST', '/projects', {
      token: adminToken,
      body: { sender_id: sender.body.id, name: 'logged', website: 'https://example.com' },
    });
    const apns = apnsCredentials();
    const sa = serviceAccount();
    const rsaAsP8 = String(serviceAccount().private_key);
    const ok = await call(apiUrl, 'PATCH', `/projects/${project.body.id}`, {
      token: adminToken,
      body: { apns_credentials: apns, fcm_credentials: { service_account: sa } },
    });
    expect(ok.status).toBe(200);
    const refused = await call(apiUrl, 'PATCH', `/projects/${project.body.id}`, {
      token: adminToken,
      body: { apns_credentials: { ...apnsCredentials(), key: rsaAsP8 } },
    });
    expect(refused.body).toMatchObject({ rule: 'p8' });

    await waitFor('the requests to be logged', () => ((proc!.output().stdout.match(/request completed/g) ?? []).length >= 4 ? true : undefined));
    const { stdout, stderr } = proc.output();
    expect(stdout).toContain('"msg":"incoming request"');
    for (const text of [stdout, stderr]) expectNoSecret(text, apns.key, String(sa.private_key), rsaAsP8);
  });
});
