import { PushcastError } from '@pushcast/domain';
import { createRedis } from '@pushcast/redis-state';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { drainRequest } from '../../drain-body.ts';
import { isBodyTooLarge } from '../../http-errors.ts';
import { registerWindowLimit } from '../../rate-limit.ts';
import { sendBeamsError } from './errors.ts';
import { beamsDeviceRoutes } from './devices.ts';
import { beamsPublishRoutes } from './publish.ts';
import { beamsReportingRoutes } from './reporting.ts';
import { beamsUserRoutes } from './users.ts';
import { beamsWebSdkRoutes } from './web-sdk.ts';
import { documentationOnlySchemas } from '../../openapi/route-schemas.ts';

export { isBeamsPath } from './paths.ts';

/** Beams' limit on its Publish API and on deleting users: requests per second, per instance, over every API replica. */
export const BEAMS_REQUESTS_PER_SECOND = 100;

export interface BeamsRoutesOptions {
  readonly deps: ApiDeps;
  /** How much of a body refused for its size is read before answering, and for how long. */
  readonly drain: { readonly maxBytes: number; readonly maxMs: number };
}

/**
 * Pusher Beams' APIs at the root of the server, as Beams serves them (Beams' SDKs are given
 * Pushcast's host instead of `{instanceId}.pushnotifications.pusher.com`). Each API is a scope with
 * Beams' error shape; the use cases are the core's.
 */
export async function beamsRoutes(app: FastifyInstance, { deps, drain }: BeamsRoutesOptions): Promise<void> {
  // The routes' zod schemas document them (tag Beams); the handlers read their input with them.
  documentationOnlySchemas(app);
  // [prefix, routes, counted against Beams' limit of requests per second and instance]
  const scopes: [string, (scope: FastifyInstance, deps: ApiDeps) => Promise<void>, boolean][] = [
    ['/publish_api', beamsPublishRoutes, true],
    ['/device_api', beamsDeviceRoutes, false],
    ['/customer_api', beamsUserRoutes, true],
    ['/user_api', beamsUserRoutes, true],
    ['/reporting_api', beamsReportingRoutes, false],
  ];
  // Its own connection, failing fast: the limiter lets requests through while Redis is away.
  const { config, logger } = deps;
  const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
  redis.on('error', () => {});
  app.addHook('onClose', async () => redis.disconnect());
  for (const [prefix, routes, limited] of scopes) {
    await app.register(
      async (scope) => {
        scope.setErrorHandler(async (error, request, reply) => {
          if (isBodyTooLarge(error) && (await drainRequest(request.raw, drain.maxBytes, drain.maxMs))) reply.removeHeader('connection');
          return sendBeamsError(reply, request, error);
        });
        scope.setNotFoundHandler((request, reply) =>
          sendBeamsError(reply, request, new PushcastError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)),
        );
        if (limited) {
          await registerWindowLimit(
            scope,
            { perMinute: BEAMS_REQUESTS_PER_SECOND, redis, prefix: config.redisStatePrefix, logger },
            {
              key: (request) => {
                const instanceId = (request.params as { instanceId?: unknown } | undefined)?.instanceId;
                return typeof instanceId === 'string' ? `beams:${instanceId}` : null;
              },
              who: 'this instance',
              window: { ms: 1000, name: 'second' },
            },
          );
        }
        await routes(scope, deps);
      },
      { prefix },
    );
  }
  // Beams' web SDK and service worker scripts, from its npm package.
  await app.register(beamsWebSdkRoutes, { prefix: '/beams' });
}
