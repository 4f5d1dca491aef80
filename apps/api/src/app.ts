import type { Config } from '@pushcast/config';
import { assertSafeInput, parseJsonBody } from '@pushcast/core';
import { PushcastError, type Principal } from '@pushcast/domain';
import type { Queues } from '@pushcast/queues';
import type { Ledger, QuotaCounter } from '@pushcast/redis-state';
import { listenForCompletions, type Db } from '@pushcast/store';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RouteOptions } from 'fastify';
import { maxHeaderSize } from 'node:http';
import type { Logger } from 'pino';
import { createAuthenticator } from './auth.ts';
import type { ApiDeps } from './deps.ts';
import { makeClientErrorHandler } from './client-errors.ts';
import { drainRequest } from './drain-body.ts';
import { isBodyTooLarge, sendError } from './http-errors.ts';
import { createRedis } from '@pushcast/redis-state';
import { registerOperations } from './operations.ts';
import { registerRateLimit } from './rate-limit.ts';
import { accessTokenRoutes } from './routes/access-tokens.ts';
import { projectRoutes } from './routes/projects.ts';
import { senderRoutes } from './routes/senders.ts';
import { subscriptionBulkRoutes } from './routes/subscription-bulk.ts';
import { subscriptionRoutes } from './routes/subscriptions.ts';
import { notificationRoutes } from './routes/notifications.ts';
import { deliveryRecordRoutes } from './routes/delivery-records.ts';
import { quotaRoutes } from './routes/quota.ts';
import { statisticsRoutes } from './routes/statistics.ts';
import { consoleRoutes } from './console/routes.ts';
import { webhookRoutes } from './routes/webhooks.ts';
import { secretKeyRoutes } from './routes/secret-keys.ts';
import { browserRoutes } from './routes/public/index.ts';
import { beamsRoutes, isBeamsPath } from './routes/beams/index.ts';
import { sendBeamsError } from './routes/beams/errors.ts';
import { CLOUDSIGNAL_PREFIX, cloudSignalRoutes, isCloudSignalPath } from './routes/cloudsignal/index.ts';
import { sendCloudSignalError } from './routes/cloudsignal/errors.ts';
import { checkAnswersAgainstDocument, type ContractCheck } from './openapi/contract.ts';
import { registerOpenApi } from './openapi/document.ts';
import { documentationOnlySchemas } from './openapi/route-schemas.ts';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface BuildAppOptions {
  readonly config: Config;
  readonly db: Db;
  readonly queues: Queues;
  readonly ledger: Ledger;
  readonly quota: QuotaCounter;
  readonly logger: Logger;
  /** The API's Redis connection (fails fast): /readyz pings it. */
  readonly redis: ReturnType<typeof createRedis>;
  /** Tests: told of every answer the OpenAPI document does not describe (openapi/contract.ts). */
  readonly checkAnswers?: ContractCheck;
  /** Tests: told of every route as it is registered. */
  readonly onRoute?: (route: RouteOptions) => void;
}

const BODY_LIMIT = 1024 * 1024;
/** How much of a refused body is read (and dropped) before answering, at most, and for how long. */
const DRAIN_LIMIT = 16 * BODY_LIMIT;
const DRAIN_MS = 10_000;

/** Builds the HTTP app; it does not listen (main.ts does, tests use real sockets or inject). */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { config, db, queues, ledger, quota, logger, redis } = options;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT,
    // Who X-Forwarded-For may name as the client (the browser endpoints are limited per address).
    trustProxy: typeof config.trustProxy === 'number' ? hopsOf(config.trustProxy) : (config.trustProxy as boolean | string[]),
    // Keys of the querystring like `uids[]` stay literal; repeated keys become arrays.
    routerOptions: { ignoreTrailingSlash: true },
    // The router's own refusals (a path that is not UTF-8, a parameter over 100 characters) and
    // Node's (headers too large, not HTTP) in Pushcast's error shape too.
    frameworkErrors: (error, request, reply) =>
      isBeamsPath(request.url)
        ? sendBeamsError(reply, request, error)
        : isCloudSignalPath(request.url)
          ? sendCloudSignalError(reply, request, error)
          : sendError(reply, request, error),
    clientErrorHandler: makeClientErrorHandler(logger, maxHeaderSize),
  });
  // One LISTEN connection, opened by the first request that waits for a notification's outcomes.
  const completions = listenForCompletions(config.databaseUrl, (err) => logger.warn({ err }, 'notification completion notices lost; waiting requests poll'));
  app.addHook('onClose', () => completions.close());
  const deps: ApiDeps = { config, db, queues, ledger, quota, logger, auth: createAuthenticator(db, config.adminToken), completions };

  // Bodies are checked whole before anything parses them further: NUL characters, lone surrogates
  // and deep nesting are 422s here (see @pushcast/core's safe-value.ts); a blank body is no body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
  // The same for query strings and path parameters, before any route reads them.
  app.addHook('preValidation', async (request) => {
    assertSafeInput(request.query, 'query');
    assertSafeInput(request.params, 'params');
  });
  app.setErrorHandler(async (error, request, reply) => {
    // A body refused for its size is read to its end first, so that the client gets to read the
    // answer; the connection stays open if the whole body came.
    if (isBodyTooLarge(error) && (await drainRequest(request.raw, DRAIN_LIMIT, DRAIN_MS))) reply.removeHeader('connection');
    return sendError(reply, request, error);
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, request, new PushcastError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)),
  );
  app.decorateRequest('principal', null as never);
  if (options.onRoute) app.addHook('onRoute', options.onRoute);
  // The OpenAPI document collects the routes added after it; /api/v1/openapi.json and /docs.
  await registerOpenApi(app, { publicUrl: config.publicUrl });
  if (options.checkAnswers) checkAnswersAgainstDocument(app, options.checkAnswers);
  const limiterRedis = config.apiRateLimitPerMinute > 0 ? ownRedis(app, config.redisUrl, config.redisCluster) : null;
  // /metrics, /readyz, Bull Board, and the request metrics hook, before the routes it measures.
  await registerOperations(app, { db, redis, queues, auth: deps.auth, bullPrefix: config.bullPrefix, logger });

  await app.register(
    async (api) => {
      documentationOnlySchemas(api);
      api.addHook('onRequest', async (request) => {
        request.principal = await deps.auth.authenticate(request);
      });
      // After authentication (it counts per token), before the routes (it hooks each route as added).
      if (limiterRedis) {
        await registerRateLimit(api, { perMinute: config.apiRateLimitPerMinute, redis: limiterRedis, prefix: config.redisStatePrefix, logger });
      }
      await api.register(senderRoutes, deps);
      await api.register(projectRoutes, deps);
      await api.register(subscriptionRoutes, deps);
      await api.register(subscriptionBulkRoutes, deps);
      await api.register(notificationRoutes, deps);
      await api.register(deliveryRecordRoutes, deps);
      await api.register(quotaRoutes, deps);
      await api.register(statisticsRoutes, deps);
      await api.register(webhookRoutes, deps);
      await api.register(secretKeyRoutes, deps);
      await api.register(accessTokenRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
  // The browser side (no token): /sdk/*, and its own /api/v1 routes outside the authenticated scope.
  await app.register(browserRoutes, { deps, logger });
  // Pusher Beams' APIs (/publish_api, …) at the root, as Beams serves them.
  await app.register(beamsRoutes, { deps, drain: { maxBytes: DRAIN_LIMIT, maxMs: DRAIN_MS } });

  // CloudSignal's push API (/v2/push), authenticated by project secret keys.
  await app.register(cloudSignalRoutes, { prefix: CLOUDSIGNAL_PREFIX, deps, drain: { maxBytes: DRAIN_LIMIT, maxMs: DRAIN_MS } });
  // The console (a web page, a client of /api/v1 like any other).
  await app.register(consoleRoutes);

  app.get('/healthz', async () => ({ status: 'ok' }));
  return app;
}

/**
 * The rate limiter's own Redis connection, closed with the app: failing fast (no offline queue),
 * since the limiter lets requests through while Redis is away rather than holding them.
 */
function ownRedis(app: FastifyInstance, url: string, cluster: boolean): ReturnType<typeof createRedis> {
  const redis = createRedis(url, 'producer', cluster);
  redis.on('error', () => {}); // it reconnects by itself; the limiter warns about what it let through
  app.addHook('onClose', async () => redis.disconnect());
  return redis;
}

/** PUSHCAST_TRUST_PROXY as a number of hops: the nearest `hops` proxies are trusted. */
function hopsOf(hops: number): (address: string, hop: number) => boolean {
  return (_address, hop) => hop < hops;
}
