import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@pushcast/config';
import { createLogger } from '@pushcast/runtime';
import { startWorker } from '@pushcast/worker';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startTestServer, TEST_REDIS_URL, type TestServer } from './support/server.ts';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer('purge');
});
afterAll(async () => server?.close());

async function counts(projectId: number) {
  const { rows } = await server.db.query(
    `SELECT (SELECT count(*) FROM projects WHERE id = $1)::int AS projects,
            (SELECT count(*) FROM subscriptions WHERE project_id = $1)::int AS subscriptions`,
    [projectId],
  );
  return rows[0] as { projects: number; subscriptions: number };
}

describe('deleting a project (202, asynchronous)', () => {
  it('is purged by the periodic sweep even when Redis lost the purge job', async () => {
    const { projectId } = await createProject(server, 'doomed');
    const kept = (await createProject(server, 'kept')).projectId;
    for (const id of [projectId, kept]) {
      for (let i = 0; i < 3; i += 1) {
        await call(server.apiUrl, 'POST', `/projects/${id}/subscriptions`, {
          token: server.adminToken,
          body: { endpoint: localEndpoint(), ...browserKeys() },
        });
      }
    }
    expect((await call(server.apiUrl, 'DELETE', `/projects/${projectId}`, { token: server.adminToken })).status).toBe(202);
    // A second delete of the same project: already gone for the API.
    expect((await call(server.apiUrl, 'DELETE', `/projects/${projectId}`, { token: server.adminToken })).status).toBe(404);

    // Redis comes back empty: the purge job the API enqueued is gone.
    const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue('maintenance', { connection: redis, prefix: server.queuePrefix });
    await queue.obliterate({ force: true });
    await queue.close();
    expect(await counts(projectId)).toEqual({ projects: 1, subscriptions: 3 });

    const config = loadConfig({ DATABASE_URL: server.databaseUrl, REDIS_URL: TEST_REDIS_URL, PUSHCAST_QUEUE_PREFIX: server.queuePrefix, METRICS_PORT: '0' });
    const worker = await startWorker({ config, db: server.db, logger: createLogger('silent', 'test') }, { sweepEveryMs: 200 });
    try {
      const until = Date.now() + 20_000;
      while ((await counts(projectId)).projects !== 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      expect(await counts(projectId)).toEqual({ projects: 0, subscriptions: 0 });
      expect(await counts(kept)).toEqual({ projects: 1, subscriptions: 3 });
    } finally {
      await worker.close();
      redis.disconnect();
    }
  });
});
