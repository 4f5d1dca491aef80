import { queueNames } from '@pushcast/queues';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, scopedToken } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Bull Board at /admin/queues: HTTP Basic auth whose password is an admin access token.

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('board');
});
afterAll(async () => server?.close());

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const get = (path: string, authorization?: string) => fetch(`${server.url}${path}`, { headers: authorization ? { authorization } : {} });

async function expectChallenge(res: Response): Promise<void> {
  expect(res.status).toBe(401);
  expect(res.headers.get('www-authenticate')).toBe('Basic realm="Pushcast"');
  expect(((await res.json()) as { code: string }).code).toBe('unauthorized');
}

describe('Bull Board', () => {
  it('asks for credentials: none, a wrong token, a project token, or a Bearer header are 401 with a Basic challenge', async () => {
    const { projectId } = await createProject(server, 'board');
    const projectToken = await scopedToken(server, [projectId]);
    for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/queues/queue/web']) {
      await expectChallenge(await get(path));
      await expectChallenge(await get(path, basic('admin', 'not-a-token-at-all-0123456789')));
      await expectChallenge(await get(path, basic('admin', projectToken)));
      await expectChallenge(await get(path, basic(server.adminToken, ''))); // the token as the user name is not the password
      await expectChallenge(await get(path, `Bearer ${server.adminToken}`));
    }
  });

  it('with the admin token as the password, serves the page, its assets, and an API listing every queue of the catalogue', async () => {
    const auth = basic('anyone', server.adminToken);
    const page = await get('/admin/queues', auth);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('Pushcast queues');
    // The page's own script, under the board's path, behind the same login.
    const script = html.match(/src="([^"]*static\/[^"]+\.js)"/)?.[1];
    expect(script).toBeDefined();
    const scriptPath = script!.startsWith('/') ? script! : `/admin/queues/${script!.replace(/^\.?\//, '')}`;
    expect((await get(scriptPath, auth)).status).toBe(200);
    await expectChallenge(await get(scriptPath));

    const api = await get('/admin/queues/api/queues', auth);
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: { name: string; description?: string }[] };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...queueNames].sort());
    // Opened under the deployment's prefix (the test server's own).
    for (const q of body.queues) expect(q.description).toBe(`Redis keys ${server.queuePrefix}:${q.name}:*`);
  });

  it('accepts an admin token minted through the API, not only PUSHCAST_ADMIN_TOKEN', async () => {
    const minted = await call(server.apiUrl, 'POST', '/access_tokens', { token: server.adminToken, body: { name: 'ops', admin: true } });
    expect(minted.status).toBe(201);
    const res = await get('/admin/queues/api/queues', basic('', minted.body.token));
    expect(res.status).toBe(200);
    const revoked = await call(server.apiUrl, 'DELETE', `/access_tokens/${minted.body.id}`, { token: server.adminToken });
    expect(revoked.status).toBe(204);
    await expectChallenge(await get('/admin/queues/api/queues', basic('', minted.body.token)));
  });

  it('refuses a POST another page could make an admin’s browser send (text/plain needs no preflight); takes JSON', async () => {
    const auth = basic('anyone', server.adminToken);
    const add = (contentType: string, body: string) =>
      fetch(`${server.url}/admin/queues/api/queues/maintenance/add`, { method: 'POST', headers: { authorization: auth, 'content-type': contentType }, body });
    const forged = await add('text/plain', JSON.stringify({ name: 'junk', data: {} }));
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { rule: string }).rule).toBe('json_only');
    const real = await add('application/json', JSON.stringify({ name: 'sweep-deleted-projects', data: {} }));
    expect(real.status).toBeLessThan(300);
  });
});

