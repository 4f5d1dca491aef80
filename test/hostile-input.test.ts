import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import { setImmediate } from 'node:timers/promises';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint, type ApiResponse } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Issue 12 §1 and §2: hostile and unusual input, each case as a client would send it over HTTP.
// Strings PostgreSQL cannot store (NUL, lone UTF-16 surrogates) and bodies nested deeper than any
// route takes are 422s naming the field and the rule, found before anything is stored or parsed
// recursively; Fastify's and Node's own refusals (bad URL, parameter too long, headers too large,
// unsupported media type, body too large) come in Pushcast's error shape, and a client can read
// them and go on; ids are canonical decimal integers only.

let server: TestServer;
let projectId: number;
let senderId: number;

beforeAll(async () => {
  server = await startTestServer('hostile', { PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64') });
  ({ projectId, senderId } = await createProject(server, 'Hostile'));
});
afterAll(async () => server?.close());

const admin = () => ({ token: server.adminToken });

/** Pushcast's error shape: JSON with a message and a code, and the field and rule when given. */
function expectShape(res: ApiResponse, status: number, expected: Record<string, unknown> = {}): void {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.body).toMatchObject({ error: expect.any(String), code: expect.any(String), ...expected });
}

function expectRefusal(res: ApiResponse, field: string, rule: string): void {
  expectShape(res, 422, { code: 'validation', field, rule });
  expect(res.body.error).toContain(field);
}

const notify = (body: Record<string, unknown>) =>
  call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { ...admin(), body });

describe('NUL characters', () => {
  it('in a sender name', async () => {
    expectRefusal(await call(server.apiUrl, 'POST', '/senders', { ...admin(), body: { name: 'a\u0000b' } }), 'name', 'no_nul');
  });

  it('in a project name', async () => {
    const res = await call(server.apiUrl, 'POST', '/projects', {
      ...admin(),
      body: { sender_id: senderId, name: 'p\u0000', website: 'https://example.com' },
    });
    expectRefusal(res, 'name', 'no_nul');
  });

  it('in a subscription uid', async () => {
    const res = await call(server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, {
      ...admin(),
      body: { endpoint: localEndpoint(), ...browserKeys(), uid: 'u\u0000' },
    });
    expectRefusal(res, 'uid', 'no_nul');
  });

  it('in an access token name', async () => {
    const res = await call(server.apiUrl, 'POST', '/access_tokens', { ...admin(), body: { name: 't\u0000', project_ids: [projectId] } });
    expectRefusal(res, 'name', 'no_nul');
  });

  it('in notification fields, actions, fcm.data values and APNs custom keys', async () => {
    expectRefusal(await notify({ body: 'x\u0000' }), 'body', 'no_nul');
    expectRefusal(await notify({ body: 'x', title: '\u0000' }), 'title', 'no_nul');
    expectRefusal(await notify({ body: 'x', actions: [{ title: 'a\u0000' }] }), 'actions.0.title', 'no_nul');
    expectRefusal(await notify({ body: 'x', fcm: { data: { k: 'v\u0000' } } }), 'fcm.data.k', 'no_nul');
    expectRefusal(await notify({ body: 'x', apns: { custom: { deep: ['ok', 'v\u0000'] } } }), 'apns.custom.deep.1', 'no_nul');
  });

  it('in a key: the field is the object holding it', async () => {
    expectRefusal(await notify({ body: 'x', apns: { ['a\u0000']: 1 } }), 'apns', 'no_nul');
  });

  it('in a query string', async () => {
    const res = await call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions?uids[]=a%00b`, admin());
    expectRefusal(res, 'uids[]', 'no_nul');
  });
});

describe('lone UTF-16 surrogates', () => {
  it('in an action title', async () => {
    expectRefusal(await notify({ body: 'x', actions: [{ title: '\ud800' }] }), 'actions.0.title', 'well_formed_unicode');
  });

  it('in fcm.data, as a value and as a key', async () => {
    expectRefusal(await notify({ body: 'x', fcm: { data: { k: 'a\udfffb' } } }), 'fcm.data.k', 'well_formed_unicode');
    expectRefusal(await notify({ body: 'x', fcm: { data: { ['\udc00']: 'v' } } }), 'fcm.data', 'well_formed_unicode');
  });

  it('in a service account private_key_id', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const res = await call(server.apiUrl, 'PATCH', `/projects/${projectId}`, {
      ...admin(),
      body: {
        fcm_credentials: {
          service_account: {
            type: 'service_account',
            project_id: 'pushcast-test',
            private_key_id: 'ab\ud800',
            private_key: privateKey,
            client_email: 'firebase-adminsdk-abc12@pushcast-test.iam.gserviceaccount.com',
          },
        },
      },
    });
    expectRefusal(res, 'fcm_credentials.service_account.private_key_id', 'well_formed_unicode');
  });

  it('a surrogate pair (an emoji) is fine', async () => {
    const res = await notify({ body: 'hello 😀', actions: [{ title: '👍' }], fcm: { data: { '😀': '😀' } } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe('deep nesting', () => {
  const nest = (levels: number, leaf: unknown): unknown => {
    let v = leaf;
    for (let i = 0; i < levels; i++) v = { k: v };
    return v;
  };

  it('an apns object nested 2,000 levels is a 422 before it is validated', async () => {
    const res = await notify({ body: 'x', apns: nest(2000, 1) as Record<string, unknown> });
    expectShape(res, 422, { code: 'validation', rule: 'max_depth' });
    expect(res.body.field).toMatch(/^apns(\.k)+$/);
  });

  it('arrays nested 100,000 levels in a field', async () => {
    const res = await call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      ...admin(),
      rawBody: `{"body": "x", "custom_data": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
    });
    expectShape(res, 422, { code: 'validation', rule: 'max_depth' });
    expect(res.body.field).toMatch(/^custom_data(\.0)+$/);
  });

  it('APNs custom data nested 20 levels is still taken', async () => {
    const res = await notify({ body: 'x', apns: { custom: nest(20, 'leaf') as Record<string, unknown> } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});

describe("Fastify's and Node's own refusals, in Pushcast's shape", () => {
  it('a path that is not valid percent-encoded UTF-8 is a 400 (url_encoding)', async () => {
    const res = await call(server.apiUrl, 'GET', '/projects/%ff', admin());
    expectShape(res, 400, { code: 'bad_request', rule: 'url_encoding' });
  });

  it('a 101-digit id is a 414 that does not echo the path', async () => {
    const id = '9'.repeat(101);
    const res = await call(server.apiUrl, 'GET', `/projects/${id}`, admin());
    expectShape(res, 414, { code: 'uri_too_long', rule: 'max_param_length' });
    expect(JSON.stringify(res.body)).not.toContain(id.slice(0, 50));
  });

  it('an unsupported media type is a 415', async () => {
    const res = await call(server.apiUrl, 'POST', '/senders', { ...admin(), rawBody: '<name>x</name>', contentType: 'application/xml' });
    expectShape(res, 415, { code: 'unsupported_media_type', rule: 'content_type' });
  });

  const hugeQuery = () => `/projects/${projectId}/subscriptions?${Array.from({ length: 10_000 }, (_, i) => `tags[]=t${i}`).join('&')}`;

  it('10,000 tags[] is a 431 with a code, saying Connection: close', async () => {
    const res = await call(server.apiUrl, 'GET', hugeQuery(), admin());
    expectShape(res, 431, { code: 'headers_too_large', rule: 'header_size' });
    expect(res.headers.get('connection')).toBe('close');
  });

  // Node's keep-alive agent hands the socket back as soon as the 431 is read and writes the next
  // request on it: without `Connection: close` that request meets the closed socket (ECONNRESET,
  // 5 of 5 before the fix). undici notices the close by itself; it is checked the same way.
  it("after a 431, a keep-alive client's next request succeeds (5 of 5)", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const viaAgent = (path: string) =>
      new Promise<string>((resolve) => {
        const req = http.get(`${server.apiUrl}${path}`, { agent, headers: { authorization: `Bearer ${server.adminToken}` } }, (res) => {
          res.resume();
          res.on('end', () => resolve(String(res.statusCode)));
        });
        req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
    const client = new Client(server.url, { pipelining: 1 });
    const viaUndici = async (path: string) => {
      try {
        const res = await client.request({ method: 'GET', path: `/api/v1${path}`, headers: { authorization: `Bearer ${server.adminToken}` } });
        await res.body.text();
        return String(res.statusCode);
      } catch (e) {
        return (e as Error).message;
      }
    };
    try {
      for (const send of [viaAgent, viaUndici]) {
        const outcomes: string[] = [];
        for (let i = 0; i < 5; i++) {
          expect(await send(`/projects/${projectId}`)).toBe('200');
          expect(await send(hugeQuery())).toBe('431');
          outcomes.push(await send(`/projects/${projectId}`));
        }
        expect(outcomes).toEqual(['200', '200', '200', '200', '200']);
      }
    } finally {
      agent.destroy();
      await client.close();
    }
  });

  it('a body over the limit is answered 413 after it is read: fetch sees the answer, not EPIPE', async () => {
    const big = JSON.stringify({ name: 'x'.repeat(3 * 1024 * 1024) });
    for (let i = 0; i < 3; i++) {
      const res = await call(server.apiUrl, 'POST', '/senders', { ...admin(), rawBody: big });
      expectShape(res, 413, { code: 'payload_too_large', rule: 'body_too_large' });
    }
  });

  // A client writing its body as the socket lets it, as HTTP clients do: before the fix the server
  // answered after the headers and closed, and the client met EPIPE before it could read the answer
  // (with Content-Length), or got the answer while still sending (chunked).
  it.each([
    ['with a Content-Length', false],
    ['chunked', true],
  ])('a body over the limit is read to its end, then answered 413 (%s)', async (_label, chunked) => {
    const url = new URL(server.url);
    const socket = net.connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const chunks = 48; // 3 MB: three times the limit
    let written = 0;
    let answeredAfter: number | null = null;
    let answer = '';
    let error: string | null = null;
    socket.on('data', (data: Buffer) => {
      answeredAfter ??= written;
      answer += data.toString();
    });
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    const closed = once(socket, 'close');
    const framing = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${chunks * chunk.length}`;
    socket.write(`POST /api/v1/senders HTTP/1.1\r\nHost: pushcast\r\nAuthorization: Bearer ${server.adminToken}\r\nContent-Type: application/json\r\n${framing}\r\nConnection: close\r\n\r\n`);
    for (let i = 0; i < chunks && error === null && !socket.destroyed; i++) {
      const data = chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')]) : chunk;
      await new Promise((resolve) => socket.write(data, resolve));
      written += chunk.length;
      await setImmediate(); // let an early answer arrive between writes
    }
    if (chunked && error === null && !socket.destroyed) socket.write('0\r\n\r\n');
    await closed;
    expect(error).toBeNull();
    expect(answeredAfter).toBe(chunks * chunk.length);
    const [head, body] = answer.split('\r\n\r\n');
    expect(head).toMatch(/^HTTP\/1.1 413 /);
    expect(JSON.parse(body!)).toMatchObject({ code: 'payload_too_large', rule: 'body_too_large', field: 'body' });
  });
});

describe('ids are canonical decimal integers', () => {
  const spellings = (id: number) => [`0x${id.toString(16)}`, `${id}e0`, `+${id}`, `0${id}`, `%20${id}`, `${id}.0`];

  it('in a path: 0x2, 2e0, +2, 02, " 2" are refused, not taken as 2', async () => {
    expect((await call(server.apiUrl, 'GET', `/projects/${projectId}`, admin())).status).toBe(200);
    for (const spelled of spellings(projectId)) {
      expectRefusal(await call(server.apiUrl, 'GET', `/projects/${spelled}`, admin()), 'id', 'decimal_integer');
    }
  });

  it('in a body', async () => {
    const res = await call(server.apiUrl, 'POST', '/projects', {
      ...admin(),
      body: { sender_id: `0x${senderId.toString(16)}`, name: 'hex', website: 'https://example.com' },
    });
    expectRefusal(res, 'sender_id', 'decimal_integer');
  });

  it('a non-numeric id stays invalid_type, and "2" as a string still names 2', async () => {
    expectRefusal(await call(server.apiUrl, 'GET', '/projects/abc', admin()), 'id', 'invalid_type');
    const res = await call(server.apiUrl, 'POST', '/projects', {
      ...admin(),
      body: { sender_id: String(senderId), name: 'decimal string', website: 'https://example.com' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
  });
});
