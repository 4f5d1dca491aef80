import { createHmac } from 'node:crypto';
import { openToken, openTrackingKey, vapidApplicationServerKey } from '@pushcast/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// The browser's endpoints over plain HTTP, as a page's fetch would make them (the Chromium test,
// browser-sdk.test.ts, drives the same through the SDK): CORS per project, uid signatures, tags a
// browser may set, proof by the auth secret, open tracking, the SDK files and the limit per address.

const SITE = 'https://shop.example';
let p: Pipeline;
let api: string;
let projectId: number;
let token: string;

beforeAll(async () => {
  p = await startPipeline('browser_api');
  await p.startWorker();
  api = p.server.apiUrl;
  ({ projectId } = await createProject(p.server, 'Shop'));
  const patched = await call(api, 'PATCH', `/projects/${projectId}`, {
    token: p.server.adminToken,
    body: { website: `${SITE}/home`, browser_tags_allowed: ['news', 'city:*'] },
  });
  expect(patched.status).toBe(200);
  token = await scopedToken(p.server, [projectId]);
});
afterAll(async () => p?.close());

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: any;
}

/** A request as a page at `origin` makes it (no token; `origin: null` = no Origin header at all). */
async function browser(
  method: string,
  path: string,
  opts: { origin?: string | null; body?: unknown; raw?: string; text?: boolean; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const origin = opts.origin === undefined ? SITE : opts.origin;
  if (origin !== null) headers.origin = origin;
  const body = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
  if (body !== undefined) headers['content-type'] = opts.text ? 'text/plain;charset=UTF-8' : 'application/json';
  const res = await fetch(`${api}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text };
}

const subs = `/projects/0/web_subscriptions`.replace('0', '{p}');
const path = (suffix = '') => subs.replace('{p}', String(projectId)) + suffix;
const sign = (secret: string, uid: string) => createHmac('sha256', secret).update(uid).digest('hex');

/** What `PushSubscription.toJSON()` gives, for one of the local push service's subscribers. */
function browserSubscription(id: string) {
  const s = p.push.subscription(id);
  return { endpoint: s.endpoint, expirationTime: null, keys: { p256dh: s.p256dh, auth: s.auth } };
}

async function stored(endpoint: string) {
  const { rows } = await p.server.db.query(`SELECT id, uid, tags, p256dh, auth FROM subscriptions WHERE endpoint = $1`, [endpoint]);
  return rows;
}

describe('the VAPID public key', () => {
  it('is the raw 65-byte point, base64url, readable cross-origin by the allowed origin only', async () => {
    const project = await call(api, 'GET', `/projects/${projectId}`, { token: p.server.adminToken });
    const sender = await call(api, 'GET', `/senders/${project.body.sender_id}`, { token: p.server.adminToken });
    const res = await browser('GET', `/projects/${projectId}/vapid_public_key`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ vapid_public_key: vapidApplicationServerKey(sender.body.vapid_public_key) });
    expect(Buffer.from(res.body.vapid_public_key, 'base64url')).toHaveLength(65);
    expect(res.headers.get('access-control-allow-origin')).toBe(SITE);
    const foreign = await browser('GET', `/projects/${projectId}/vapid_public_key`, { origin: 'https://evil.example' });
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    expect((await browser('GET', '/projects/999999/vapid_public_key')).status).toBe(404);
  });
});

describe('CORS', () => {
  it('answers the preflight of an allowed origin, and refuses other origins without CORS headers', async () => {
    const ok = await browser('OPTIONS', path(), { headers: { 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SITE);
    expect(ok.headers.get('access-control-allow-methods')).toBe('POST, PATCH, DELETE');
    expect(ok.headers.get('access-control-allow-headers')).toBe('Content-Type');
    expect(ok.headers.get('vary')).toContain('Origin');

    const foreign = await browser('OPTIONS', path(), { origin: 'https://evil.example', headers: { 'access-control-request-method': 'POST' } });
    expect(foreign.status).toBe(403);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();

    const post = await browser('POST', path(), { origin: 'https://evil.example', body: browserSubscription('cors-1') });
    expect(post.status).toBe(403);
    expect(post.body).toMatchObject({ code: 'forbidden', field: 'Origin', rule: 'origin_not_allowed' });
    expect(post.headers.get('access-control-allow-origin')).toBeNull();
    const none = await browser('POST', path(), { origin: null, body: browserSubscription('cors-1') });
    expect(none.body).toMatchObject({ field: 'Origin', rule: 'origin_required' });
    expect(await stored(browserSubscription('cors-1').endpoint)).toHaveLength(0);
  });

  it('follows the project setting: allowed_origins replaces the website default', async () => {
    const { projectId: other } = await createProject(p.server, 'Origins');
    const bad = await call(api, 'PATCH', `/projects/${other}`, { token: p.server.adminToken, body: { allowed_origins: ['https://a.example/path'] } });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ field: 'allowed_origins.0', rule: 'origin' });
    const set = await call(api, 'PATCH', `/projects/${other}`, {
      token: p.server.adminToken,
      body: { allowed_origins: ['https://A.example/', 'http://localhost:3000'] },
    });
    expect(set.body.allowed_origins).toEqual(['https://a.example', 'http://localhost:3000']);
    const post = (origin: string) => browser('POST', `/projects/${other}/web_subscriptions`, { origin, body: browserSubscription(`origins-${origin.length}`) });
    expect((await post('https://example.com')).status).toBe(403); // the website's origin no longer counts
    const allowed = await post('http://localhost:3000');
    expect(allowed.status).toBe(201);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('http://localhost:3000');
    const reset = await call(api, 'PATCH', `/projects/${other}`, { token: p.server.adminToken, body: { allowed_origins: null } });
    expect(reset.body.allowed_origins).toBeNull();
    expect((await post('https://example.com')).status).toBe(201);
  });
});

describe('subscribing', () => {
  it('stores the subscription; the same endpoint again updates it, never a duplicate', async () => {
    const sub = browserSubscription('sub-1');
    const first = await browser('POST', path(), { body: sub });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(Number), project_id: projectId, uid: null, user_email: null, tags: [], created_at: expect.any(String) });
    const again = await browser('POST', path(), { body: { ...sub, tags: ['news'] } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id: first.body.id, tags: ['news'] });
    expect(await stored(sub.endpoint)).toEqual([expect.objectContaining({ id: first.body.id, tags: ['news'] })]);
  });

  it('checks the body as the authenticated import does', async () => {
    const sub = browserSubscription('sub-2');
    const badKey = await browser('POST', path(), { body: { ...sub, keys: { ...sub.keys, p256dh: 'AAAA' } } });
    expect(badKey.status).toBe(422);
    expect(badKey.body).toMatchObject({ field: 'keys.p256dh', rule: 'p256_point' });
    expect(badKey.headers.get('access-control-allow-origin')).toBe(SITE); // the page can read why
    const badAuth = await browser('POST', path(), { body: { ...sub, keys: { ...sub.keys, auth: 'AAAA' } } });
    expect(badAuth.body).toMatchObject({ field: 'keys.auth', rule: 'auth_secret_16_bytes' });
    const privateHost = await browser('POST', path(), { body: { ...sub, endpoint: 'https://10.0.0.1/push/x' } });
    expect(privateHost.body).toMatchObject({ field: 'endpoint', rule: 'private_host' });
    const missing = await browser('POST', path(), { body: { endpoint: sub.endpoint } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ field: 'keys', rule: 'required' });
    const unknown = await browser('POST', path(), { body: { ...sub, platform: 'apns' } });
    expect(unknown.body).toMatchObject({ field: 'platform', rule: 'unknown_field' });
  });

  it('takes a uid only with signature_for(uid) under a live token of the project, not an admin token', async () => {
    const sub = browserSubscription('uid-1');
    const unsigned = await browser('POST', path(), { body: { ...sub, uid: 'alice' } });
    expect(unsigned.status).toBe(400);
    expect(unsigned.body).toMatchObject({ field: 'uid_signature', rule: 'required' });
    const malformed = await browser('POST', path(), { body: { ...sub, uid: 'alice', uid_signature: 'xyz' } });
    expect(malformed.status).toBe(422);
    expect(malformed.body).toMatchObject({ field: 'uid_signature', rule: 'hmac_sha256_hex' });
    const forged = await browser('POST', path(), { body: { ...sub, uid: 'alice', uid_signature: sign('not-a-token', 'alice') } });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ code: 'forbidden', field: 'uid_signature', rule: 'uid_signature' });
    const otherUid = await browser('POST', path(), { body: { ...sub, uid: 'mallory', uid_signature: sign(token, 'alice') } });
    expect(otherUid.status).toBe(403);
    const foreignToken = await scopedToken(p.server, [(await createProject(p.server, 'Elsewhere')).projectId]);
    expect((await browser('POST', path(), { body: { ...sub, uid: 'alice', uid_signature: sign(foreignToken, 'alice') } })).status).toBe(403);
    expect(await stored(sub.endpoint)).toHaveLength(0);

    const signed = await browser('POST', path(), { body: { ...sub, uid: 'alice', uid_signature: sign(token, 'alice') } });
    expect(signed.status).toBe(201);
    expect(signed.body.uid).toBe('alice');
    // An admin token is valid for every project, and signature_for(uid) does not name the project:
    // its signature would let a visitor of one site claim that uid in every project. Refused.
    const byAdmin = await browser('POST', path(), { body: { ...sub, uid: 'bob', uid_signature: sign(p.server.adminToken, 'bob') } });
    expect(byAdmin.status).toBe(403);
    const byBob = await browser('POST', path(), { body: { ...sub, uid: 'bob', uid_signature: sign(token, 'bob').toUpperCase() } });
    expect(byBob.body.uid).toBe('bob');
    // Omitted: kept; null: cleared (no signature needed to drop one's own uid).
    expect((await browser('POST', path(), { body: sub })).body.uid).toBe('bob');
    expect((await browser('POST', path(), { body: { ...sub, uid: null } })).body.uid).toBeNull();
    expect((await browser('POST', path(), { body: { ...sub, uid_signature: sign(token, 'x') } })).body).toMatchObject({ rule: 'uid_required' });
  });

  it('a revoked token signs nothing', async () => {
    const minted = await call(api, 'POST', '/access_tokens', { token: p.server.adminToken, body: { name: 'old', project_ids: [projectId] } });
    const sub = browserSubscription('uid-revoked');
    await call(api, 'DELETE', `/access_tokens/${minted.body.id}`, { token: p.server.adminToken });
    const res = await browser('POST', path(), { body: { ...sub, uid: 'carol', uid_signature: sign(minted.body.token, 'carol') } });
    expect(res.status).toBe(403);
  });

  it('lets a browser set only the tags the project allows, and keeps the tags its server set', async () => {
    const sub = browserSubscription('tags-1');
    const refused = await browser('POST', path(), { body: { ...sub, tags: ['news', 'vip'] } });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ field: 'tags.1', rule: 'tag_not_allowed' });
    const created = await browser('POST', path(), { body: { ...sub, tags: ['news', 'city:paris'] } });
    expect(created.body.tags).toEqual(['news', 'city:paris']);
    // The site's server adds a tag browsers may not set; the browser's next change keeps it.
    await call(api, 'PATCH', `/projects/${projectId}/subscriptions/${created.body.id}`, {
      token,
      body: { tags: ['news', 'city:paris', 'vip'] },
    });
    const changed = await browser('PATCH', path(), { body: { endpoint: sub.endpoint, keys: { auth: sub.keys.auth }, tags: ['city:rome'] } });
    expect(changed.status).toBe(200);
    expect(changed.body.tags).toEqual(['city:rome']); // a browser is shown only its own kind of tags
    expect((await stored(sub.endpoint))[0].tags.sort()).toEqual(['city:rome', 'vip']);
    // The server's tags and the browser's together must still fit the 100-tag limit.
    const serverTags = Array.from({ length: 90 }, (_, i) => `segment-${i}`);
    await call(api, 'PATCH', `/projects/${projectId}/subscriptions/${created.body.id}`, { token, body: { tags: serverTags } });
    const tooMany = await browser('PATCH', path(), {
      body: { endpoint: sub.endpoint, keys: { auth: sub.keys.auth }, tags: Array.from({ length: 20 }, (_, i) => `city:c${i}`) },
    });
    expect(tooMany.status).toBe(422);
    expect(tooMany.body).toMatchObject({ field: 'tags', rule: 'max_items' });
    expect((await stored(sub.endpoint))[0].tags).toHaveLength(90);
    const patterns = await call(api, 'PATCH', `/projects/${projectId}`, { token, body: { browser_tags_allowed: ['a b'] } });
    expect(patterns.body).toMatchObject({ field: 'browser_tags_allowed.0', rule: 'tag_pattern' });
  });
});

describe('the browser holds its subscription: endpoint and auth secret', () => {
  it('nobody without the auth secret can take over, change or remove it', async () => {
    const sub = browserSubscription('own-1');
    const created = await browser('POST', path(), { body: { ...sub, tags: ['news'] } });
    const intruder = browserSubscription('own-intruder');
    const stranger = { endpoint: sub.endpoint, keys: { auth: intruder.keys.auth } };
    const takeover = await browser('POST', path(), { body: { ...sub, keys: intruder.keys } });
    expect(takeover.status).toBe(403);
    expect(takeover.body).toMatchObject({ field: 'keys.auth', rule: 'subscription_auth' });
    expect((await browser('PATCH', path(), { body: { ...stranger, tags: [] } })).status).toBe(403);
    expect((await browser('DELETE', path(), { body: stranger })).status).toBe(403);
    expect((await browser('POST', path('/status'), { body: stranger })).status).toBe(403);
    expect(await stored(sub.endpoint)).toEqual([expect.objectContaining({ id: created.body.id, tags: ['news'], p256dh: sub.keys.p256dh })]);
  });

  it('status, update and unsubscribe by the holder', async () => {
    const sub = browserSubscription('own-2');
    const proof = { endpoint: sub.endpoint, keys: { auth: sub.keys.auth } };
    expect((await browser('POST', path('/status'), { body: proof })).body).toEqual({ subscribed: false });
    expect((await browser('PATCH', path(), { body: { ...proof, tags: ['news'] } })).status).toBe(404);
    const created = await browser('POST', path(), { body: sub });
    // base64 with padding is the same secret as base64url.
    const padded = { ...proof, keys: { auth: Buffer.from(sub.keys.auth, 'base64url').toString('base64') } };
    expect((await browser('POST', path('/status'), { body: padded })).body).toEqual({
      subscribed: true,
      id: created.body.id,
      project_id: projectId,
      uid: null,
      user_email: null,
      tags: [],
      created_at: expect.any(String),
    });
    const withUid = await browser('PATCH', path(), { body: { ...proof, uid: 'dave', uid_signature: sign(token, 'dave') } });
    expect(withUid.body).toMatchObject({ uid: 'dave', tags: [] });
    const preflight = await browser('OPTIONS', path('/status'), { headers: { 'access-control-request-method': 'POST' } });
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect((await browser('DELETE', path(), { body: { ...proof, expirationTime: null } })).status).toBe(204);
    expect(await stored(sub.endpoint)).toHaveLength(0);
    expect((await browser('DELETE', path(), { body: proof })).status).toBe(204); // already gone: still done
  });
});

describe('open tracking', () => {
  it('counts each recipient once, per action, sets last_click_at, and refuses anything but its token', async () => {
    const { projectId: project } = await createProject(p.server, 'Opens');
    const ids = ['open-a', 'open-b', 'open-c'];
    const made = [];
    for (const id of ids) {
      made.push((await call(api, 'POST', `/projects/${project}/subscriptions`, { token: p.server.adminToken, body: p.push.subscription(id) })).body);
    }
    const created = await call(api, 'POST', `/projects/${project}/notifications`, {
      token: p.server.adminToken,
      body: {
        body: 'Sale',
        custom_metrics: ['sale'],
        actions: [
          { title: 'Shop now', action: 'shop', target_url: 'https://example.com/shop' },
          { title: 'Later' },
        ],
      },
    });
    const n = created.body.id as number;
    await waitForNotification(p.server, n);
    const tokens = ids.map((id) => {
      const message = p.push.receivedFor(id).find((m) => m.status === 201)!;
      return JSON.parse(message.plaintext!).open_token as string;
    });
    // The worker's token is the one the domain computes for (notification, subscription).
    const key = openTrackingKey(Buffer.from(p.secretKey, 'base64'));
    expect(tokens).toEqual(made.map((s) => openToken(key, n, s.id)));
    expect(tokens.every((t) => /^[A-Za-z0-9_-]{32}$/.test(t))).toBe(true);

    const open = (body: unknown, text = false, notification = n) =>
      browser('POST', `/notifications/${notification}/open`, { origin: 'https://anywhere.example', body, text });
    const first = await open({ token: tokens[0] }, true);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ counted: true });
    expect(first.headers.get('access-control-allow-origin')).toBe('*');
    expect((await open({ token: tokens[0], action: 'shop' })).body).toEqual({ counted: false });
    expect((await open({ token: tokens[1], action: 'shop' })).body).toEqual({ counted: true });
    expect((await open({ token: tokens[2], action: 'Later' })).body).toEqual({ counted: true }); // no `action`: its title

    expect((await open({ token: tokens[2], action: 'buy' })).body).toMatchObject({ field: 'action', rule: 'unknown_action' });
    const forged = await open({ token: openToken(Buffer.alloc(32), n, made[0].id) });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ field: 'token', rule: 'open_token' });
    expect((await open({ token: tokens[0] }, false, n + 1)).status).toBe(403); // bound to its notification
    expect((await open({ token: 'short' })).status).toBe(403);
    expect((await browser('POST', `/notifications/${n}/open`, { raw: '{not json', text: true })).status).toBe(400);

    const got = await call(api, 'GET', `/notifications/${n}`, { token: p.server.adminToken });
    expect(got.body).toMatchObject({ opened_count: 3, opened_actions: { shop: 1, Later: 1 } });
    const listed = await call(api, 'GET', `/projects/${project}/notifications`, { token: p.server.adminToken });
    expect(listed.body[0]).toMatchObject({ id: n, opened_count: 3 });
    const metrics = await call(api, 'GET', `/projects/${project}/custom_metrics`, { token: p.server.adminToken });
    expect(metrics.body).toEqual([expect.objectContaining({ name: 'sale', opened_count: 3, successfully_sent_count: 3 })]);
    const clicked = await call(api, 'GET', `/projects/${project}/subscriptions/${made[0].id}`, { token: p.server.adminToken });
    expect(Date.parse(clicked.body.last_click_at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('the size check counts the token: a body that fits only without it is refused', async () => {
    const { projectId: project } = await createProject(p.server, 'Size');
    const probe = await call(api, 'POST', `/projects/${project}/notifications`, { token: p.server.adminToken, body: { body: 'x'.repeat(4000) } });
    expect(probe.status).toBe(422);
    const over = probe.body.size - probe.body.limit;
    const fits = await call(api, 'POST', `/projects/${project}/notifications`, { token: p.server.adminToken, body: { body: 'x'.repeat(4000 - over) } });
    expect(fits.status).toBe(201);
    const oneMore = await call(api, 'POST', `/projects/${project}/notifications`, { token: p.server.adminToken, body: { body: 'x'.repeat(4000 - over + 1) } });
    expect(oneMore.status).toBe(422);
  });
});

describe('the SDK files', () => {
  it('serves the script, the module and the service worker, to any origin, with an ETag', async () => {
    const script = await fetch(`${p.server.url}/sdk/pushcast.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('access-control-allow-origin')).toBe('*');
    const text = await script.text();
    expect(text).toContain('window.Pushcast = createPushcast(');
    expect(text).not.toMatch(/^export /m);
    const module = await (await fetch(`${p.server.url}/sdk/pushcast.mjs`)).text();
    expect(module).toContain('export default Pushcast;');
    const sw = await fetch(`${p.server.url}/sdk/pushcast-sw.js`);
    expect(await sw.text()).toContain("addEventListener('notificationclick'");
    const again = await fetch(`${p.server.url}/sdk/pushcast.js`, { headers: { 'if-none-match': script.headers.get('etag')! } });
    expect(again.status).toBe(304);
  });
});

describe('the limit per client address', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('browser_limit', { BROWSER_RATE_LIMIT_PER_MINUTE: '3', PUSHCAST_TRUST_PROXY: 'true' });
  });
  afterAll(async () => server?.close());

  it('counts each address on its own, in Redis; preflights are free', async () => {
    const { projectId: project } = await createProject(server, 'Limited');
    const get = (ip: string) =>
      fetch(`${server.apiUrl}/projects/${project}/vapid_public_key`, { headers: { 'x-forwarded-for': ip, origin: 'https://example.com' } });
    for (let i = 0; i < 3; i += 1) {
      const preflight = await fetch(`${server.apiUrl}/projects/${project}/web_subscriptions`, {
        method: 'OPTIONS',
        headers: { 'x-forwarded-for': '203.0.113.7', origin: 'https://example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
    }
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push(await get('203.0.113.7'));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(await answers[3]!.json()).toMatchObject({ code: 'rate_limited', rule: 'rate_limit', limit: 3 });
    expect(answers[3]!.headers.get('retry-after')).toMatch(/^\d+$/);
    // The page can read the 429 (and its Retry-After) rather than seeing a network error.
    expect(answers[3]!.headers.get('access-control-allow-origin')).toBe('https://example.com');
    expect((await get('203.0.113.8')).status).toBe(200);
    // The authenticated API is not counted against the address.
    const authed = await call(server.apiUrl, 'GET', `/projects/${project}`, { token: server.adminToken });
    expect(authed.status).toBe(200);
  });
});
