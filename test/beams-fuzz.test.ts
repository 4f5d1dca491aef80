import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsToken, fcmToken } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Random hostile bodies, headers and paths against Pusher Beams' APIs over HTTP: whatever comes in,
// never a 5xx, and every refusal in Beams' shape, {error, description} and nothing else (Beams'
// SDKs read both; the Node SDK fails on an error without them).

let server: TestServer;
let instanceId: string;
let secretKey: string;
let deviceId: string;

beforeAll(async () => {
  server = await startTestServer('beamsfuzz', { PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64') });
  const { projectId } = await createProject(server, 'Beams fuzz');
  instanceId = (await call(server.apiUrl, 'GET', `/projects/${projectId}`, { token: server.adminToken })).body.beams_instance_id;
  secretKey = (await call(server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: server.adminToken })).body.secret_key;
  const device = await call(server.url, 'POST', `/device_api/v1/instances/${instanceId}/devices/fcm`, { body: { token: fcmToken('fuzz'), knownPreviousClientIds: [] } });
  deviceId = device.body.id;
});
afterAll(async () => server?.close());

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
  readonly authorization?: string;
}

async function send({ method, path, body, contentType, authorization }: Sent): Promise<void> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await res.text();
  const what = `${method} ${path.slice(0, 200)} ${body?.slice(0, 200) ?? ''} -> ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
  const answer = JSON.parse(text) as Record<string, unknown>;
  expect(Object.keys(answer).sort(), what).toEqual(['description', 'error']);
  expect(answer, what).toEqual({ error: expect.any(String), description: expect.any(String) });
}

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const hostileString = fc.oneof(
  fc.string({ unit: fc.oneof(fc.constantFrom('\u0000', 'a', '😀', '%', '\\', '"', '.', ',', '=', ';', ' ', 'é', '0', '-', '/'), loneSurrogate), maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', 'x'.repeat(5000), 'pusher', 'sk_', 'Bearer', '9'.repeat(30)),
);
const scalar = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const { value: hostileValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
}));
const deeplyNested = fc.tuple(fc.integer({ min: 20, max: 500 }), scalar).map(([levels, leaf]) => {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = { k: v };
  return v;
});
const anyValue = fc.oneof(hostileValue, deeplyNested);

const webToken = () => {
  const keys = browserKeys();
  return btoa(JSON.stringify({ endpoint: localEndpoint(), expirationTime: null, keys }));
};

// A valid request per route, to replace one field of.
const routes = (): { method: string; path: string; body: Record<string, unknown>; key?: boolean }[] => {
  const d = `/device_api/v1/instances/${instanceId}/devices`;
  const sections = {
    web: { time_to_live: 60, notification: { title: 't', body: 'b', deep_link: 'https://example.com' }, data: { k: 1 } },
    apns: { aps: { alert: { title: 't', body: 'b' } }, data: { k: 1 }, collapse_id: 'c' },
    fcm: { notification: { title: 't', color: '#112233' }, data: { k: 'v' }, priority: 'high', time_to_live: 60 },
  };
  return [
    { method: 'POST', path: `/publish_api/v1/instances/${instanceId}/publishes/interests`, body: { interests: ['a', 'b'], ...sections }, key: true },
    { method: 'POST', path: `/publish_api/v1/instances/${instanceId}/publishes/users`, body: { users: ['u'], ...sections }, key: true },
    { method: 'POST', path: `${d}/web`, body: { token: webToken(), metadata: { sdkVersion: '2.1.0' } } },
    { method: 'POST', path: `${d}/apns`, body: { token: apnsToken(String(Math.random())), bundleIdentifier: 'com.example', metadata: { iosVersion: '17' } } },
    { method: 'POST', path: `${d}/fcm`, body: { token: fcmToken(String(Math.random())), knownPreviousClientIds: [], metadata: { sdkVersion: '1' } } },
    { method: 'PUT', path: `${d}/fcm/${deviceId}/token`, body: { token: fcmToken(String(Math.random())) } },
    { method: 'PUT', path: `${d}/fcm/${deviceId}/metadata`, body: { sdkVersion: '1', androidVersion: '14' } },
    { method: 'PUT', path: `${d}/fcm/${deviceId}/interests`, body: { interests: ['a', 'b'] } },
    { method: 'POST', path: `/reporting_api/v2/instances/${instanceId}/events`, body: { event: 'open', publishId: 'pubid-x', deviceId, timestampSecs: 1 } },
  ];
};

const mutated = fc.tuple(fc.nat(), fc.nat(), fc.nat(), anyValue, fc.boolean()).map(([r, k, k2, value, inside]) => {
  const route = routes()[r % routes().length]!;
  const body = structuredClone(route.body);
  const keys = Object.keys(body);
  const key = keys[k % keys.length]!;
  const current = body[key];
  if (inside && current !== null && typeof current === 'object') {
    const innerKeys = Object.keys(current);
    if (innerKeys.length > 0) (current as Record<string, unknown>)[innerKeys[k2 % innerKeys.length]!] = value;
  } else {
    body[key] = value;
  }
  return { method: route.method, path: route.path, body: JSON.stringify(body), authorization: route.key ? `Bearer ${secretKey}` : undefined } satisfies Sent;
});

const randomBody = fc
  .tuple(
    fc.nat(),
    fc.oneof(anyValue.map((v) => JSON.stringify(v) ?? 'null'), fc.string({ unit: 'binary', maxLength: 200 })),
    fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', ''),
    fc.oneof(fc.constant(undefined), fc.constant('key'), hostileString.map((s) => `Bearer ${s}`), fc.string({ unit: 'binary', maxLength: 40 })),
  )
  .map(([r, body, contentType, auth]) => {
    const route = routes()[r % routes().length]!;
    const authorization = auth === 'key' ? `Bearer ${secretKey}` : auth?.replace(/[^\x20-\x7e]/g, '');
    return { method: route.method, path: route.path, body, contentType, authorization } satisfies Sent;
  });

const pathUnit = fc.constantFrom('%ff', '%00', '%2e', '%2F', '%20', '%c3%28', '%ed%a0%80', '..', '+', '1', 'a', '.', '%', '-', ',', '=');
const segment = fc.oneof(fc.string({ unit: pathUnit, minLength: 1, maxLength: 12 }), fc.integer({ min: 90, max: 200 }).map((n) => 'x'.repeat(n)));
const hostilePath = fc
  .tuple(
    fc.constantFrom(
      (s: string) => ['GET', `/device_api/v1/instances/${s}/web-vapid-public-key`],
      (s: string) => ['GET', `/device_api/v1/instances/${instanceId}/devices/${s}/${deviceId}`],
      (s: string) => ['GET', `/device_api/v1/instances/${instanceId}/devices/fcm/${s}/interests?limit=${s}&cursor=${s}`],
      (s: string) => ['POST', `/device_api/v1/instances/${instanceId}/devices/fcm/${deviceId}/interests/${s}`],
      (s: string) => ['DELETE', `/device_api/v1/instances/${instanceId}/devices/fcm/${deviceId}/interests/${s}`],
      (s: string) => ['DELETE', `/user_api/v1/instances/${instanceId}/users/${s}`],
      (s: string) => ['DELETE', `/customer_api/v1/instances/${s}/users/u`],
      (s: string) => ['PUT', `/device_api/v1/instances/${instanceId}/devices/fcm/${deviceId}/user`, s],
      (s: string) => ['POST', `/publish_api/v1/instances/${s}/publishes/interests`],
    ),
    segment,
  )
  .map(([route, s]) => {
    const [method, path, token] = route(s) as [string, string, string?];
    return { method, path, authorization: token !== undefined ? `Bearer ${token.replace(/[^\x20-\x7e]/g, '')}` : `Bearer ${secretKey}` } satisfies Sent;
  });

describe("Beams' APIs under random hostile input", () => {
  it('answer valid requests with one hostile field: never 5xx, refusals in Beams shape', async () => {
    await fc.assert(fc.asyncProperty(mutated, send), { numRuns: 250 });
  });

  it('answer random bodies, content types and Authorization headers the same way', async () => {
    await fc.assert(fc.asyncProperty(randomBody, send), { numRuns: 150 });
  });

  it('answer hostile paths the same way', async () => {
    await fc.assert(fc.asyncProperty(hostilePath, send), { numRuns: 150 });
  });
});
