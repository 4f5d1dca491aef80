import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, scopedToken } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const run = promisify(execFile);

let server: TestServer;
let projectA: number;
let projectB: number;
let tokenA: string;

beforeAll(async () => {
  server = await startTestServer('auth');
  projectA = (await createProject(server, 'A')).projectId;
  projectB = (await createProject(server, 'B')).projectId;
  tokenA = await scopedToken(server, [projectA]);
});
afterAll(async () => server?.close());

describe('authorization headers', () => {
  it.each([
    ['Bearer', (t: string) => `Bearer ${t}`],
    ['Token token="…"', (t: string) => `Token token="${t}"`],
    ['Token token=… (unquoted)', (t: string) => `Token token=${t}`],
  ])('accepts %s', async (_label, header) => {
    const res = await call(server.apiUrl, 'GET', `/projects/${projectA}`, { authorization: header(tokenA) });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(projectA);
  });

  it.each([
    ['no header', undefined, 'token_required'],
    ['an unknown token', 'Bearer pc_unknown', 'token_invalid'],
    ['an empty bearer', 'Bearer ', 'token_required'],
    ['basic auth', `Basic ${Buffer.from('a:b').toString('base64')}`, 'token_required'],
  ])('401 with %s', async (_label, authorization, rule) => {
    const res = await call(server.apiUrl, 'GET', '/projects', authorization === undefined ? {} : { authorization });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ code: 'unauthorized', rule });
  });

  it('a revoked token stops working', async () => {
    const minted = await call(server.apiUrl, 'POST', '/access_tokens', {
      token: server.adminToken,
      body: { project_ids: [projectA] },
    });
    expect((await call(server.apiUrl, 'GET', '/projects', { token: minted.body.token })).status).toBe(200);
    expect((await call(server.apiUrl, 'DELETE', `/access_tokens/${minted.body.id}`, { token: server.adminToken })).status).toBe(204);
    expect((await call(server.apiUrl, 'GET', '/projects', { token: minted.body.token })).status).toBe(401);
  });

  it('tokens are stored hashed: the database never holds the token', async () => {
    const minted = await call(server.apiUrl, 'POST', '/access_tokens', {
      token: server.adminToken,
      body: { name: 'hashed', admin: true },
    });
    const token: string = minted.body.token;
    const { rows } = await server.db.query(`SELECT * FROM access_tokens WHERE id = $1`, [minted.body.id]);
    const stored = JSON.stringify(rows[0], (_k, v) => (v?.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v));
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(token.slice(8));
    const listed = await call(server.apiUrl, 'GET', '/access_tokens', { token: server.adminToken });
    expect(JSON.stringify(listed.body)).not.toContain(token);
    // A minted admin token is an admin: it can create senders.
    expect((await call(server.apiUrl, 'POST', '/senders', { token, body: { name: 'by minted admin' } })).status).toBe(201);
  });

  it('the CLI mints a scoped token that works on its project only', async () => {
    const { stdout, stderr } = await run(
      process.execPath,
      ['apps/pushcast/bin/pushcast.js', 'token', 'create', '--project', String(projectB), '--name', 'cli'],
      { env: { ...process.env, DATABASE_URL: server.databaseUrl } },
    );
    expect(stderr).toContain('shown only once');
    const token = stdout.trim();
    expect(token).toMatch(/^pc_[A-Za-z0-9_-]{43}$/);
    expect((await call(server.apiUrl, 'GET', `/projects/${projectB}`, { token })).status).toBe(200);
    expect((await call(server.apiUrl, 'GET', `/projects/${projectA}`, { token })).status).toBe(403);
    const listed = await run(process.execPath, ['apps/pushcast/bin/pushcast.js', 'token', 'list'], {
      env: { ...process.env, DATABASE_URL: server.databaseUrl },
    });
    expect(listed.stdout).toMatch(new RegExp(`\\tprojects=${projectB}\\tcli\\t`));
    expect(listed.stdout).not.toContain(token);
  });

  it('the CLI refuses a token for a project that does not exist', async () => {
    const result = await run(process.execPath, ['apps/pushcast/bin/pushcast.js', 'token', 'create', '--project', '999999'], {
      env: { ...process.env, DATABASE_URL: server.databaseUrl },
    }).catch((e: { code: number; stderr: string }) => e);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringContaining('project 999999 does not exist') });
  });
});

describe('tenant isolation: a token for project A on project B', () => {
  let subB: number;
  beforeAll(async () => {
    const res = await call(server.apiUrl, 'POST', `/projects/${projectB}/subscriptions`, {
      token: server.adminToken,
      body: { endpoint: localEndpoint(), ...browserKeys() },
    });
    subB = res.body.id;
  });

  const routesOnB = () =>
    [
      ['GET', `/projects/${projectB}`],
      ['PATCH', `/projects/${projectB}`, { name: 'hijacked' }],
      ['DELETE', `/projects/${projectB}`],
      ['POST', `/projects/${projectB}/subscriptions`, { endpoint: localEndpoint(), ...browserKeys() }],
      ['GET', `/projects/${projectB}/subscriptions`],
      ['HEAD', `/projects/${projectB}/subscriptions`],
      ['GET', `/projects/${projectB}/subscriptions/${subB}`],
      ['PATCH', `/projects/${projectB}/subscriptions/${subB}`, { uid: 'stolen' }],
      ['DELETE', `/projects/${projectB}/subscriptions/${subB}`],
      // A project that does not exist answers the same: scoped tokens learn nothing by probing.
      ['GET', `/projects/999999`],
      ['GET', `/projects/999999/subscriptions`],
    ] as const;

  it('gets 403 on every project route, and B is untouched', async () => {
    for (const [method, path, body] of routesOnB()) {
      const res = await call(server.apiUrl, method, path, { token: tokenA, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      if (method !== 'HEAD') expect(res.body, `${method} ${path}`).toMatchObject({ code: 'forbidden' });
    }
    const b = await call(server.apiUrl, 'GET', `/projects/${projectB}`, { token: server.adminToken });
    expect(b.body.name).toBe('B');
    const sub = await call(server.apiUrl, 'GET', `/projects/${projectB}/subscriptions/${subB}`, { token: server.adminToken });
    expect(sub.body.uid).toBeNull();
  });

  it("cannot reach B's subscription through A's path", async () => {
    const res = await call(server.apiUrl, 'GET', `/projects/${projectA}/subscriptions/${subB}`, { token: tokenA });
    expect(res.status).toBe(404);
    const del = await call(server.apiUrl, 'DELETE', `/projects/${projectA}/subscriptions/${subB}`, { token: tokenA });
    expect(del.status).toBe(404);
  });

  it('sees only its own projects in the list', async () => {
    const res = await call(server.apiUrl, 'GET', '/projects', { token: tokenA });
    expect(res.body.map((p: { id: number }) => p.id)).toEqual([projectA]);
  });

  it('gets 403 on admin routes: senders, project create, tokens, moving its project to another sender', async () => {
    const { senderId } = await createProject(server, 'other');
    const adminRoutes = [
      ['GET', '/senders'],
      ['POST', '/senders', { name: 'x' }],
      ['GET', `/senders/${senderId}`],
      ['PATCH', `/senders/${senderId}`, { name: 'x' }],
      ['DELETE', `/senders/${senderId}`],
      ['POST', '/projects', { sender_id: senderId, name: 'x', website: 'https://e.com' }],
      ['DELETE', `/projects/${projectA}`],
      ['PATCH', `/projects/${projectA}`, { sender_id: senderId }],
      ['GET', '/access_tokens'],
      ['POST', '/access_tokens', { project_ids: [projectB] }],
      ['DELETE', '/access_tokens/1'],
    ] as const;
    for (const [method, path, body] of adminRoutes) {
      const res = await call(server.apiUrl, method, path, { token: tokenA, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body, `${method} ${path}`).toMatchObject({ code: 'forbidden', rule: 'admin_required' });
    }
  });

  it('works on its own project', async () => {
    const created = await call(server.apiUrl, 'POST', `/projects/${projectA}/subscriptions`, {
      token: tokenA,
      body: { endpoint: localEndpoint(), ...browserKeys(), uid: 'mine' },
    });
    expect(created.status).toBe(201);
    const patched = await call(server.apiUrl, 'PATCH', `/projects/${projectA}`, { token: tokenA, body: { name: 'A2' } });
    expect(patched).toMatchObject({ status: 200, body: { name: 'A2' } });
    const listed = await call(server.apiUrl, 'GET', `/projects/${projectA}/subscriptions`, { token: tokenA });
    expect(listed.body.map((s: { uid: string }) => s.uid)).toEqual(['mine']);
  });
});
