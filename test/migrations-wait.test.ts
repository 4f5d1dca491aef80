import { afterAll, describe, expect, it } from 'vitest';
import { createDb, ensureDatabase, migrate } from '@pushcast/store';
import { freshDatabaseUrl } from './support/database.ts';
import { freePort, startProcess, waitFor, type Child } from './support/processes.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// With PUSHCAST_MIGRATE_ON_START=false (Kubernetes, compose: a migration job applies them), a
// process waits for the schema its code needs instead of running against an old one.

const database = freshDatabaseUrl('migwait');
const children: Child[] = [];
afterAll(async () => {
  for (const c of children) c.child.kill('SIGKILL');
  await Promise.all(children.map((c) => c.exited));
  await database.drop();
});

describe('PUSHCAST_MIGRATE_ON_START=false', () => {
  it('the API starts serving only once the migrations are applied', { timeout: 60_000 }, async () => {
    await ensureDatabase(database.url);
    const port = await freePort();
    const api = startProcess('apps/api/src/main.ts', {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: database.url,
      REDIS_URL: TEST_REDIS_URL,
      PUSHCAST_MIGRATE_ON_START: 'false',
      PUSHCAST_ADMIN_TOKEN: 'migration-wait-admin-token-0123456789',
      LOG_LEVEL: 'info',
    });
    children.push(api);
    const healthy = async () => {
      try {
        return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined;
      } catch {
        return undefined;
      }
    };
    await waitFor('the wait to be logged', () => (api.output().stdout.includes('waiting for migrations') ? true : undefined), 20_000);
    expect(await healthy()).toBeUndefined();

    const db = createDb(database.url, 1);
    try {
      expect((await migrate(db)).length).toBeGreaterThan(0);
    } finally {
      await db.end();
    }
    await waitFor('the API', healthy, 20_000);
  });
});
