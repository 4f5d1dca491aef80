import { Cluster, Redis } from 'ioredis';

/** A connection to a single Redis or to a Redis Cluster: everything Pushcast does works on both. */
export type RedisConnection = Redis | Cluster;

/**
 * Workers block on Redis and must wait out a restart (`maxRetriesPerRequest: null`, as BullMQ
 * requires); producers answer HTTP requests and must fail fast instead of queueing commands
 * while Redis is away. With `cluster`, `url` is one seed node; the others are discovered.
 */
export function createRedis(url: string, role: 'worker' | 'producer', cluster = false): RedisConnection {
  const options = {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    lazyConnect: false,
  };
  if (!cluster) return new Redis(url, options);
  const seed = new URL(url);
  return new Cluster([{ host: seed.hostname, port: Number(seed.port || 6379) }], {
    enableOfflineQueue: role === 'worker',
    redisOptions: {
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      ...(seed.password ? { password: decodeURIComponent(seed.password) } : {}),
      ...(seed.username ? { username: decodeURIComponent(seed.username) } : {}),
      ...(seed.protocol === 'rediss:' ? { tls: {} } : {}),
    },
  });
}
