import { createHmac, generateKeyPairSync, randomUUID, sign } from 'node:crypto';
import dns from 'node:dns';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import http2 from 'node:http2';
import { request as httpsRequest } from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging, type BatchResponse, type Messaging } from 'firebase-admin/messaging';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  FCM_HOST,
  OAUTH_HOST,
  OAUTH_TOKEN_URL,
  createFcmAgent,
  generateRsaKeyPair,
  generateServiceAccount,
  redirectFcmTo,
  redirectOAuthTo,
  startLocalFcmService,
  type GeneratedServiceAccount,
  type LocalFcmService,
} from './index.ts';

const PROJECT_A = 'project-a';
const PROJECT_B = 'project-b';
const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** What firebase-admin 13.9 prefixes to the token endpoint's refusal (lib/app/firebase-app.js). */
const CREDENTIAL_FAILURE =
  'Credential implementation provided to initializeApp() via the "credential" property failed to fetch a valid Google OAuth2 access token with the following error: ';

function codes(batch: BatchResponse): Array<string | undefined> {
  return batch.responses.map((r) => (r.success ? undefined : r.error?.code));
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

function answer(status: number, headers: Answer['headers'], text: string): Answer {
  return { status, headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** One HTTP/1.1 request, as node-fetch would make it (but to the local origin directly). */
async function h1(service: LocalFcmService, method: string, path: string, body: string, contentType: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(new URL(path, service.origin), { method, ca: service.caPem, headers: { 'content-type': contentType } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(answer(res.statusCode ?? 0, res.headers, Buffer.concat(chunks).toString('utf8'))));
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** One HTTP/2 request on its own session. */
async function h2(service: LocalFcmService, path: string, body: string, headers: Record<string, string>): Promise<Answer> {
  const session = http2.connect(service.origin, { ca: service.caPem });
  session.on('error', () => {});
  try {
    return await new Promise<Answer>((resolve, reject) => {
      const req = session.request({ ':method': 'POST', ':path': path, ...headers });
      let status = 0;
      let responseHeaders: Answer['headers'] = {};
      const chunks: Buffer[] = [];
      req.on('response', (h) => {
        responseHeaders = h;
        status = Number(h[':status']);
      });
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(answer(status, responseHeaders, Buffer.concat(chunks).toString('utf8'))));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    session.close();
  }
}

const FORM = 'application/x-www-form-urlencoded';

function grantBody(assertion: string, grantType = 'urn:ietf:params:oauth:grant-type:jwt-bearer'): string {
  return new URLSearchParams({ grant_type: grantType, assertion }).toString();
}

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** An assertion like gtoken's; `claims` override (undefined drops one), `header` replaces. */
function assertion(
  signer: { privateKeyPem: string; clientEmail: string },
  claims: Record<string, unknown> = {},
  header: Record<string, unknown> = { alg: 'RS256' },
): string {
  const iat = Math.floor(Date.now() / 1000);
  const input = `${b64(header)}.${b64({ iss: signer.clientEmail, scope: FCM_SCOPE, aud: OAUTH_TOKEN_URL, exp: iat + 3600, iat, ...claims })}`;
  return `${input}.${sign('RSA-SHA256', Buffer.from(input), signer.privateKeyPem).toString('base64url')}`;
}

describe('the OAuth token endpoint with the real firebase-admin service-account credential', () => {
  let service: LocalFcmService;
  let undoRedirect: () => void;
  let undoOAuth: () => void;
  let agent: ReturnType<typeof createFcmAgent>;
  let saA: GeneratedServiceAccount;
  let saB: GeneratedServiceAccount;
  /** Never trusted. */
  let stranger: GeneratedServiceAccount;
  /** Every TCP connection this test file opens, by host: all must be loopback. */
  const dialled: string[] = [];
  const socketProto = net.Socket.prototype as unknown as { connect: (...args: unknown[]) => unknown };
  const realConnect = socketProto.connect;
  /** Every name looked up: none, as every redirect dials 127.0.0.1. */
  const looked: string[] = [];
  const resolver = dns as unknown as { lookup: typeof dns.lookup };
  const realLookup = resolver.lookup;

  /**
   * A new trusted service account. Tests that count token exchanges need their own: firebase-admin's
   * `cert()` memoizes the credential, token included, per JSON.stringify of its argument, process-wide.
   */
  function fresh(projectId: string): GeneratedServiceAccount {
    const sa = generateServiceAccount(projectId);
    service.trustServiceAccount(sa);
    return sa;
  }

  /** An agent like `agent` that records the hosts it opened connections for. */
  function spyAgent(): { agent: ReturnType<typeof createFcmAgent>; hosts: string[] } {
    const spied = createFcmAgent(service.origin, service.caPem);
    const hosts: string[] = [];
    const inner = spied.createConnection.bind(spied);
    spied.createConnection = (options, callback) => {
      hosts.push(String(options.host));
      return inner(options, callback);
    };
    return { agent: spied, hosts };
  }

  /** A firebase-admin app as Pushcast builds one from a stored service account; deleted afterwards. */
  async function withApp<T>(
    json: Record<string, string> | string,
    projectId: string,
    use: (messaging: Messaging) => Promise<T>,
    httpAgent = agent,
  ): Promise<T> {
    const app = initializeApp({ credential: cert(json, httpAgent), projectId, httpAgent }, `oauth-${randomUUID()}`);
    try {
      return await use(getMessaging(app));
    } finally {
      await deleteApp(app);
    }
  }

  beforeAll(async () => {
    socketProto.connect = function connect(this: unknown, ...args: unknown[]) {
      // net.connect passes its normalized [options, callback] array; tls.connect an options object.
      const first = Array.isArray(args[0]) ? (args[0] as unknown[])[0] : args[0];
      const host = typeof first === 'object' && first !== null ? (first as { host?: string; path?: string }) : undefined;
      dialled.push(host?.path !== undefined ? 'ipc' : (host?.host ?? (typeof args[1] === 'string' ? args[1] : 'localhost')));
      return Reflect.apply(realConnect, this, args);
    };
    resolver.lookup = ((hostname: string, ...rest: unknown[]) => {
      looked.push(hostname);
      return Reflect.apply(realLookup, dns, [hostname, ...rest]);
    }) as typeof dns.lookup;
    service = await startLocalFcmService();
    undoRedirect = redirectFcmTo(service.origin, service.caPem);
    undoOAuth = redirectOAuthTo(service.origin, service.caPem);
    agent = createFcmAgent(service.origin, service.caPem);
    saA = generateServiceAccount(PROJECT_A);
    saB = generateServiceAccount(PROJECT_B);
    stranger = generateServiceAccount(PROJECT_A);
    service.trustServiceAccount(saA);
    service.trustServiceAccount(saB);
  });
  afterEach(() => {
    vi.useRealTimers();
    service.reset();
  });
  afterAll(async () => {
    undoRedirect();
    undoOAuth();
    agent.destroy();
    await service.close();
    socketProto.connect = realConnect;
    resolver.lookup = realLookup;
    expect(looked.filter((host) => !LOOPBACK.has(host))).toStrictEqual([]);
    expect(dialled.length).toBeGreaterThan(10);
    expect(dialled.filter((host) => !LOOPBACK.has(host) && host !== 'ipc')).toStrictEqual([]);
  });

  it('gets a token from POST /token, and FCM attributes each message to the service account', async () => {
    const sa = fresh(PROJECT_A);
    const batch = await withApp(sa.json, PROJECT_A, (m) => m.sendEach([{ token: 'tok-a1' }, { token: 'tok-a2', data: { k: 'v' } }]));

    expect(codes(batch)).toStrictEqual([undefined, undefined]);
    const grants = service.tokenRequests();
    expect(grants).toHaveLength(1);
    const grant = grants[0];
    expect(grant).toMatchObject({
      status: 200,
      clientEmail: sa.clientEmail,
      projectId: PROJECT_A,
      httpVersion: '1.1',
      // node-fetch sent Host: oauth2.googleapis.com; the redirect dialled the local server instead.
      authority: OAUTH_HOST,
    });
    expect(grant?.error).toBeUndefined();
    // google-auth-library asks for firebase-admin's five scopes.
    expect(grant?.scope?.split(' ').sort()).toStrictEqual([
      'https://www.googleapis.com/auth/cloud-platform',
      'https://www.googleapis.com/auth/firebase.database',
      'https://www.googleapis.com/auth/firebase.messaging',
      'https://www.googleapis.com/auth/identitytoolkit',
      'https://www.googleapis.com/auth/userinfo.email',
    ]);
    expect(grant?.accessToken).toMatch(/^ya29\.[\w-]{64}$/);
    const sent = service
      .received()
      .map((r) => [r.token, r.project, r.status, r.clientEmail, r.authorization, r.httpVersion, r.authority])
      .sort();
    expect(sent).toStrictEqual([
      ['tok-a1', PROJECT_A, 200, sa.clientEmail, `Bearer ${grant?.accessToken}`, '2.0', `${FCM_HOST}:443`],
      ['tok-a2', PROJECT_A, 200, sa.clientEmail, `Bearer ${grant?.accessToken}`, '2.0', `${FCM_HOST}:443`],
    ]);
    expect(service.counters()).toMatchObject({ oauthTokensIssued: 1, oauthRefusals: 0, requests: 2, byStatus: { 200: 2 } });
  });

  it('cert(object, agent) leaves the agent out of the token request (firebase-admin-node#2960): redirectOAuthTo catches it', async () => {
    const spy = spyAgent();
    const sa = fresh(PROJECT_A);
    try {
      const [batch, id] = await withApp(sa.json, PROJECT_A, async (m) => [await m.sendEach([{ token: 'tok-obj' }]), await m.send({ token: 'tok-obj-h1' })] as const, spy.agent);
      expect(codes(batch)).toStrictEqual([undefined]);
      expect(id).toMatch(/^projects\/project-a\/messages\//);
      // The agent carried send() (HTTP/1.1 to FCM) only; the token came through https.globalAgent.
      expect(spy.hosts).toStrictEqual([FCM_HOST]);
      expect(service.tokenRequests().map((t) => [t.status, t.authority, t.clientEmail])).toStrictEqual([[200, OAUTH_HOST, sa.clientEmail]]);
    } finally {
      spy.agent.destroy();
    }
  });

  it('cert(path, agent) sends the token request through createFcmAgent', async () => {
    const spy = spyAgent();
    const dir = await mkdtemp(join(tmpdir(), 'local-fcm-sa-'));
    try {
      const file = join(dir, 'service-account.json');
      await writeFile(file, JSON.stringify(saB.json));
      const batch = await withApp(file, PROJECT_B, (m) => m.sendEach([{ token: 'tok-file' }]), spy.agent);
      expect(codes(batch)).toStrictEqual([undefined]);
      expect(spy.hosts).toStrictEqual([OAUTH_HOST]);
      expect(service.receivedFor('tok-file')[0]?.clientEmail).toBe(saB.clientEmail);
    } finally {
      spy.agent.destroy();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('fetches the token once and reuses it across sendEach calls, concurrent ones and send()', async () => {
    const sa = fresh(PROJECT_A);
    await withApp(sa.json, PROJECT_A, async (m) => {
      for (let i = 0; i < 3; i++) expect((await m.sendEach([{ token: `tok-seq-${i}` }])).successCount).toBe(1);
      const [left, right] = await Promise.all([
        m.sendEach([{ token: 'tok-par-1' }, { token: 'tok-par-2' }]),
        m.sendEachForMulticast({ tokens: ['tok-par-3', 'tok-par-4'] }),
      ]);
      expect([left.successCount, right.successCount]).toStrictEqual([2, 2]);
      await m.send({ token: 'tok-h1' });
    });
    expect(service.counters().oauthTokensIssued).toBe(1);
    const bearers = new Set(service.received().map((r) => r.authorization));
    expect(bearers).toStrictEqual(new Set([`Bearer ${service.tokenRequests()[0]?.accessToken}`]));
    expect(service.received()).toHaveLength(8);
    expect(service.received().every((r) => r.status === 200 && r.clientEmail === sa.clientEmail)).toBe(true);
    // Another app from the same JSON gets the same memoized credential from cert(), token included.
    await withApp(sa.json, PROJECT_A, (m) => m.sendEach([{ token: 'tok-second-app' }]));
    expect(service.counters().oauthTokensIssued).toBe(1);
    expect(service.receivedFor('tok-second-app')[0]?.authorization).toBe(`Bearer ${service.tokenRequests()[0]?.accessToken}`);
    // The same account with its JSON keys in another order is another credential, which fetches its own.
    const reordered = Object.fromEntries(Object.entries(sa.json).reverse());
    await withApp(reordered, PROJECT_A, (m) => m.sendEach([{ token: 'tok-third-app' }]));
    expect(service.counters().oauthTokensIssued).toBe(2);
  });

  it('refuses an untrusted service account: every message fails with app/invalid-credential and nothing reaches FCM', async () => {
    const { batch, single } = await withApp(stranger.json, PROJECT_A, async (m) => ({
      batch: await m.sendEach([{ token: 'tok-x1' }, { token: 'tok-x2' }]),
      single: await m.send({ token: 'tok-x3' }).then(
        () => undefined,
        (e: unknown) => e as { code?: string; message?: string },
      ),
    }));

    expect(codes(batch)).toStrictEqual(['app/invalid-credential', 'app/invalid-credential']);
    const message = batch.responses[0]?.error?.message ?? '';
    expect(message.startsWith(`${CREDENTIAL_FAILURE}"invalid_grant: Invalid grant: account not found".`)).toBe(true);
    // firebase-admin adds its hint about clocks and revoked keys to every invalid_grant.
    expect(message).toContain('There are two likely causes');
    expect(single?.code).toBe('app/invalid-credential');
    expect(service.received()).toHaveLength(0);
    // One refused exchange per call (the batch's messages share it; 400 is not retried).
    expect(service.counters()).toMatchObject({ oauthTokensIssued: 0, oauthRefusals: 2, oauthRefusalsByError: { invalid_grant: 2 }, requests: 0 });
    expect(service.tokenRequests().map((t) => [t.status, t.clientEmail, t.error, t.errorDescription, t.accessToken])).toStrictEqual([
      [400, stranger.clientEmail, 'invalid_grant', 'Invalid grant: account not found', undefined],
      [400, stranger.clientEmail, 'invalid_grant', 'Invalid grant: account not found', undefined],
    ]);
  });

  it('refuses a trusted account signing with another key: Invalid JWT Signature', async () => {
    const forged = { ...saA.json, private_key: stranger.privateKeyPem };
    const batch = await withApp(forged, PROJECT_A, (m) => m.sendEach([{ token: 'tok-forged' }]));
    expect(codes(batch)).toStrictEqual(['app/invalid-credential']);
    expect(batch.responses[0]?.error?.message).toContain(`${CREDENTIAL_FAILURE}"invalid_grant: Invalid JWT Signature.".`);
    expect(service.receivedFor('tok-forged')).toHaveLength(0);
    expect(service.tokenRequests()[0]).toMatchObject({ status: 400, clientEmail: saA.clientEmail, error: 'invalid_grant' });
  });

  it('keeps two projects apart: each service account token sends for its own project only', async () => {
    const saPA = fresh(PROJECT_A);
    const saPB = fresh(PROJECT_B);
    const a = await withApp(saPA.json, PROJECT_A, (m) => m.sendEach([{ token: 'tok-pa' }]));
    const b = await withApp(saPB.json, PROJECT_B, (m) => m.sendEach([{ token: 'tok-pb' }]));
    // Pushcast misconfigured: project B's id with project A's key. Google answers 403 PERMISSION_DENIED.
    const crossed = await withApp(saPA.json, PROJECT_B, (m) => m.sendEach([{ token: 'tok-crossed' }]));

    expect([codes(a), codes(b), codes(crossed)]).toStrictEqual([[undefined], [undefined], ['messaging/mismatched-credential']]);
    const tokens = service.tokenRequests().map((t) => [t.clientEmail, t.projectId, t.accessToken]);
    expect(tokens.map(([email, project]) => [email, project])).toStrictEqual([
      [saPA.clientEmail, PROJECT_A],
      [saPB.clientEmail, PROJECT_B],
    ]);
    const [aToken, bToken] = tokens.map((t) => t[2] ?? '');
    expect(service.received().map((r) => [r.token, r.project, r.status, r.errorCode, r.clientEmail, r.authorization])).toStrictEqual([
      ['tok-pa', PROJECT_A, 200, undefined, saPA.clientEmail, `Bearer ${aToken}`],
      ['tok-pb', PROJECT_B, 200, undefined, saPB.clientEmail, `Bearer ${bToken}`],
      // cert() gave the third app the first one's credential and token.
      ['tok-crossed', PROJECT_B, 403, 'PERMISSION_DENIED', saPA.clientEmail, `Bearer ${aToken}`],
    ]);

    // The same with the bearer by hand: B's token on A's project.
    const send = (project: string) =>
      h2(service, `/v1/projects/${project}/messages:send`, JSON.stringify({ message: { token: `tok-raw-${project}` } }), {
        authorization: `Bearer ${bToken}`,
        'content-type': 'application/json',
      });
    expect((await send(PROJECT_B)).status).toBe(200);
    const foreign = await send(PROJECT_A);
    expect(foreign.status).toBe(403);
    expect((foreign.json()['error'] as { status: string }).status).toBe('PERMISSION_DENIED');
    // A bearer /token never issued is unknown.
    const forged = await h2(service, `/v1/projects/${PROJECT_A}/messages:send`, JSON.stringify({ message: { token: 't' } }), {
      authorization: 'Bearer ya29.forged',
      'content-type': 'application/json',
    });
    expect(forged.status).toBe(401);
  });

  it('untrusting a service account revokes its tokens and refuses new ones', async () => {
    const sa = fresh(PROJECT_B);
    await withApp(sa.json, PROJECT_B, async (m) => {
      expect(codes(await m.sendEach([{ token: 'tok-before' }]))).toStrictEqual([undefined]);
      expect(service.untrustServiceAccount(sa.clientEmail)).toBe(true);
      expect(service.untrustServiceAccount(sa.clientEmail)).toBe(false);
      // The app still holds its cached token, which FCM no longer accepts (401 UNAUTHENTICATED);
      // firebase-admin does not fetch a new one on a 401.
      expect(codes(await m.sendEach([{ token: 'tok-after' }]))).toStrictEqual(['messaging/third-party-auth-error']);
    });
    // A new credential (the JSON in another order, so cert() does not hand back the memoized one) asks /token.
    const reordered = Object.fromEntries(Object.entries(sa.json).reverse());
    const refused = await withApp(reordered, PROJECT_B, (m) => m.sendEach([{ token: 'tok-new-credential' }]));
    expect(codes(refused)).toStrictEqual(['app/invalid-credential']);
    expect(refused.responses[0]?.error?.message).toContain('"invalid_grant: Invalid grant: account not found"');
    expect(service.received().map((r) => [r.token, r.status, r.clientEmail])).toStrictEqual([
      ['tok-before', 200, sa.clientEmail],
      ['tok-after', 401, undefined],
    ]);

    service.trustServiceAccount(sa);
    expect(codes(await withApp(reordered, PROJECT_B, (m) => m.sendEach([{ token: 'tok-again' }])))).toStrictEqual([undefined]);
  });

  it('expires issued tokens after expires_in (3599 s)', async () => {
    const granted = await h1(service, 'POST', '/token', grantBody(assertion(saA)), FORM);
    const token = granted.json()['access_token'] as string;
    const send = () =>
      h2(service, `/v1/projects/${PROJECT_A}/messages:send`, JSON.stringify({ message: { token: 'tok-expiry' } }), {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
      });
    expect((await send()).status).toBe(200);
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 3598_000 });
    expect((await send()).status).toBe(200);
    vi.setSystemTime(Date.now() + 2_000);
    const late = await send();
    expect(late.status).toBe(401);
    expect(service.receivedFor('tok-expiry').map((r) => [r.status, r.errorCode, r.clientEmail])).toStrictEqual([
      [200, undefined, saA.clientEmail],
      [200, undefined, saA.clientEmail],
      [401, 'UNAUTHENTICATED', saA.clientEmail],
    ]);
  });

  describe('checks the JWT bearer grant like Google', () => {
    const now = () => Math.floor(Date.now() / 1000);
    const cases: Array<{
      name: string;
      body: () => string;
      contentType?: string;
      status: number;
      error?: string;
      description?: string;
    }> = [
      { name: 'a valid assertion', body: () => grantBody(assertion(saA)), status: 200 },
      { name: 'scope cloud-platform alone', body: () => grantBody(assertion(saA, { scope: 'https://www.googleapis.com/auth/cloud-platform' })), status: 200 },
      { name: 'sub equal to iss', body: () => grantBody(assertion(saA, { sub: saA.clientEmail })), status: 200 },
      { name: 'the kid of the trusted key', body: () => grantBody(assertion(saA, {}, { alg: 'RS256', kid: saA.privateKeyId, typ: 'JWT' })), status: 200 },
      { name: 'the longest lifetime, nearly spent', body: () => grantBody(assertion(saA, { iat: now() - 3590, exp: now() + 10 })), status: 200 },
      {
        name: 'another grant type',
        body: () => grantBody(assertion(saA), 'authorization_code'),
        status: 400,
        error: 'unsupported_grant_type',
        description: 'Invalid grant_type: authorization_code',
      },
      {
        name: 'a JSON body instead of a form',
        body: () => JSON.stringify({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(saA) }),
        contentType: 'application/json',
        status: 400,
        error: 'unsupported_grant_type',
        description: 'Invalid grant_type: ',
      },
      {
        name: 'no assertion',
        body: () => 'grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer',
        status: 400,
        error: 'invalid_request',
        description: 'Missing required parameter: assertion',
      },
      { name: 'not a JWT', body: () => grantBody('not-a-jwt'), status: 400, error: 'invalid_grant', description: 'Invalid JWT Signature.' },
      {
        name: 'alg none',
        body: () => grantBody(`${b64({ alg: 'none' })}.${b64({ iss: saA.clientEmail, scope: FCM_SCOPE, aud: OAUTH_TOKEN_URL, iat: now(), exp: now() + 60 })}.`),
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT Signature.',
      },
      {
        name: 'HS256 keyed with the public key',
        body: () => {
          const input = `${b64({ alg: 'HS256' })}.${b64({ iss: saA.clientEmail, scope: FCM_SCOPE, aud: OAUTH_TOKEN_URL, iat: now(), exp: now() + 60 })}`;
          return grantBody(`${input}.${createHmac('sha256', saA.publicKeyPem).update(input).digest('base64url')}`);
        },
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT Signature.',
      },
      {
        name: 'signed by another key',
        body: () => grantBody(assertion({ privateKeyPem: stranger.privateKeyPem, clientEmail: saA.clientEmail })),
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT Signature.',
      },
      {
        name: 'claims changed after signing',
        body: () => {
          const [header, , signature] = assertion(saA).split('.');
          const claims = b64({ iss: saA.clientEmail, scope: FCM_SCOPE, aud: OAUTH_TOKEN_URL, iat: now(), exp: now() + 60 });
          return grantBody(`${header}.${claims}.${signature}`);
        },
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT Signature.',
      },
      {
        name: 'a kid naming another key',
        body: () => grantBody(assertion(saA, {}, { alg: 'RS256', kid: 'f'.repeat(40) })),
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT Signature.',
      },
      { name: 'no iss', body: () => grantBody(assertion(saA, { iss: undefined })), status: 400, error: 'invalid_grant', description: 'Invalid email or User ID.' },
      {
        name: 'an unknown account',
        body: () => grantBody(assertion(stranger)),
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid grant: account not found',
      },
      {
        name: 'the old audience',
        body: () => grantBody(assertion(saA, { aud: 'https://www.googleapis.com/oauth2/v4/token' })),
        status: 400,
        error: 'invalid_grant',
        description: 'Invalid JWT: Failed audience check.',
      },
      ...(
        [
          ['a lifetime over 60 minutes', () => ({ iat: now(), exp: now() + 3601 })],
          ['an expired assertion', () => ({ iat: now() - 3700, exp: now() - 100 })],
          ['iat ten minutes ahead', () => ({ iat: now() + 600, exp: now() + 1200 })],
          ['exp before iat', () => ({ iat: now(), exp: now() - 1 })],
          ['no exp', () => ({ exp: undefined })],
          ['a string iat', () => ({ iat: String(now()) })],
        ] as const
      ).map(([name, claims]) => ({
        name,
        body: () => grantBody(assertion(saA, claims())),
        status: 400,
        error: 'invalid_grant',
        description:
          'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems.',
      })),
      {
        name: 'domain-wide delegation (sub of a user)',
        body: () => grantBody(assertion(saA, { sub: 'someone@example.com' })),
        status: 401,
        error: 'unauthorized_client',
        description: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
      },
      {
        name: 'no scope',
        body: () => grantBody(assertion(saA, { scope: undefined })),
        status: 400,
        error: 'invalid_scope',
        description: 'Empty or missing scope not allowed.',
      },
      {
        name: 'a scope without FCM',
        body: () => grantBody(assertion(saA, { scope: 'https://www.googleapis.com/auth/drive https://www.googleapis.com/auth/userinfo.email' })),
        status: 400,
        error: 'invalid_scope',
        description: 'Invalid OAuth scope or ID token audience provided.',
      },
    ];

    for (const c of cases) {
      it(c.name, async () => {
        const got = await h1(service, 'POST', '/token', c.body(), c.contentType ?? FORM);
        expect(got.status, got.text).toBe(c.status);
        expect(got.headers['content-type']).toBe('application/json; charset=utf-8');
        const body = got.json();
        if (c.status === 200) {
          expect(Object.keys(body)).toStrictEqual(['access_token', 'expires_in', 'token_type']);
          expect(body).toMatchObject({ expires_in: 3599, token_type: 'Bearer', access_token: expect.stringMatching(/^ya29\./) });
          expect(service.counters()).toMatchObject({ oauthTokensIssued: 1, oauthRefusals: 0 });
          return;
        }
        expect(body).toStrictEqual({ error: c.error, error_description: c.description });
        expect(service.counters()).toMatchObject({ oauthTokensIssued: 0, oauthRefusals: 1, oauthRefusalsByError: { [c.error ?? '']: 1 } });
        expect(service.tokenRequests()[0]).toMatchObject({ status: c.status, error: c.error, errorDescription: c.description });
      });
    }

    it('answers over HTTP/2 too, and the token it issues sends', async () => {
      const got = await h2(service, '/token', grantBody(assertion(saB)), { 'content-type': FORM });
      expect(got.status).toBe(200);
      expect(service.tokenRequests()[0]).toMatchObject({ status: 200, httpVersion: '2.0', clientEmail: saB.clientEmail });
      const sent = await h2(service, `/v1/projects/${PROJECT_B}/messages:send`, JSON.stringify({ message: { token: 'tok-h2-grant' } }), {
        authorization: `Bearer ${got.json()['access_token'] as string}`,
        'content-type': 'application/json',
      });
      expect(sent.status).toBe(200);
      expect(service.receivedFor('tok-h2-grant')[0]?.clientEmail).toBe(saB.clientEmail);
    });

    it('takes POST only, and keeps token exchanges out of the FCM request counters', async () => {
      expect((await h1(service, 'GET', '/token', '', FORM)).status).toBe(405);
      await h1(service, 'POST', '/token', grantBody(assertion(saA)), FORM);
      expect(service.counters()).toMatchObject({ requests: 0, http1: 0, byStatus: {}, oauthTokensIssued: 1 });
    });
  });

  describe('trusting service accounts', () => {
    it('through POST /__trust-service-account with a console JSON key file, and /__untrust-service-account', async () => {
      const sa = generateServiceAccount('project-c');
      const trust = (path: string, body: unknown) => h1(service, 'POST', path, JSON.stringify(body), 'application/json');
      const refused = await withApp(sa.json, 'project-c', (m) => m.sendEach([{ token: 'tok-c0' }]));
      expect(codes(refused)).toStrictEqual(['app/invalid-credential']);

      expect((await trust('/__trust-service-account', sa.json)).status).toBe(204);
      expect(codes(await withApp(sa.json, 'project-c', (m) => m.sendEach([{ token: 'tok-c1' }])))).toStrictEqual([undefined]);
      expect(service.receivedFor('tok-c1')[0]?.clientEmail).toBe(sa.clientEmail);

      expect((await trust('/__untrust-service-account', { clientEmail: sa.clientEmail })).status).toBe(204);
      expect((await trust('/__untrust-service-account', { clientEmail: sa.clientEmail })).status).toBe(404);
      const grant = () => h1(service, 'POST', '/token', grantBody(assertion(sa)), FORM);
      expect((await grant()).status).toBe(400);
      // The public key alone is enough, in our camelCase shape.
      const byPublicKey = { clientEmail: sa.clientEmail, projectId: 'project-c', publicKeyPem: sa.publicKeyPem };
      expect((await trust('/__trust-service-account', byPublicKey)).status).toBe(204);
      expect((await grant()).status).toBe(200);
      expect(service.tokenRequests().at(-1)).toMatchObject({ status: 200, clientEmail: sa.clientEmail, projectId: 'project-c' });
      const bad = await trust('/__trust-service-account', { clientEmail: 'x@y.iam.gserviceaccount.com', projectId: 'p' });
      expect([bad.status, bad.text]).toStrictEqual([400, 'x@y.iam.gserviceaccount.com: give publicKeyPem or privateKeyPem']);
      service.untrustServiceAccount(sa.clientEmail);
    });

    it('refuses keys that cannot sign RS256 or do not match, and a second project for one account', () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
      expect(() => service.trustServiceAccount({ clientEmail: 'ec@p.iam.gserviceaccount.com', projectId: 'p', publicKeyPem: ec })).toThrow(
        'ec@p.iam.gserviceaccount.com: an RS256 key must be RSA, got ec',
      );
      expect(() =>
        service.trustServiceAccount({
          clientEmail: 'mix@p.iam.gserviceaccount.com',
          projectId: 'p',
          publicKeyPem: saA.publicKeyPem,
          privateKeyPem: saB.privateKeyPem,
        }),
      ).toThrow('are not one key pair');
      expect(() => service.trustServiceAccount({ ...saA, projectId: PROJECT_B })).toThrow(
        `${saA.clientEmail} belongs to project ${PROJECT_A}, not ${PROJECT_B}`,
      );
      expect(() => service.trustServiceAccount({ clientEmail: '', projectId: 'p', privateKeyPem: saA.privateKeyPem })).toThrow('clientEmail is required');
    });

    it('accepts a second key for an account (key rotation), the first one still working', async () => {
      const rotated = generateServiceAccount(PROJECT_A);
      const second = { clientEmail: saA.clientEmail, projectId: PROJECT_A, privateKeyPem: rotated.privateKeyPem, privateKeyId: rotated.privateKeyId };
      const withSecondKey = { ...saA.json, private_key: rotated.privateKeyPem, private_key_id: rotated.privateKeyId };
      expect(codes(await withApp(withSecondKey, PROJECT_A, (m) => m.sendEach([{ token: 'tok-k2' }])))).toStrictEqual(['app/invalid-credential']);
      service.trustServiceAccount(second);
      expect(codes(await withApp(withSecondKey, PROJECT_A, (m) => m.sendEach([{ token: 'tok-k2' }])))).toStrictEqual([undefined]);
      expect(service.receivedFor('tok-k2')[0]?.clientEmail).toBe(saA.clientEmail);
      // The first key still gets tokens.
      expect((await h1(service, 'POST', '/token', grantBody(assertion(saA)), FORM)).status).toBe(200);
      // A kid picks the key: the second key's kid with a signature of the first fails.
      const crossed = await h1(service, 'POST', '/token', grantBody(assertion(saA, {}, { alg: 'RS256', kid: rotated.privateKeyId })), FORM);
      expect(crossed.json()).toStrictEqual({ error: 'invalid_grant', error_description: 'Invalid JWT Signature.' });
    });
  });

  it('generates service accounts shaped like a Firebase console download', () => {
    const { json, clientEmail, privateKeyPem, privateKeyId, projectId } = saA;
    expect(Object.keys(json)).toStrictEqual([
      'type',
      'project_id',
      'private_key_id',
      'private_key',
      'client_email',
      'client_id',
      'auth_uri',
      'token_uri',
      'auth_provider_x509_cert_url',
      'client_x509_cert_url',
      'universe_domain',
    ]);
    expect(json).toMatchObject({
      type: 'service_account',
      project_id: PROJECT_A,
      private_key_id: privateKeyId,
      private_key: privateKeyPem,
      client_email: clientEmail,
      token_uri: 'https://oauth2.googleapis.com/token',
      client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${clientEmail.replace('@', '%40')}`,
      universe_domain: 'googleapis.com',
    });
    expect(projectId).toBe(PROJECT_A);
    expect(clientEmail).toMatch(/^firebase-adminsdk-[a-z0-9]{5}@project-a\.iam\.gserviceaccount\.com$/);
    expect(privateKeyId).toMatch(/^[0-9a-f]{40}$/);
    expect(json['client_id']).toMatch(/^\d{21}$/);
    expect(privateKeyPem.startsWith('-----BEGIN PRIVATE KEY-----\n')).toBe(true);
    expect(saB.clientEmail).not.toBe(stranger.clientEmail);
  });

  it('makes an account around a key pair made earlier, which gets tokens once trusted', async () => {
    const keyPair = generateRsaKeyPair();
    const sa = generateServiceAccount(PROJECT_A, { keyPair });
    expect(sa.privateKeyPem).toBe(keyPair.privateKey);
    expect(sa.publicKeyPem).toBe(keyPair.publicKey);
    expect(sa.json['private_key']).toBe(keyPair.privateKey);
    // Another account around the same pair is another account: its own email and key id.
    const twin = generateServiceAccount(PROJECT_A, { keyPair });
    expect(twin.clientEmail).not.toBe(sa.clientEmail);
    expect(twin.privateKeyId).not.toBe(sa.privateKeyId);
    service.trustServiceAccount(sa);
    const res = await withApp(sa.json, PROJECT_A, (m) => m.sendEach([{ token: 'kp', notification: { title: 'pair' } }]));
    expect(res.successCount).toBe(1);
  });
});
