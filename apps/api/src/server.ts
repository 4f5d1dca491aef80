import { createQueues } from '@pushcast/queues';
import { createRedis, Ledger, QuotaCounter } from '@pushcast/redis-state';
import type { Runtime } from '@pushcast/runtime';
import { buildApp, type BuildAppOptions } from './app.ts';

export interface RunningApi {
  readonly url: string;
  close(): Promise<void>;
}

/** Builds the app from a runtime and listens on the configured port (tests may pass buildApp's test options). */
export async function startApi(
  { config, db, logger }: Runtime,
  testOptions: Pick<BuildAppOptions, 'checkAnswers' | 'onRoute'> = {},
): Promise<RunningApi> {
  const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
  // ioredis reconnects by itself; without a listener its errors print as unhandled while Redis is away.
  redis.on('error', (err: Error) => logger.warn({ err: err.message }, 'redis unavailable'));
  const queues = createQueues(redis, config.bullPrefix);
  const ledger = new Ledger(redis, config.redisStatePrefix);
  const quota = new QuotaCounter(redis, config.redisStatePrefix);
  const app = await buildApp({ config, db, queues, ledger, quota, logger, redis, ...testOptions });
  await app.listen({ port: config.port, host: config.host });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = config.publicUrl ?? `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  return {
    url,
    async close() {
      await app.close();
      await queues.close();
      redis.disconnect();
    },
  };
}
