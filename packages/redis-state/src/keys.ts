import type { RedisConnection } from './connection.ts';

/** Removes every key under a prefix (a test's or the demo's own), without blocking Redis. */
export async function deleteKeysWithPrefix(redis: RedisConnection, prefix: string): Promise<void> {
  // On a cluster every master holds a share of the keys, and one command may touch one slot only.
  const cluster = 'nodes' in redis;
  for (const node of cluster ? redis.nodes('master') : [redis]) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      if (!cluster && keys.length > 0) await node.unlink(...keys);
      else for (const key of keys) await node.unlink(key);
      cursor = next;
    } while (cursor !== '0');
  }
}
