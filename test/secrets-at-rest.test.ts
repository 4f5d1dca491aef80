import { createPrivateKey, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '@pushcast/api';
import { loadConfig } from '@pushcast/config';
import { secretKeyId, secretKeyring, vapidApplicationServerKey } from '@pushcast/domain';
import { openProjectSecretKeys, openWebhookSecrets, SEALED_TABLES, secretsToRekey } from '@pushcast/store';
import { createLogger } from '@pushcast/runtime';
import type { RunningWorker } from '@pushcast/worker';
import { apnsToken, giveProjectCredentials, subscribeDevice } from './support/devices.ts';
import { createProject, insertLegacySender } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';
import { startTestServer, TEST_REDIS_URL } from './support/server.ts';

// Secrets at rest (issue 12 §4): VAPID private keys sealed like provider credentials, the secret
// key rotated with PUSHCAST_SECRET_KEY_PREVIOUS, and `pushcast rekey` (the real CLI process) moving
// every sealed value under the new key while the API and a worker run, resumable after a kill.
// One story on one database: key K1, then K2 (K1 previous), then K2 alone, then K3.

const K1 = randomBytes(32).toString('base64');
const K2 = randomBytes(32).toString('base64');
const K3 = randomBytes(32).toString('base64');
const keyId = (k: string) => secretKeyId(Buffer.from(k, 'base64'));

let p: Pipeline;
const closers: (() => Promise<void>)[] = [];
beforeAll(async () => {
  p = await startPipeline('secrets', { PUSHCAST_SECRET_KEY: K1 });
});
afterAll(async () => {
  for (const close of closers.reverse()) await close().catch(() => {});
  await p?.close();
});

interface Api {
  readonly apiUrl: string;
  close(): Promise<void>;
}

/** Another API process's worth (in this process) on the pipeline's database and queues, holding other keys. */
async function apiWith(current: string, previous: string[] = []): Promise<Api> {
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: p.server.databaseUrl,
    REDIS_URL: TEST_REDIS_URL,
    PUSHCAST_ADMIN_TOKEN: p.server.adminToken,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    PUSHCAST_QUEUE_PREFIX: p.server.queuePrefix,
    PUSHCAST_SECRET_KEY: current,
    PUSHCAST_SECRET_KEY_PREVIOUS: previous.join(','),
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
  });
  const api = await startApi({ config, db: p.server.db, logger: createLogger(config.logLevel, 'test') });
  let closed = false;
  const close = async () => {
    if (!closed) await api.close();
    closed = true;
  };
  closers.push(close);
  return { apiUrl: `${api.url}/api/v1`, close };
}

const workerWith = (current: string, previous: string[] = []): Promise<RunningWorker> =>
  p.startWorker({}, { PUSHCAST_SECRET_KEY: current, PUSHCAST_SECRET_KEY_PREVIOUS: previous.join(',') });

/** `pushcast rekey` as an operator runs it: its own process, the keys in its environment. */
function rekey(current: string, previous: string[], args: string[] = []): Child {
  return startProcess(
    'apps/pushcast/src/cli.ts',
    {
      DATABASE_URL: p.server.databaseUrl,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_SECRET_KEY: current,
      PUSHCAST_SECRET_KEY_PREVIOUS: previous.join(','),
    },
    ['rekey', ...args],
  );
}

const admin = (apiUrl: string, method: string, path: string, body?: unknown) =>
  call(apiUrl, method, path, { token: p.server.adminToken, ...(body === undefined ? {} : { body }) });

/** Sends a notification through `apiUrl` and waits until every recipient has an outcome. */
async function broadcast(apiUrl: string, projectId: number, title: string): Promise<{ id: number; n: any }> {
  const res = await admin(apiUrl, 'POST', `/projects/${projectId}/notifications`, { title, body: 'x' });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  const n = await waitForNotification(p.server, res.body.id);
  return { id: res.body.id, n };
}

/** The message `pushId` received for notification `id`, delivered (201). */
function webMessage(pushId: string, id: number) {
  const m = p.push.receivedFor(pushId).find((r) => r.status === 201 && JSON.parse(r.plaintext!).id === id);
  if (!m) throw new Error(`${pushId} did not receive notification ${id}`);
  return m;
}

/** Every sealed value's key id, and the senders still holding a plaintext key. */
async function sealedState() {
  const q = async (sql: string) => (await p.server.db.query<{ key_id: string | null }>(sql)).rows.map((r) => r.key_id);
  return {
    credentials: await q(`SELECT key_id FROM project_credentials ORDER BY project_id, platform`),
    senders: await q(`SELECT key_id FROM senders ORDER BY id`),
    plaintextSenders: Number((await p.server.db.query(`SELECT count(*) FROM senders WHERE vapid_private_key IS NOT NULL`)).rows[0].count),
    webhooks: await q(`SELECT key_id FROM webhook_secrets ORDER BY id`),
    secretKeys: await q(`SELECT key_id FROM project_secret_keys ORDER BY id`),
    secrets: await q(`SELECT key_id FROM pushcast_secrets WHERE key_id IS NOT NULL ORDER BY name`),
  };
}

/** Rows of every sealed table not under `key` (plaintext senders count). */
async function notUnder(key: string): Promise<number> {
  const s = await sealedState();
  const id = keyId(key);
  return [...s.credentials, ...s.senders, ...s.webhooks, ...s.secretKeys, ...s.secrets].filter((k) => k !== id).length;
}

interface SenderKeys {
  readonly id: number;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
}

let worker1: RunningWorker;
let sealed: SenderKeys;
let legacy: SenderKeys;
let later: SenderKeys;
let p1: number;
let p2: number;
let webhookId: number;
let webhookSecret: string;
let projectSecretKey: string;
const iphone = apnsToken('secrets-iphone');
let n0: number;
let n0OpenToken: string;
let api2: Api;
let worker2: RunningWorker;

describe('VAPID private keys at rest', () => {
  it('are sealed in their row, answered to admins, and sign the pushes', { timeout: 60_000 }, async () => {
    worker1 = await p.startWorker();
    const created = await admin(p.server.apiUrl, 'POST', '/senders', { name: 'sealed' });
    expect(created.status).toBe(201);
    sealed = { id: created.body.id, privateKeyPem: created.body.vapid_private_key, publicKeyPem: created.body.vapid_public_key };
    expect(sealed.privateKeyPem).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);

    // The row: no plaintext column, and neither the PEM nor the private scalar anywhere in it.
    const { rows } = await p.server.db.query(
      `SELECT s::text AS whole, vapid_private_key, key_id, octet_length(sealed_private_key) AS n FROM senders s WHERE id = $1`,
      [sealed.id],
    );
    expect(rows[0]).toMatchObject({ vapid_private_key: null, key_id: keyId(K1) });
    expect(rows[0].n).toBeGreaterThan(100);
    const pemBody = sealed.privateKeyPem.split('\n')[1]!;
    const d = Buffer.from(createPrivateKey(sealed.privateKeyPem).export({ format: 'jwk' }).d!, 'base64url');
    for (const secret of [pemBody, d.toString('hex'), d.toString('base64'), Buffer.from(pemBody).toString('hex')]) {
      expect(rows[0].whole).not.toContain(secret);
    }

    // Admins still read it, as Pushpad's API answers it.
    expect((await admin(p.server.apiUrl, 'GET', `/senders/${sealed.id}`)).body.vapid_private_key).toBe(sealed.privateKeyPem);
    const listed = (await admin(p.server.apiUrl, 'GET', '/senders')).body.find((s: { id: number }) => s.id === sealed.id);
    expect(listed.vapid_private_key).toBe(sealed.privateKeyPem);
    expect((await admin(p.server.apiUrl, 'PATCH', `/senders/${sealed.id}`, { name: 'renamed' })).body).toMatchObject({
      name: 'renamed',
      vapid_private_key: sealed.privateKeyPem,
    });

    // The worker opens it to sign: the local push service verifies the VAPID JWT under its public key.
    ({ projectId: p1 } = await createProject(p.server, 'sealed', { senderId: sealed.id }));
    await giveProjectCredentials(p, p1, { topic: 'com.example.secrets' });
    await seedSubscribers(p.server.db, p.push, p1, 1, { idPrefix: 'p1-web' });
    await subscribeDevice(p, p1, 'apns', iphone);
    const hook = await admin(p.server.apiUrl, 'POST', `/projects/${p1}/webhooks`, { url: 'https://hooks.example.com/secrets' });
    expect(hook.status).toBe(201);
    ({ id: webhookId, secret: webhookSecret } = hook.body);
    const sk = await admin(p.server.apiUrl, 'POST', `/projects/${p1}/secret_keys`);
    expect(sk.status).toBe(201);
    projectSecretKey = sk.body.secret_key;
    const sent = await broadcast(p.server.apiUrl, p1, 'under K1');
    n0 = sent.id;
    expect(sent.n).toMatchObject({ successfully_sent_count: 2, failed_count: 0 });
    const m = webMessage('p1-web0', n0);
    expect(m.vapid).toMatchObject({ valid: true, publicKey: vapidApplicationServerKey(sealed.publicKeyPem) });
    n0OpenToken = JSON.parse(m.plaintext!).open_token;
  });

  it('a sender stored before they were sealed keeps its plaintext key working; without a secret key no sender is created', { timeout: 60_000 }, async () => {
    legacy = { ...(await insertLegacySender(p.server.db, 'legacy')) };
    expect((await admin(p.server.apiUrl, 'GET', `/senders/${legacy.id}`)).body.vapid_private_key).toBe(legacy.privateKeyPem);
    ({ projectId: p2 } = await createProject(p.server, 'legacy', { senderId: legacy.id }));
    await seedSubscribers(p.server.db, p.push, p2, 1, { idPrefix: 'p2-web' });
    const sent = await broadcast(p.server.apiUrl, p2, 'legacy sender');
    expect(sent.n).toMatchObject({ successfully_sent_count: 1 });
    expect(webMessage('p2-web0', sent.id).vapid).toMatchObject({ valid: true, publicKey: vapidApplicationServerKey(legacy.publicKeyPem) });

    const noKey = await startTestServer('secrets_nokey', { PUSHCAST_SECRET_KEY: '' });
    try {
      const refused = await call(noKey.apiUrl, 'POST', '/senders', { token: noKey.adminToken, body: { name: 'x' } });
      expect(refused.status).toBe(409);
      expect(refused.body).toMatchObject({ code: 'conflict', field: 'vapid_private_key', rule: 'secret_key_not_configured' });
      expect(refused.body.error).toContain('PUSHCAST_SECRET_KEY');
      const old = await insertLegacySender(noKey.db);
      const { body } = await call(noKey.apiUrl, 'GET', '/senders', { token: noKey.adminToken });
      expect(body).toEqual([expect.objectContaining({ id: old.id, vapid_private_key: old.privateKeyPem })]);
    } finally {
      await noKey.close();
    }
  });
});

describe('PUSHCAST_SECRET_KEY rotated to K2', () => {
  it('without the previous key, what K1 sealed does not open (answered as null); the plaintext row still does', async () => {
    await worker1.close();
    const api = await apiWith(K2);
    const senders = (await admin(api.apiUrl, 'GET', '/senders')).body as { id: number; vapid_private_key: string | null }[];
    expect(senders.find((s) => s.id === sealed.id)?.vapid_private_key).toBeNull();
    expect(senders.find((s) => s.id === legacy.id)?.vapid_private_key).toBe(legacy.privateKeyPem);
    await api.close();
  });

  it('with K1 in PUSHCAST_SECRET_KEY_PREVIOUS, values sealed under K1 are read and used; new ones are sealed under K2', { timeout: 60_000 }, async () => {
    api2 = await apiWith(K2, [K1]);
    worker2 = await workerWith(K2, [K1]);
    expect((await admin(api2.apiUrl, 'GET', `/senders/${sealed.id}`)).body.vapid_private_key).toBe(sealed.privateKeyPem);

    // VAPID key and APNs credentials sealed under K1, opened by a worker whose current key is K2.
    const sent = await broadcast(api2.apiUrl, p1, 'under K2, K1 previous');
    expect(sent.n).toMatchObject({ successfully_sent_count: 2, failed_count: 0 });
    expect(webMessage('p1-web0', sent.id).vapid).toMatchObject({ valid: true, publicKey: vapidApplicationServerKey(sealed.publicKeyPem) });
    expect(p.apns.receivedFor(iphone).filter((r) => r.status === 200)).toHaveLength(2);

    const created = await admin(api2.apiUrl, 'POST', '/senders', { name: 'later' });
    later = { id: created.body.id, privateKeyPem: created.body.vapid_private_key, publicKeyPem: created.body.vapid_public_key };
    const { rows } = await p.server.db.query(`SELECT key_id FROM senders WHERE id = $1`, [later.id]);
    expect(rows[0].key_id).toBe(keyId(K2));
  });

  it('`pushcast rekey` moves every secret under K2 while the API and a worker run; then K1 can be dropped', { timeout: 90_000 }, async () => {
    const before = await sealedState();
    // Provider credentials (APNs and FCM), two senders (one sealed under K1, one plaintext), a
    // webhook's signing secret, a project secret key and the open-tracking key.
    expect(before).toMatchObject({
      credentials: [keyId(K1), keyId(K1)],
      plaintextSenders: 1,
      webhooks: [keyId(K1)],
      secretKeys: [keyId(K1)],
      secrets: [keyId(K1)],
    });
    const stale = await notUnder(K2);
    expect(stale).toBe(7);
    // What every process warns of at start until rekey has run.
    const ring = secretKeyring(Buffer.from(K2, 'base64'), [Buffer.from(K1, 'base64')]);
    expect(await secretsToRekey(p.server.db, ring)).toEqual({
      project_credentials: 2,
      senders: 2,
      webhook_secrets: 1,
      project_secret_keys: 1,
      pushcast_secrets: 1,
    });

    const run = rekey(K2, [K1]);
    expect(await run.exited, run.output().stderr).toBe(0);
    const out = run.output().stdout;
    expect(out).toContain(`rekey done: ${stale} secrets re-sealed under key ${keyId(K2)} (project_credentials 2, senders 2, webhook_secrets 1, project_secret_keys 1, pushcast_secrets 1)`);
    expect(out).toContain('senders: done, 2 re-sealed, 1 already under the current key');
    for (const secret of [K1, K2, sealed.privateKeyPem.split('\n')[1]!]) expect(out + run.output().stderr).not.toContain(secret);
    expect(await sealedState()).toEqual({
      credentials: [keyId(K2), keyId(K2)],
      senders: [keyId(K2), keyId(K2), keyId(K2)],
      plaintextSenders: 0,
      webhooks: [keyId(K2)],
      secretKeys: [keyId(K2)],
      secrets: [keyId(K2)],
    });
    expect(await secretsToRekey(p.server.db, ring)).toEqual({});
    // Nothing left: a second run re-seals nothing.
    const again = rekey(K2, [K1]);
    expect(await again.exited).toBe(0);
    expect(again.output().stdout).toContain('rekey done: 0 secrets re-sealed');

    // K1 dropped everywhere: everything still reads and sends.
    await api2.close();
    await worker2.close();
    const api3 = await apiWith(K2);
    const worker3 = await workerWith(K2);
    const senders = (await admin(api3.apiUrl, 'GET', '/senders')).body as { id: number; vapid_private_key: string }[];
    expect(Object.fromEntries(senders.map((s) => [s.id, s.vapid_private_key]))).toEqual({
      [sealed.id]: sealed.privateKeyPem,
      [legacy.id]: legacy.privateKeyPem,
      [later.id]: later.privateKeyPem,
    });
    const one = await broadcast(api3.apiUrl, p1, 'K2 only');
    expect(one.n).toMatchObject({ successfully_sent_count: 2, failed_count: 0 });
    expect(webMessage('p1-web0', one.id).vapid).toMatchObject({ valid: true, publicKey: vapidApplicationServerKey(sealed.publicKeyPem) });
    const two = await broadcast(api3.apiUrl, p2, 'K2 only, once plaintext');
    expect(webMessage('p2-web0', two.id).vapid).toMatchObject({ valid: true, publicKey: vapidApplicationServerKey(legacy.publicKeyPem) });
    await worker3.close();
    // The webhook's secret, as the worker that signs deliveries opens it.
    const k2Only = secretKeyring(Buffer.from(K2, 'base64'));
    expect(await openWebhookSecrets(p.server.db, k2Only, webhookId)).toEqual({ ok: true, value: [webhookSecret] });
    expect(await openProjectSecretKeys(p.server.db, k2Only, p1)).toEqual({ ok: true, value: [projectSecretKey] });

    // An open-tracking token sent under K1 still counts: the open-tracking key did not change with the secret key.
    const opened = await call(api3.apiUrl, 'POST', `/notifications/${n0}/open`, { body: { token: n0OpenToken } });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    expect(opened.body).toEqual({ counted: true });
    await api3.close();
  });

  it('a rekey killed midway (batches of one) is finished by running it again', { timeout: 90_000 }, async () => {
    const api = await apiWith(K2);
    const more: SenderKeys[] = [];
    for (let i = 0; i < 4; i += 1) {
      const res = await admin(api.apiUrl, 'POST', '/senders', { name: `more ${i}` });
      more.push({ id: res.body.id, privateKeyPem: res.body.vapid_private_key, publicKeyPem: res.body.vapid_public_key });
    }
    await api.close();

    // A writer holds one sender's row: the rekey re-seals every row it can, one per transaction, then
    // waits for that one; it is killed there, with the rest of the job (that row, the tables after) undone.
    const holder = new pg.Client({ connectionString: p.server.databaseUrl });
    await holder.connect();
    closers.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM senders WHERE id = $1 FOR UPDATE', [more[1]!.id]);
    const first = rekey(K3, [K2], ['--batch-size', '1']);
    await waitFor('the rekey to wait for the held row', () =>
      /senders: 1 still not under the current key/.test(first.output().stdout) ? true : undefined,
    );
    first.child.kill('SIGKILL');
    expect(await first.exited).toBeNull();
    await holder.query('ROLLBACK');

    const midway = await sealedState();
    expect(midway.credentials).toEqual([keyId(K3), keyId(K3)]);
    expect(midway.senders.filter((k) => k === keyId(K3))).toHaveLength(midway.senders.length - 1);
    expect(midway.webhooks).toEqual([keyId(K2)]);
    expect(midway.secretKeys).toEqual([keyId(K2)]);
    expect(midway.secrets).toEqual([keyId(K2)]);
    expect(await notUnder(K3)).toBe(4);

    const second = rekey(K3, [K2], ['--batch-size', '1']);
    expect(await second.exited, second.output().stderr).toBe(0);
    const out = second.output().stdout;
    expect(out).toContain('project_credentials: done, 0 re-sealed, 2 already under the current key');
    expect(out).toContain(`senders: done, 1 re-sealed, ${midway.senders.length - 1} already under the current key`);
    expect(out).toContain('rekey done: 4 secrets re-sealed');
    expect(await notUnder(K3)).toBe(0);

    const api4 = await apiWith(K3);
    const senders = (await admin(api4.apiUrl, 'GET', '/senders')).body as { id: number; vapid_private_key: string }[];
    for (const s of [sealed, legacy, later, ...more]) {
      expect(senders.find((x) => x.id === s.id)?.vapid_private_key).toBe(s.privateKeyPem);
    }
    await api4.close();
  });
});

describe('the sealed tables rekey knows', () => {
  it('are every table that holds sealed values (a key id beside an authentication tag)', async () => {
    // A new table of secrets sealed under PUSHCAST_SECRET_KEY must be re-sealed by `pushcast rekey`
    // too, or dropping the previous key after a rotation would lose it.
    const { rows } = await p.server.db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema() AND column_name IN ('key_id', 'auth_tag')
       GROUP BY table_name HAVING count(*) = 2 ORDER BY table_name`,
    );
    expect(rows.map((r) => r.table_name)).toEqual(SEALED_TABLES.map((t) => t.name).sort());
  });
});
