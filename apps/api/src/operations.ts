import { checkReadiness, createRegistry, HttpMetrics, registerQueueDepth } from '@pushcast/observability';
import { queueNames, type Queues } from '@pushcast/queues';
import type { createRedis } from '@pushcast/redis-state';
import type { Db } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Authenticator } from './auth.ts';
import { registerBullBoard } from './bull-board.ts';

export interface OperationsDeps {
  readonly db: Db;
  /** The API's own Redis connection (fails fast while Redis is away): readiness pings it. */
  readonly redis: ReturnType<typeof createRedis>;
  readonly queues: Queues;
  readonly auth: Authenticator;
  /** BullMQ's key prefix (the queue prefix, hash-tagged on a Redis Cluster). */
  readonly bullPrefix: string;
  readonly logger: Logger;
}

/**
 * What operators and Kubernetes use, beside the API: `GET /metrics` (Prometheus text, this app's
 * own registry), `GET /readyz` (Redis, PostgreSQL, migrations), Bull Board at /admin/queues, and
 * request metrics for every route. Called before any route is added, so that its hook sees them all.
 */
export async function registerOperations(app: FastifyInstance, deps: OperationsDeps): Promise<void> {
  const registry = createRegistry();
  const http = new HttpMetrics(registry);
  registerQueueDepth(
    registry,
    queueNames.map((name) => deps.queues.queue(name)),
    { onError: (err) => deps.logger.warn({ err }, 'queue depth not read from Redis') },
  );
  app.addHook('onResponse', async (request, reply) => {
    // The route's pattern (`/api/v1/projects/:id`), never the raw URL; undefined when nothing matched.
    http.observe(request.method, request.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await registry.metrics();
    return reply.type(registry.contentType).send(text);
  });
  app.get('/readyz', async (_request, reply) => {
    const readiness = await checkReadiness({
      redis: deps.redis,
      db: deps.db,
      onError: (check, err) => deps.logger.debug({ err, check }, 'not ready'),
    });
    return reply.code(readiness.status === 'ready' ? 200 : 503).header('cache-control', 'no-store').send(readiness);
  });

  await registerBullBoard(app, { queues: deps.queues, auth: deps.auth, prefix: deps.bullPrefix });
}
