import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { freshDatabaseUrl, type TestDatabase } from './support/database.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startProcess, waitFor, type Child } from './support/processes.ts';
import { deleteRedisPrefix, TEST_REDIS_URL } from './support/server.ts';

// Pushcast as a user runs it: `npm start` (API and worker in one process) on a database that does
// not exist yet, then deleting a project, then SIGTERM.

const databases: TestDatabase[] = [];
const prefixes: string[] = [];
const prefix = (label: string) => {
  const p = `pushcast-test-${label}-${randomBytes(4).toString('hex')}`;
  prefixes.push(p);
  return p;
};
const children: Child[] = [];
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  for (const d of databases) await d.drop();
  for (const p of prefixes) await deleteRedisPrefix(p);
});

function start(entry: string, env: Record<string, string>): Child {
  const child = startProcess(entry, env);
  children.push(child);
  return child;
}

describe('npm start', () => {
  it('creates the database, prints its URL, serves the API, purges a deleted project in the worker, and stops on SIGTERM', async () => {
    const database = freshDatabaseUrl('start');
    databases.push(database);
    const adminToken = randomBytes(24).toString('hex');
    const proc = start('apps/pushcast/src/main.ts', {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_ADMIN_TOKEN: adminToken,
      PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1',
      PUSHCAST_QUEUE_PREFIX: prefix('start'),
      PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
      METRICS_PORT: '0',
      // Everything logged, to show that no secret is.
      LOG_LEVEL: 'trace',
    });
    const apiUrl = await waitFor('the URL on stdout', () => proc.output().stdout.match(/API at (http:\/\/\S+\/api\/v1)/)?.[1]);

    const sender = await call(apiUrl, 'POST', '/senders', { token: adminToken, body: { name: 's' } });
    const project = await call(apiUrl, 'POST', '/projects', {
      token: adminToken,
      body: { sender_id: sender.body.id, name: 'to delete', website: 'https://example.com' },
    });
    for (let i = 0; i < 3; i += 1) {
      const res = await call(apiUrl, 'POST', `/projects/${project.body.id}/subscriptions`, {
        token: adminToken,
        body: { endpoint: localEndpoint(), ...browserKeys() },
      });
      expect(res.status).toBe(201);
    }

    const deleted = await call(apiUrl, 'DELETE', `/projects/${project.body.id}`, { token: adminToken });
    expect(deleted.status).toBe(202);
    expect((await call(apiUrl, 'GET', `/projects/${project.body.id}`, { token: adminToken })).status).toBe(404);

    const db = new pg.Client({ connectionString: database.url });
    await db.connect();
    try {
      await waitFor('the worker to purge the project', async () => {
        const { rows } = await db.query('SELECT (SELECT count(*) FROM projects)::int AS p, (SELECT count(*) FROM subscriptions)::int AS s');
        return rows[0].p === 0 && rows[0].s === 0 ? true : undefined;
      });
    } finally {
      await db.end();
    }
    // The sender is free again once its project is gone.
    expect((await call(apiUrl, 'DELETE', `/senders/${sender.body.id}`, { token: adminToken })).status).toBe(204);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);

    const { stdout, stderr } = proc.output();
    expect(stdout).toContain('"msg":"incoming request"');
    const privateKeyBody = String(sender.body.vapid_private_key).split('\n')[1]!;
    for (const secret of [adminToken, privateKeyBody]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  });
});

describe('first start without PUSHCAST_ADMIN_TOKEN', () => {
  it('mints one admin token, prints it once, and does not mint again', async () => {
    const database = freshDatabaseUrl('bootstrap');
    databases.push(database);
    const env = {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_QUEUE_PREFIX: prefix('bootstrap'),
      PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
      METRICS_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    const first = start('apps/pushcast/src/main.ts', env);
    const token = await waitFor('the token on stdout', () => first.output().stdout.match(/shown only this once:\n\s+(pc_\S+)/)?.[1]);
    const apiUrl = first.output().stdout.match(/API at (http:\/\/\S+\/api\/v1)/)![1]!;
    expect((await call(apiUrl, 'POST', '/senders', { token, body: { name: 'first' } })).status).toBe(201);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);

    const second = start('apps/pushcast/src/main.ts', env);
    await waitFor('the second start', () => (second.output().stdout.includes('Admin tokens exist already') ? true : undefined));
    expect(second.output().stdout).not.toMatch(/pc_/);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});

describe('configuration errors stop the process with a message naming the variable', () => {
  it.each([
    ['PORT', 'not-a-port'],
    ['DATABASE_URL', 'mysql://x'],
    ['REDIS_URL', 'http://127.0.0.1:6379'],
    ['PUSHCAST_ADMIN_TOKEN', 'short'],
    ['PUSHCAST_ALLOWED_PUSH_HOSTS', '127.0.0.1,bad host!'],
  ])('%s=%s', async (variable, value) => {
    const proc = start('apps/api/src/main.ts', { [variable]: value });
    expect(await proc.exited).toBe(78);
    expect(proc.output().stderr).toContain(`configuration error: ${variable}`);
  });
});

describe('migrations', () => {
  it('are applied once, even by processes starting together', async () => {
    const { createDb, ensureDatabase, migrate, migrationsApplied, listMigrations } = await import('@pushcast/store');
    const database = freshDatabaseUrl('migrate');
    databases.push(database);
    await ensureDatabase(database.url);
    await ensureDatabase(database.url); // a second call on an existing database is harmless
    const pools = [createDb(database.url, 2), createDb(database.url, 2), createDb(database.url, 2)];
    try {
      expect(await migrationsApplied(pools[0]!)).toBe(false);
      const results = await Promise.all(pools.map((p) => migrate(p)));
      const known = (await listMigrations()).map((m) => m.version);
      expect(results.flat().sort((a, b) => a - b)).toEqual(known);
      expect(await migrationsApplied(pools[0]!)).toBe(true);
      expect(await migrate(pools[0]!)).toEqual([]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
