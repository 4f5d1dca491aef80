import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, type TestDatabase } from './support/database.ts';
import { call, type ApiResponse } from './support/http.ts';
import { freePort, startPrivateRedis, startProcess, waitFor, type Child } from './support/processes.ts';
import { deleteRedisPrefix, startTestServer, TEST_REDIS_URL } from './support/server.ts';

// The rate limit per access token, counted in Redis: two real API processes sharing Redis limit
// one token together; a Redis that is down lets requests through (and says so in the log).

const LIMIT = 20;
const databases: TestDatabase[] = [];
const prefixes: string[] = [];
const children: Child[] = [];
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  for (const d of databases) await d.drop();
  for (const p of prefixes) await deleteRedisPrefix(p);
});

interface Api {
  readonly url: string;
  readonly child: Child;
}

async function startApiProcess(env: Record<string, string>): Promise<Api> {
  const port = await freePort();
  const child = startProcess('apps/api/src/main.ts', { PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env });
  children.push(child);
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`the API on port ${port}`, async () => {
    if (child.child.exitCode !== null) throw new Error(`API exited: ${JSON.stringify(child.output())}`);
    return fetch(`${url}/healthz`).then((r) => (r.ok ? true : undefined), () => undefined);
  });
  return { url: `${url}/api/v1`, child };
}

function sharedEnv(label: string): Record<string, string> {
  const database = freshDatabaseUrl(label);
  databases.push(database);
  const prefix = `pushcast-test-${label}-${randomBytes(4).toString('hex')}`;
  prefixes.push(prefix);
  return {
    DATABASE_URL: database.url,
    REDIS_URL: TEST_REDIS_URL,
    PUSHCAST_QUEUE_PREFIX: prefix,
    PUSHCAST_ADMIN_TOKEN: `admin-${randomBytes(16).toString('hex')}`,
    PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
    API_RATE_LIMIT_PER_MINUTE: String(LIMIT),
    PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
  };
}

const header = (res: ApiResponse, name: string) => res.headers.get(name);

describe('two API processes sharing Redis', () => {
  let a: Api;
  let b: Api;
  let adminToken: string;
  let token: string;
  let projectId: number;
  let adminRequests = 0;

  beforeAll(async () => {
    const env = sharedEnv('ratelimit');
    adminToken = env.PUSHCAST_ADMIN_TOKEN!;
    // One after the other: the first creates the database and migrates it.
    a = await startApiProcess(env);
    b = await startApiProcess(env);
    const admin = async (method: string, path: string, body: unknown) => {
      adminRequests += 1;
      const res = await call(adminRequests % 2 ? a.url : b.url, method, path, { token: adminToken, body });
      expect(res.status).toBe(201);
      return res.body;
    };
    const sender = await admin('POST', '/senders', { name: 's' });
    projectId = (await admin('POST', '/projects', { sender_id: sender.id, name: 'p', website: 'https://example.com' })).id;
    token = (await admin('POST', '/access_tokens', { name: 'limited', project_ids: [projectId] })).token;
  }, 120_000);

  it('limit one token together: the 21st request in a minute is 429 on either process, with Retry-After', async () => {
    // The window opens when Redis counts the first request: between these two instants.
    let windowFrom = 0;
    let windowTo = 0;
    for (let i = 0; i < LIMIT; i += 1) {
      if (i === 0) windowFrom = Date.now();
      const res = await call(i % 2 === 0 ? a.url : b.url, 'GET', `/projects/${projectId}`, { token });
      if (i === 0) windowTo = Date.now();
      expect(res.status).toBe(200);
      expect(header(res, 'x-ratelimit-limit')).toBe(String(LIMIT));
      // One counter for both processes: each answer counts the other process's requests too.
      expect(header(res, 'x-ratelimit-remaining')).toBe(String(LIMIT - 1 - i));
      const reset = Number(header(res, 'x-ratelimit-reset'));
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(60);
      expect(header(res, 'retry-after')).toBeNull();
    }
    for (const api of [a, b]) {
      const sent = Date.now();
      const res = await call(api.url, 'GET', `/projects/${projectId}`, { token });
      const answered = Date.now();
      expect(res.status).toBe(429);
      expect(res.body).toMatchObject({ code: 'rate_limited', rule: 'rate_limit', limit: LIMIT, error: expect.stringContaining('per minute') });
      const retryAfter = Number(header(res, 'retry-after'));
      // What is left of the minute that opened with the first request, in whole seconds rounded up.
      expect(retryAfter).toBeGreaterThanOrEqual(Math.floor((windowFrom + 60_000 - answered) / 1000));
      expect(retryAfter).toBeLessThanOrEqual(Math.ceil((windowTo + 60_000 - sent) / 1000));
      expect(res.body.retry_after).toBe(retryAfter);
      expect(header(res, 'x-ratelimit-limit')).toBe(String(LIMIT));
      expect(header(res, 'x-ratelimit-remaining')).toBe('0');
      expect(header(res, 'x-ratelimit-reset')).toBe(String(retryAfter));
    }
    // A create is refused as well, before anything is written.
    const create = await call(b.url, 'POST', `/projects/${projectId}/notifications`, { token, body: { body: 'x' } });
    expect(create.status).toBe(429);
    adminRequests += 1;
    const list = await call(a.url, 'GET', `/projects/${projectId}/notifications`, { token: adminToken });
    expect(list.body).toEqual([]);
  });

  it('counts per token: the env admin token has its own counter, shared by both processes', async () => {
    adminRequests += 1;
    const res = await call(b.url, 'GET', `/projects/${projectId}`, { token: adminToken });
    expect(res.status).toBe(200);
    expect(header(res, 'x-ratelimit-remaining')).toBe(String(LIMIT - adminRequests));
  });

  it('puts the headers on error answers of authenticated requests, and leaves unauthenticated ones alone', async () => {
    adminRequests += 1;
    const missing = await call(a.url, 'GET', '/projects/999999', { token: adminToken });
    expect(missing.status).toBe(404);
    expect(header(missing, 'x-ratelimit-remaining')).toBe(String(LIMIT - adminRequests));

    for (const api of [a, b]) {
      for (let i = 0; i < 3; i += 1) {
        const anonymous = await call(api.url, 'GET', `/projects/${projectId}`);
        expect(anonymous.status).toBe(401);
        expect(header(anonymous, 'x-ratelimit-limit')).toBeNull();
        const wrong = await call(api.url, 'GET', `/projects/${projectId}`, { token: 'pc_not-a-token' });
        expect(wrong.status).toBe(401);
        expect(header(wrong, 'x-ratelimit-limit')).toBeNull();
      }
    }
  });
});

describe('when Redis is unreachable', () => {
  it('lets requests through (fails open) and logs a warning', async () => {
    const redis = await startPrivateRedis();
    try {
      const env: Record<string, string> = { ...sharedEnv('ratelimit_open'), REDIS_URL: redis.url, API_RATE_LIMIT_PER_MINUTE: '2' };
      const api = await startApiProcess(env);
      const get = () => call(api.url, 'GET', '/senders', { token: env.PUSHCAST_ADMIN_TOKEN! });
      expect((await get()).status).toBe(200);
      // The limit bites while Redis is up (a loaded machine may let one through unchecked when
      // the 500 ms budget runs out: that is the fail-open this test is about).
      await waitFor('the limit to bite', async () => ((await get()).status === 429 ? true : undefined), 10_000);

      await redis.stop();
      for (let i = 0; i < 5; i += 1) expect((await get()).status).toBe(200);
      await waitFor('the warning', () => (api.child.output().stdout.includes('rate limit not checked') ? true : undefined), 10_000);
    } finally {
      await redis.stop();
    }
  }, 60_000);
});

describe('API_RATE_LIMIT_PER_MINUTE=0', () => {
  it('turns the limit off: no counting, no headers', async () => {
    const server = await startTestServer('ratelimit_off', { API_RATE_LIMIT_PER_MINUTE: '0' });
    try {
      const res = await call(server.apiUrl, 'GET', '/senders', { token: server.adminToken });
      expect(res.status).toBe(200);
      expect(header(res, 'x-ratelimit-limit')).toBeNull();
    } finally {
      await server.close();
    }
  });
});
