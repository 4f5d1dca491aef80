import { createRedis } from '@pushcast/redis-state';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ApiDeps } from '../../deps.ts';
import { openRoutes } from './opens.ts';
import { registerBrowserRateLimit } from './rate-limit.ts';
import { sdkRoutes } from './sdk.ts';
import { vapidKeyRoutes } from './vapid-key.ts';
import { webSubscriptionRoutes } from './web-subscriptions.ts';
import { documentationOnlySchemas } from '../../openapi/route-schemas.ts';

export interface BrowserRoutesOptions {
  readonly deps: ApiDeps;
  readonly logger: Logger;
}

/**
 * Everything a browser calls without an access token, outside the authenticated scope: the SDK
 * files under `/sdk`, and under `/api/v1` the VAPID key, the browser's own subscription and open
 * reports, limited per client address.
 */
export async function browserRoutes(app: FastifyInstance, { deps, logger }: BrowserRoutesOptions): Promise<void> {
  documentationOnlySchemas(app);
  await app.register(sdkRoutes, { prefix: '/sdk' });
  await app.register(
    async (api) => {
      const { config } = deps;
      if (config.browserRateLimitPerMinute > 0) {
        // Its own connection, failing fast: the limiter lets requests through while Redis is away.
        const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
        redis.on('error', () => {});
        api.addHook('onClose', async () => redis.disconnect());
        await registerBrowserRateLimit(api, { perMinute: config.browserRateLimitPerMinute, redis, prefix: config.redisStatePrefix, logger });
      }
      await api.register(vapidKeyRoutes, deps);
      await api.register(webSubscriptionRoutes, deps);
      await api.register(openRoutes, deps);
    },
    { prefix: '/api/v1' },
  );
}
