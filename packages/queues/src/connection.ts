import { Redis } from 'ioredis';

/**
 * Workers block on Redis and must wait out a restart (`maxRetriesPerRequest: null`, as BullMQ
 * requires); producers answer HTTP requests and must fail fast instead of queueing commands
 * while Redis is away.
 */
export function createRedis(url: string, role: 'worker' | 'producer'): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: role === 'worker' ? null : 1,
    enableOfflineQueue: role === 'worker',
    lazyConnect: false,
  });
}
