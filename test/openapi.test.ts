import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import PushNotifications from '@pusher/push-notifications-server';
import { isUndocumented, openApiPath, UNDOCUMENTED } from '@pushcast/api';
import { openToken, openTrackingKey } from '@pushcast/domain';
import { generateApnsKey } from '@pushcast/local-apns-service';
import { generateServiceAccount } from '@pushcast/local-fcm-service';
import { Validator } from '@seriousme/openapi-schema-validator';
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumSkipReason, launchChromium } from './support/browser.ts';
import { apnsToken, fcmToken } from './support/devices.ts';
import { browserKeys, call, localEndpoint, type ApiResponse } from './support/http.ts';
import { testRsaKeyPair } from './support/rsa-keys.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// The OpenAPI 3.1 document at /api/v1/openapi.json is generated from the zod schemas the routes
// validate with; here it is validated, held to every route the app registers, and every route is
// exercised with the contract check on (the test harness fails a file whose answers the document
// does not describe); /docs is checked to load nothing from anywhere but this server.

const SECRET_KEY = randomBytes(32).toString('base64');
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
type Operation = { operationId?: string; summary?: string; tags?: string[]; parameters?: any[]; responses: Record<string, any> };

let server: TestServer;
let document: any;
const routes: RouteOptions[] = [];

beforeAll(async () => {
  server = await startTestServer('openapi', { PUSHCAST_SECRET_KEY: SECRET_KEY }, { onRoute: (route) => void routes.push(route) });
  const res = await fetch(`${server.url}/api/v1/openapi.json`);
  expect(res.status).toBe(200);
  document = await res.json();
});
afterAll(async () => server?.close());

function operations(): { path: string; method: string; operation: Operation }[] {
  return Object.entries(document.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ path, method, operation: item[method]! })),
  );
}

describe('GET /api/v1/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document, served without a token', async () => {
    const validator = new Validator();
    const result = await validator.validate(document);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    expect(document.openapi).toBe('3.1.0');
  });

  it('holds every route the app registers; the routes left out are few, each with its reason', () => {
    const missing: string[] = [];
    const excluded = new Set<string>();
    for (const route of routes) {
      for (const method of [route.method].flat().map((m) => m.toLowerCase())) {
        if (isUndocumented(route.url)) {
          excluded.add(UNDOCUMENTED.find((u) => u.route.test(route.url))!.reason);
          continue;
        }
        const item = document.paths[openApiPath(route.url)];
        // Fastify answers HEAD of every GET route by itself: its GET documents it.
        const documented = item?.[method] ?? (method === 'head' ? item?.get : undefined);
        if (!documented) missing.push(`${method.toUpperCase()} ${route.url}`);
      }
    }
    expect(missing).toEqual([]);
    // Each exclusion still names routes (none is left behind once its routes are gone).
    expect([...excluded].sort()).toEqual(UNDOCUMENTED.map((u) => u.reason).sort());
    // And the document has nothing that is not a route.
    const registered = new Set(routes.flatMap((r) => [r.method].flat().map((m) => `${m.toLowerCase()} ${openApiPath(r.url)}`)));
    expect(operations().filter(({ path, method }) => !registered.has(`${method} ${path}`))).toEqual([]);
  });

  it('describes every operation: a unique id, a summary, known tags, its path parameters, a success and the error shape', () => {
    const tags = new Set((document.tags as { name: string }[]).map((t) => t.name));
    const ids = new Set<string>();
    for (const { path, method, operation } of operations()) {
      const where = `${method.toUpperCase()} ${path}`;
      expect(operation.operationId, where).toBeTruthy();
      expect(ids.has(operation.operationId!), `${where}: operationId ${operation.operationId} twice`).toBe(false);
      ids.add(operation.operationId!);
      expect(operation.summary, where).toBeTruthy();
      expect(operation.tags?.length, where).toBeGreaterThan(0);
      for (const tag of operation.tags!) expect(tags.has(tag), `${where}: tag ${tag}`).toBe(true);
      const pathParams = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path').map((p) => p.name);
      expect(declared.sort(), where).toEqual(pathParams.sort());
      const statuses = Object.keys(operation.responses);
      expect(statuses.some((s) => /^2\d\d$/.test(s)), `${where}: a success`).toBe(true);
      // Refusals in the dialect's error shape: Pushcast's own under /api/v1 and /sdk.
      for (const status of statuses.filter((s) => /^[45]/.test(s) || s === 'default')) {
        const schema = operation.responses[status].content?.['application/json']?.schema;
        if (/^\/(api\/v1|sdk|beams)\//.test(path)) expect(schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/Error' });
        else if (/^\/(publish_api|device_api|customer_api|user_api|reporting_api)\//.test(path)) {
          expect(schema, `${where} ${status}`).toEqual({ $ref: '#/components/schemas/BeamsError' });
        }
        else expect(schema, `${where} ${status}: an error schema`).toBeTruthy();
      }
    }
    expect(ids.size).toBeGreaterThan(40);
  });

  it("names every rule and error kind in the error shape", () => {
    const error = document.components.schemas.Error;
    expect(error.required).toEqual(['error', 'code']);
    expect(error.properties.rule.enum).toContain('p256_point');
    expect(error.properties.code.enum).toContain('validation');
  });
});

describe('the contract: every route answers as its document says', () => {
  it('exercises every documented operation; every answer matched its declared schema', async () => {
    const api = server.apiUrl;
    const admin = server.adminToken;
    const as = (token: string) => (method: string, path: string, body?: unknown, extra: { contentType?: string; rawBody?: string } = {}) =>
      call(api, method, path, { token, body, ...extra });
    const ask = as(admin);
    const expectStatus = (res: ApiResponse, status: number) => expect(res.status, JSON.stringify(res.body)).toBe(status);

    // Senders
    const sender = (await ask('POST', '/senders', { name: 'Sender' })).body;
    expectStatus(await ask('GET', '/senders'), 200);
    expectStatus(await ask('GET', `/senders/${sender.id}`), 200);
    expectStatus(await ask('PATCH', `/senders/${sender.id}`, { name: 'Renamed' }), 200);
    const spare = (await ask('POST', '/senders', { name: 'Spare' })).body;
    expectStatus(await ask('DELETE', `/senders/${spare.id}`), 204);

    // Projects, with credentials
    const apnsKey = generateApnsKey();
    const created = await ask('POST', '/projects', {
      sender_id: sender.id,
      name: 'Shop',
      website: 'https://shop.example',
      apns_credentials: { key: apnsKey.keyPem, key_id: apnsKey.keyId, team_id: apnsKey.teamId, topic: 'com.example.shop', production: false },
      fcm_credentials: { service_account: generateServiceAccount('pushcast-openapi', { keyPair: testRsaKeyPair() }).json },
      browser_tags_allowed: ['news'],
    });
    expectStatus(created, 201);
    const project = created.body.id as number;
    expectStatus(await ask('GET', '/projects'), 200);
    expectStatus(await ask('GET', `/projects/${project}`), 200);
    expectStatus(await ask('PATCH', `/projects/${project}`, { notifications_ttl: 3600, quota_policy: 'reject' }), 200);
    expectStatus(await ask('PATCH', `/projects/${project}`), 200); // no body: nothing changes
    expectStatus(await ask('GET', `/projects/${project}/quota`), 200);
    expectStatus(await ask('GET', `/projects/${project}/stats?days=7`), 200);
    expectStatus(await ask('GET', `/projects/${project}/audience?tags[]=news`), 200);
    expectStatus(await ask('GET', '/stats/projects'), 200);
    const doomed = (await ask('POST', '/projects', { sender_id: sender.id, name: 'Doomed', website: 'https://doomed.example' })).body;
    expectStatus(await ask('DELETE', `/projects/${doomed.id}`), 202);
    const secretKey = await ask('POST', `/projects/${project}/secret_keys`);
    expectStatus(secretKey, 201);
    expectStatus(await ask('GET', `/projects/${project}/secret_keys`), 200);
    expectStatus(await ask('DELETE', `/projects/${project}/secret_keys/${secretKey.body.id}`), 204);

    // Subscriptions
    const keys = browserKeys();
    const web = (await ask('POST', `/projects/${project}/subscriptions`, { endpoint: localEndpoint(), ...keys, uid: 'ann', tags: ['news'] })).body;
    expectStatus(await ask('POST', `/projects/${project}/subscriptions`, { platform: 'apns', token: apnsToken('openapi') }), 201);
    expectStatus(await ask('POST', `/projects/${project}/subscriptions`, { platform: 'fcm', token: fcmToken('openapi'), uid: null }), 201);
    expectStatus(await ask('HEAD', `/projects/${project}/subscriptions?platform=web`), 200);
    expectStatus(await ask('GET', `/projects/${project}/subscriptions?uids[]=ann&tags[]=news&per_page=5`), 200);
    expectStatus(await ask('GET', `/projects/${project}/subscriptions/${web.id}`), 200);
    expectStatus(await ask('PATCH', `/projects/${project}/subscriptions/${web.id}`, { tags: ['news', 'sale'] }), 200);

    // Bulk import and export
    const rows = [0, 1].map(() => JSON.stringify({ endpoint: localEndpoint(), ...browserKeys(), uid: 'bulk' })).join('\n');
    const imported = await call(api, 'POST', `/projects/${project}/subscriptions/import`, {
      token: admin,
      rawBody: `${rows}\nnot json\n`,
      contentType: 'application/x-ndjson',
    });
    expectStatus(imported, 202);
    expectStatus(await ask('GET', `/imports/${imported.body.id}`), 200);
    expectStatus(await ask('GET', `/projects/${project}/imports`), 200);
    const gzipped = await fetch(`${api}/projects/${project}/subscriptions/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv', 'content-encoding': 'gzip' },
      body: gzipSync(`endpoint,p256dh,auth\n${localEndpoint()},${keys.p256dh},${keys.auth}\n`),
    });
    expect(gzipped.status).toBe(202);
    expectStatus(await ask('GET', `/projects/${project}/subscriptions/export`), 200);
    expectStatus(await ask('GET', `/projects/${project}/subscriptions/export?format=csv&uids[]=ann`), 200);

    // Notifications: flat with the key in a header, wrapped with it in the body, scheduled
    const flat = await call(api, 'POST', `/projects/${project}/notifications`, {
      token: admin,
      body: { body: 'Hello', title: 'Hi', uids: ['ann'], custom_metrics: ['promo'], actions: [{ title: 'Open', action: 'open' }] },
    });
    expectStatus(flat, 201);
    const keyed = { notification: { body: 'Wrapped', apns: { aps: { badge: 1 } }, fcm: { data: { k: 'v' } }, web: { silent: true } }, tags: ['news'] };
    expectStatus(await ask('POST', `/projects/${project}/notifications`, { ...keyed, idempotency_key: 'key-1' }), 201);
    expectStatus(await ask('POST', `/projects/${project}/notifications`, { ...keyed, idempotency_key: 'key-1' }), 201); // replayed
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const scheduled = await ask('POST', `/projects/${project}/notifications`, { body: 'Later', send_at: later });
    expectStatus(scheduled, 201);
    expectStatus(await ask('GET', `/projects/${project}/notifications?page=1&per_page=10`), 200);
    expectStatus(await ask('GET', `/notifications/${flat.body.id}`), 200);
    expectStatus(await ask('GET', `/projects/${project}/custom_metrics`), 200);
    expectStatus(await ask('DELETE', `/notifications/${scheduled.body.id}/cancel`), 204);
    expectStatus(await ask('GET', `/notifications/${flat.body.id}/failures?per_page=10&outcome=pruned`), 200);
    expectStatus(await ask('GET', `/notifications/${flat.body.id}/deliveries?uid=nobody`), 200);

    // Webhooks
    const hook = await ask('POST', `/projects/${project}/webhooks`, { url: 'https://127.0.0.1:9/hook', events: ['notification.*'] });
    expectStatus(hook, 201);
    const hookPath = `/projects/${project}/webhooks/${hook.body.id}`;
    expectStatus(await ask('GET', `/projects/${project}/webhooks`), 200);
    expectStatus(await ask('GET', hookPath), 200);
    expectStatus(await ask('PATCH', hookPath, { description: 'Orders', enabled: false }), 200);
    expectStatus(await ask('POST', `${hookPath}/rotate_secret`), 200);
    expectStatus(await ask('POST', `${hookPath}/test`), 202);
    expectStatus(await ask('GET', `${hookPath}/attempts`), 200);
    expectStatus(await ask('DELETE', hookPath), 204);

    // Access tokens
    const minted = await ask('POST', '/access_tokens', { name: 'ci', project_ids: [project] });
    expectStatus(minted, 201);
    expectStatus(await ask('GET', '/access_tokens'), 200);

    // Refusals, in the error shape
    const scoped = as(minted.body.token);
    expectStatus(await call(api, 'GET', '/projects'), 401);
    expectStatus(await scoped('GET', '/senders'), 403);
    expectStatus(await ask('GET', '/senders/999999'), 404);
    expectStatus(await ask('GET', '/senders/nope'), 422);
    expectStatus(await ask('POST', '/senders', undefined, { rawBody: '{"name":', contentType: 'application/json' }), 400);
    expectStatus(await ask('POST', '/senders', { name: 'x', nme: 'typo' }), 422);
    expectStatus(await ask('DELETE', `/senders/${sender.id}`), 409);
    expectStatus(await ask('POST', `/projects/${project}/subscriptions/import`, undefined, { rawBody: 'x', contentType: 'text/plain' }), 415);
    expectStatus(await ask('GET', '/no/such/route'), 404);
    expectStatus(await ask('DELETE', `/access_tokens/${minted.body.id}`), 204);

    // The browser side: CORS preflights, the browser's own subscription, open reports
    const site = { origin: 'https://shop.example' };
    const browser = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
      fetch(`${api}${path}`, {
        method,
        headers: { ...site, ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    expect((await browser('GET', `/projects/${project}/vapid_public_key`)).status).toBe(200);
    const webSubs = `/projects/${project}/web_subscriptions`;
    expect((await browser('OPTIONS', webSubs, undefined, { 'access-control-request-method': 'PATCH' })).status).toBe(204);
    expect((await browser('OPTIONS', `${webSubs}/status`, undefined, { 'access-control-request-method': 'POST' })).status).toBe(204);
    const mine = { endpoint: localEndpoint(), expirationTime: null, keys: browserKeys() };
    expect((await browser('POST', webSubs, { ...mine, tags: ['news'] })).status).toBe(201);
    expect((await browser('POST', webSubs, mine)).status).toBe(200);
    expect((await browser('PATCH', webSubs, { ...mine, tags: [] })).status).toBe(200);
    expect((await browser('POST', `${webSubs}/status`, mine)).status).toBe(200);
    expect((await browser('DELETE', webSubs, mine)).status).toBe(204);
    expect((await browser('POST', `${webSubs}/status`, mine)).status).toBe(200); // subscribed: false
    expect((await browser('POST', webSubs, mine, { origin: 'https://elsewhere.example' })).status).toBe(403);
    const opens = `/notifications/${flat.body.id}/open`;
    expect((await browser('OPTIONS', opens, undefined, { 'access-control-request-method': 'POST' })).status).toBe(204);
    const token = openToken(openTrackingKey(Buffer.from(SECRET_KEY, 'base64')), flat.body.id, web.id);
    expect((await browser('POST', opens, { token, action: 'open' })).status).toBe(200);
    const asText = await fetch(`${api}${opens}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ token }) });
    expect(asText.status).toBe(200);
    expectStatus(await ask('DELETE', `/projects/${project}/subscriptions/${web.id}`), 204);

    // The SDK files
    for (const file of ['pushcast.js', 'pushcast.mjs', 'pushcast-sw.js']) {
      const res = await fetch(`${server.url}/sdk/${file}`);
      expect(res.status).toBe(200);
      await res.text();
      expect((await fetch(`${server.url}/sdk/${file}`, { headers: { 'if-none-match': res.headers.get('etag')! } })).status).toBe(304);
    }

    // Pusher Beams' APIs, as its SDKs call them
    const instanceId: string = (await ask('GET', `/projects/${project}`)).body.beams_instance_id;
    const beamsKey: string = (await ask('POST', `/projects/${project}/secret_keys`)).body.secret_key;
    const inst = `/v1/instances/${instanceId}`;
    const beams = (method: string, path: string, opts: Parameters<typeof call>[3] = {}) => call(server.url, method, path, opts);
    const withKey = (body?: unknown) => ({ authorization: `Bearer ${beamsKey}`, body });
    const published = await beams('POST', `/publish_api${inst}/publishes/interests`, withKey({ interests: ['news'], web: { notification: { title: 'Hi' } } }));
    expectStatus(published, 200);
    const toUsers = { users: ['ann'], apns: { aps: { alert: { title: 'Hi' } } }, fcm: { notification: { title: 'Hi' }, data: { k: 'v' } } };
    expectStatus(await beams('POST', `/publish_api${inst}/publishes/users`, withKey(toUsers)), 200);
    const deviceApi = `/device_api${inst}`;
    expectStatus(await beams('GET', `${deviceApi}/web-vapid-public-key`), 200);
    const webToken = btoa(JSON.stringify({ endpoint: localEndpoint(), expirationTime: null, keys: browserKeys() }));
    const webDevice = await beams('POST', `${deviceApi}/devices/web`, { body: { token: webToken, metadata: { sdkVersion: '2.1.0' } } });
    expectStatus(webDevice, 200);
    const apnsBody = { token: apnsToken('beams-openapi'), bundleIdentifier: 'com.example.shop', metadata: { sdkVersion: '4.0.0', iosVersion: '17.0' } };
    expectStatus(await beams('POST', `${deviceApi}/devices/apns`, { body: apnsBody }), 200);
    const fcmBody = { token: fcmToken('beams-openapi'), knownPreviousClientIds: [], metadata: { sdkVersion: '1.9.2', androidVersion: '14' } };
    const fcmDevice = (await beams('POST', `${deviceApi}/devices/fcm`, { body: fcmBody })).body.id as string;
    const fcmPath = `${deviceApi}/devices/fcm/${fcmDevice}`;
    expectStatus(await beams('PUT', `${fcmPath}/token`, { body: { token: fcmToken('beams-openapi-refreshed') } }), 200);
    expectStatus(await beams('GET', fcmPath), 200);
    expectStatus(await beams('PUT', `${fcmPath}/metadata`, { body: { sdkVersion: '1.9.3', androidVersion: '15' } }), 200);
    expectStatus(await beams('PUT', `${fcmPath}/interests`, { body: { interests: ['a', 'b'] } }), 200);
    expectStatus(await beams('GET', `${fcmPath}/interests?limit=1`), 200);
    expectStatus(await beams('POST', `${fcmPath}/interests/c`), 200);
    expectStatus(await beams('DELETE', `${fcmPath}/interests/a`), 200);
    const userToken = new PushNotifications({ instanceId, secretKey: beamsKey }).generateToken('ann').token;
    expectStatus(await beams('PUT', `${fcmPath}/user`, { authorization: `Bearer ${userToken}` }), 200);
    const report = { event: 'open', publishId: published.body.publishId, deviceId: fcmDevice, userId: 'ann', timestampSecs: Math.floor(Date.now() / 1000) };
    expectStatus(await beams('POST', `/reporting_api/v2/instances/${instanceId}/events`, { body: report }), 200);
    expectStatus(await beams('DELETE', `${deviceApi}/devices/web/${webDevice.body.id}`), 200);
    for (const api of ['device_api', 'reporting_api']) {
      const preflight = await fetch(`${server.url}/${api}${inst}/anything`, {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
      });
      expect(preflight.status).toBe(204);
    }
    expectStatus(await beams('DELETE', `/customer_api${inst}/users/ann`, withKey()), 200);
    expectStatus(await beams('DELETE', `/user_api${inst}/users/${encodeURIComponent('bob@example.com')}`, withKey()), 200);
    for (const file of ['service-worker.js', 'push-notifications-cdn.js']) {
      const res = await fetch(`${server.url}/beams/${file}`);
      expect(res.status).toBe(200);
      await res.text();
      expect((await fetch(`${server.url}/beams/${file}`, { headers: { 'if-none-match': res.headers.get('etag')! } })).status).toBe(304);
    }
    // CloudSignal's push API, as its users call it
    const csKey: string = (await ask('POST', `/projects/${project}/secret_keys`)).body.secret_key;
    const cs = (method: string, path: string, body?: unknown) =>
      fetch(`${server.url}/v2/push${path}`, {
        method,
        headers: { 'x-secret-key': csKey, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
    const csStatus = (res: { status: number; body: unknown }, status: number) => expect(res.status, JSON.stringify(res.body)).toBe(status);
    const csSent = await cs('POST', '/send', { title: 'Hi', body: 'There', target_user_ids: ['ann'], async_mode: true });
    csStatus(csSent, 200);
    csStatus(await cs('POST', '/broadcast', { title: 'Hi', body: 'All', urgency: 'high', async_mode: true }), 200);
    csStatus(await cs('GET', `/requests/${csSent.body.request_id}`), 200);
    csStatus(await cs('GET', '/quota'), 200);
    csStatus(await cs('GET', '/service'), 200);
    csStatus(await cs('GET', '/clients?status=active&limit=5'), 200);
    const client = (await ask('POST', `/projects/${project}/subscriptions`, { endpoint: localEndpoint(), ...browserKeys(), user_email: 'ann@example.com' })).body;
    csStatus(await cs('GET', `/clients/${client.id}`), 200);
    csStatus(await cs('DELETE', `/clients/${client.id}?reason=user_requested`), 200);
    csStatus(await cs('POST', '/send', { title: 'Hi' }), 400);
    csStatus(await fetch(`${server.url}/v2/push/quota`).then(async (r) => ({ status: r.status, body: await r.json() })), 401);
    csStatus(await cs('GET', '/clients/999999999'), 404);

    // Beams' refusals, in Beams' shape
    expectStatus(await beams('POST', `/publish_api${inst}/publishes/interests`, { body: { interests: ['news'] } }), 400);
    expectStatus(await beams('POST', `/publish_api${inst}/publishes/interests`, withKey({ interests: ['news'] })), 422);
    expectStatus(await beams('POST', `/publish_api${inst}/publishes/users`, { authorization: 'Bearer sk_wrong', body: toUsers }), 401);
    expectStatus(await beams('GET', `${deviceApi}/devices/fcm/nobody`), 404);
    expectStatus(await beams('GET', `${deviceApi}/no/such/route`), 404);
    expectStatus(await beams('PUT', `${deviceApi}/devices/apns/${fcmDevice}/user`, { authorization: 'Bearer x' }), 401);

    // Every documented operation was answered with one of its successes, and no answer broke the document.
    const succeeded = new Set(server.answers.filter((a) => a.status < 400).map((a) => `${a.method.toLowerCase()} ${openApiPath(a.route)}`));
    const unexercised = operations()
      .map(({ path, method }) => `${method} ${path}`)
      .filter((op) => !succeeded.has(op));
    expect(unexercised).toEqual([]);
    expect(server.answers.flatMap((a) => a.problems)).toEqual([]);
  });
});

describe('GET /docs', () => {
  /** Every http(s) origin a text names, and every src/href/url() it would load. */
  function references(text: string): string[] {
    const absolute = [...text.matchAll(/https?:\/\/[^\s"'`)<>\\]+/g)].map((m) => m[0]);
    const attributes = [...text.matchAll(/\b(?:src|href)\s*=\s*["']([^"']+)["']/g)].map((m) => m[1]!);
    return [...absolute, ...attributes];
  }

  it('serves the reference page and its script from this server, naming no other origin', async () => {
    const page = await fetch(`${server.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.url).toBe(`${server.url}/docs/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    const foreign = references(html).filter((ref) => new URL(ref, page.url).origin !== server.url);
    expect(foreign).toEqual([]);
    const scripts = [...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g)].map((m) => new URL(m[1]!, page.url).href);
    expect(scripts).toEqual([`${server.url}/docs/js/scalar.js`]);
    expect(html).toContain('"url": "/api/v1/openapi.json"');

    const script = await fetch(scripts[0]!);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    const js = await script.text();
    expect(js.length).toBeGreaterThan(100_000);
    // What a browser loads by itself from a script's styles: fonts and stylesheets (url(), @import).
    const loaded = [...js.matchAll(/(?:url\(\s*["']?|@import\s+["'])(https?:\/\/[^"')\s]+)/g)].map((m) => m[1]!);
    expect(loaded.filter((ref) => new URL(ref).origin !== server.url)).toEqual([]);
    expect(js).not.toContain('fonts.scalar.com');
  });

  it.skipIf(chromiumSkipReason() !== null)('renders the operations in a browser with every other origin unreachable', async () => {
    const browser = await launchChromium();
    try {
      const elsewhere: string[] = [];
      await browser.context.route('**/*', (route) => {
        const url = route.request().url();
        if (url.startsWith('data:') || url.startsWith('blob:') || new URL(url).origin === server.url) return route.continue();
        elsewhere.push(url);
        return route.abort();
      });
      const page = await browser.context.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (request) => failed.push(request.url()));
      await page.goto(`${server.url}/docs`);
      // The document's title, its first operations, and every tag in the sidebar.
      await page.getByText('Create a sender').first().waitFor({ timeout: 30_000 });
      await page.getByRole('heading', { name: 'Pushcast API' }).first().waitFor({ timeout: 5_000 });
      for (const tag of document.tags as { name: string }[]) await page.getByText(tag.name, { exact: true }).first().waitFor({ timeout: 5_000 });
      expect(elsewhere).toEqual([]);
      expect(failed).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
