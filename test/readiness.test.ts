import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningWorker } from '@pushcast/worker';
import { startPipeline, type Pipeline } from './support/pipeline.ts';
import { startPrivateRedis, waitFor } from './support/processes.ts';
import { scrape } from './support/prometheus.ts';

// /healthz and /readyz on the API and on a worker's metrics port, over a Redis of the test's own
// that it stops and starts again on the same port: readiness follows without a restart.

let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
let p: Pipeline;
let worker: RunningWorker;
let api: string;
let workerBase: string;
beforeAll(async () => {
  redis = await startPrivateRedis();
  p = await startPipeline('readyz', { REDIS_URL: redis.url });
  worker = await p.startWorker();
  api = p.server.url;
  workerBase = `http://127.0.0.1:${worker.metricsPort}`;
});
afterAll(async () => {
  // The worker closes although its connections were dropped by the Redis restart (closeWorkers:
  // BullMQ's own close hung here on a blocking connection between reconnect attempts).
  await p?.close();
  await redis?.stop();
});

interface Probe {
  readonly status: number;
  readonly body: { status: string; checks: Record<string, string>; not_ready: string[] };
}
const probe = async (base: string, path = '/readyz'): Promise<Probe> => {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Probe['body'] };
};
/** Polls until `base`'s /readyz answers `status`, and returns that answer. */
const readyzBecomes = (base: string, status: number, ms = 15_000) =>
  waitFor(`${base}/readyz → ${status}`, async () => {
    const r = await probe(base);
    return r.status === status ? r : undefined;
  }, ms);

const READY = { status: 'ready', checks: { redis: 'ok', postgres: 'ok', migrations: 'ok' }, not_ready: [] };

describe('/healthz and /readyz', () => {
  it('are ready with Redis, PostgreSQL and every migration', async () => {
    for (const base of [api, workerBase]) {
      expect(await probe(base)).toEqual({ status: 200, body: READY });
      expect((await probe(base, '/healthz')).status).toBe(200);
    }
  });

  it('turn unready (503 naming redis) when Redis stops, stay alive, and are ready again when it is back on the same port', async () => {
    await redis.stop();
    for (const base of [api, workerBase]) {
      const unready = await readyzBecomes(base, 503, 10_000);
      expect(unready.body).toEqual({
        status: 'not_ready',
        checks: { redis: 'unreachable', postgres: 'ok', migrations: 'ok' },
        not_ready: ['redis'],
      });
      expect((await probe(base, '/healthz')).status).toBe(200);
      // A scrape does not wait for Redis: it answers at once, without queue samples.
      const started = Date.now();
      const metrics = await scrape(`${base}/metrics`);
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(metrics.samples.filter((s) => s.name === 'pushcast_queue_jobs')).toEqual([]);
    }

    redis = await startPrivateRedis(redis.port);
    for (const base of [api, workerBase]) expect((await readyzBecomes(base, 200)).body).toEqual(READY);
    const metrics = await scrape(`${workerBase}/metrics`);
    expect(metrics.samples.filter((s) => s.name === 'pushcast_queue_jobs').length).toBeGreaterThan(0);
  });

  it('turn unready (503 naming migrations) while a migration this code knows is not applied', async () => {
    const { rows } = await p.server.db.query<{ version: number; name: string }>(
      'DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations) RETURNING version, name',
    );
    try {
      for (const base of [api, workerBase]) {
        expect(await probe(base)).toEqual({
          status: 503,
          body: { status: 'not_ready', checks: { redis: 'ok', postgres: 'ok', migrations: 'pending' }, not_ready: ['migrations'] },
        });
      }
    } finally {
      await p.server.db.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [rows[0]!.version, rows[0]!.name]);
    }
    for (const base of [api, workerBase]) expect(await probe(base)).toEqual({ status: 200, body: READY });
  });
});
