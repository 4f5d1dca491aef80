import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { statusByKind } from '@pushcast/api';
import { isRule } from '@pushcast/domain';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { browserKeys, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Random hostile bodies, paths and query strings against the main routes over HTTP (issue 12 §1,
// §2): whatever comes in, the answer is never a 5xx, and every 4xx is Pushcast's JSON error shape
// with a code. The bodies are valid ones with one field replaced (so that they get past the first
// check) or random JSON, or random text under random content types.

let server: TestServer;
let projectId: number;
let senderId: number;

beforeAll(async () => {
  server = await startTestServer('apifuzz', { PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64') });
  ({ projectId, senderId } = await createProject(server, 'Fuzz'));
});
afterAll(async () => server?.close());

interface Sent {
  readonly method: string;
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
}

async function send({ method, path, body, contentType }: Sent): Promise<void> {
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}` };
  if (body !== undefined) headers['content-type'] = contentType ?? 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, body });
  const text = await res.text();
  const what = `${method} ${path.slice(0, 200)} ${body?.slice(0, 200) ?? ''} -> ${res.status} ${text.slice(0, 300)}`;
  expect(res.status, what).toBeLessThan(500);
  if (res.status < 400) return;
  expect(res.headers.get('content-type'), what).toMatch(/^application\/json/);
  if (method === 'HEAD') return;
  const answer = JSON.parse(text) as Record<string, unknown>;
  // Pushcast's shape: a message, a code among the error kinds that answers with this status, and
  // a rule from the catalogue when there is one (Fastify's own shape has a code too, `FST_ERR_…`).
  expect(answer, what).toMatchObject({ error: expect.any(String), code: expect.any(String) });
  expect(Object.hasOwn(statusByKind, answer.code as string) && statusByKind[answer.code as keyof typeof statusByKind], what).toBe(res.status);
  if (answer.rule !== undefined) expect(isRule(String(answer.rule)), what).toBe(true);
}

// Strings as an attacker writes them: NUL, lone surrogates from either half, pairs, escapes,
// percent signs, long runs; and whatever fast-check makes of full Unicode.
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c));
const hostileUnit = fc.oneof(
  fc.constantFrom('\u0000', 'a', '😀', '%', '\\', '"', '.', ':', '#', ' ', '\n', 'é', '0', '9', '-', '/', '*', '&&', '\u2028'),
  loneSurrogate,
);
const hostileString = fc.oneof(
  fc.string({ unit: hostileUnit, maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.constantFrom('', 'x'.repeat(5000), '0x2', '2e0', '+2', '02', ' 2', '-1', '1.5', '9'.repeat(30)),
);
const scalar = fc.oneof(hostileString, fc.integer(), fc.double(), fc.boolean(), fc.constant(null));
const { value: hostileValue } = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('object')),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
}));
/** Objects or arrays nested far deeper than any route takes. */
const deeplyNested = fc.tuple(fc.integer({ min: 20, max: 3000 }), fc.boolean(), scalar).map(([levels, arrays, leaf]) => {
  let v: unknown = leaf;
  for (let i = 0; i < levels; i++) v = arrays ? [v] : { k: v };
  return v;
});
const anyValue = fc.oneof(hostileValue, deeplyNested);

// A valid body per route, to replace one field of.
const routes = (): { method: string; path: string; body: Record<string, unknown> }[] => [
  { method: 'POST', path: '/api/v1/senders', body: { name: 'fuzz sender' } },
  { method: 'PATCH', path: `/api/v1/senders/${senderId}`, body: { name: 'fuzz sender' } },
  { method: 'POST', path: '/api/v1/projects', body: { sender_id: senderId, name: 'fuzz', website: 'https://example.com', allowed_origins: ['https://example.com'] } },
  { method: 'PATCH', path: `/api/v1/projects/${projectId}`, body: { name: 'Fuzz', notifications_ttl: 3600, quota_daily: 1000 } },
  {
    method: 'POST',
    path: `/api/v1/projects/${projectId}/subscriptions`,
    body: { endpoint: localEndpoint(), ...browserKeys(), uid: 'u', tags: ['a', 'b'] },
  },
  {
    method: 'POST',
    path: `/api/v1/projects/${projectId}/notifications`,
    body: {
      body: 'hello',
      title: 'title',
      target_url: 'https://example.com',
      actions: [{ title: 'Open', target_url: 'https://example.com/a', action: 'open' }],
      uids: ['u'],
      tags: ['a'],
      custom_metrics: ['m'],
      send_at: new Date(Date.now() + 3_600_000).toISOString(),
      fcm: { data: { k: 'v' }, android: { priority: 'high' } },
      apns: { aps: { sound: 'default' }, custom: { k: 'v' } },
      web: { title: 't' },
    },
  },
  { method: 'POST', path: '/api/v1/access_tokens', body: { name: 'fuzz', project_ids: [projectId] } },
];

/** A valid body with one top-level field, or one field inside it, replaced by a hostile value. */
const mutatedBody = fc
  .tuple(fc.nat(), fc.nat(), fc.nat(), anyValue, fc.boolean())
  .map(([r, k, k2, value, inside]) => {
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
    return { method: route.method, path: route.path, body: JSON.stringify(body) } satisfies Sent;
  });

const randomBody = fc
  .tuple(fc.nat(), fc.oneof(anyValue.map((v) => JSON.stringify(v) ?? 'null'), fc.string({ unit: 'binary', maxLength: 200 })), fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    '',
  ))
  .map(([r, body, contentType]) => {
    const route = routes()[r % routes().length]!;
    return { method: route.method, path: route.path, body, contentType } satisfies Sent;
  });

// Path segments and query strings as they come over the wire: percent-escapes that are not UTF-8,
// escaped NULs and surrogates (CESU-8), dots, signs, long digit runs.
const pathUnit = fc.constantFrom('%ff', '%00', '%2e', '%2F', '%20', '%c3%28', '%ed%a0%80', '%e2%82', '..', '0x', '+', '1', '9', 'a', 'e', '.', '%', '-', '~');
const segment = fc.oneof(fc.string({ unit: pathUnit, minLength: 1, maxLength: 12 }), fc.integer({ min: 90, max: 130 }).map((n) => '1'.repeat(n)));
const query = fc.array(
  fc.tuple(fc.constantFrom('uids[]', 'tags[]', 'uids', 'tags', 'page', 'per_page', 'platform', '%00', 'x%ff'), fc.string({ unit: pathUnit, maxLength: 8 })),
  { maxLength: 5 },
);
const hostilePath = fc
  .tuple(
    fc.constantFrom(
      (s: string) => `/api/v1/projects/${s}`,
      (s: string) => `/api/v1/projects/${projectId}/subscriptions/${s}`,
      (s: string) => `/api/v1/senders/${s}`,
      (s: string) => `/api/v1/notifications/${s}`,
      (s: string) => `/api/v1/projects/${s}/subscriptions`,
      (s: string) => `/api/v1/projects/${s}/vapid_key`,
      () => `/api/v1/projects/${projectId}/subscriptions`,
      () => `/api/v1/projects/${projectId}/notifications`,
    ),
    segment,
    query,
    fc.constantFrom('GET', 'HEAD'),
  )
  .map(([route, s, q, method]) => {
    const path = route(s) + (q.length > 0 ? `?${q.map(([k, v]) => `${k}=${v}`).join('&')}` : '');
    return { method, path } satisfies Sent;
  });

describe('the API under random hostile input', () => {
  it('answers bodies with a valid shape and one hostile field: never 5xx, 4xx in the error shape', async () => {
    await fc.assert(fc.asyncProperty(mutatedBody, send), { numRuns: 250 });
  });

  it('answers random bodies under random content types the same way', async () => {
    await fc.assert(fc.asyncProperty(randomBody, send), { numRuns: 120 });
  });

  it('answers hostile paths and query strings the same way', async () => {
    await fc.assert(fc.asyncProperty(hostilePath, send), { numRuns: 150 });
  });
});
