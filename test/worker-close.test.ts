import { Queue, Worker, type Processor } from 'bullmq';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedis } from '@pushcast/redis-state';
import { blockingClient, closeWorkers } from '../apps/worker/src/close-workers.ts';
import { startPrivateRedis, waitFor } from './support/processes.ts';

// A worker told to stop just after a Redis restart, or while Redis is down, still stops: BullMQ's
// own close never resolves when its blocking connection is between two reconnect attempts.

type PrivateRedis = Awaited<ReturnType<typeof startPrivateRedis>>;
let redis: PrivateRedis | undefined;
const opened: { disconnect(): void }[] = [];
const releases: (() => void)[] = [];
afterEach(async () => {
  for (const release of releases.splice(0)) release();
  for (const c of opened.splice(0)) c.disconnect();
  await redis?.stop();
  redis = undefined;
});

async function workersOn(url: string, n: number, processor: Processor = async () => {}) {
  const connections = Array.from({ length: n }, () => createRedis(url, 'worker'));
  opened.push(...connections);
  const workers = connections.map((connection, i) => new Worker(`close-${i}`, processor, { connection, prefix: 'pushcast-close-test' }));
  for (const w of workers) w.on('error', () => {});
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  const blocking = await Promise.all(workers.map(blockingClient));
  // BullMQ's own connections too: a worker left unclosed would otherwise go on reconnecting for
  // the rest of the test process (files share it, vitest.config.ts).
  for (const c of blocking) if (c !== undefined) opened.push(c as unknown as { disconnect(): void });
  return { connections, workers, blocking };
}

const logger = pino({ level: 'silent' });

describe('closing the queue workers', () => {
  it('finishes when Redis comes back while the connections wait between two reconnect attempts', async () => {
    redis = await startPrivateRedis();
    const { connections, workers, blocking } = await workersOn(redis.url, 3);
    expect(blocking.every((c) => c !== undefined)).toBe(true); // BullMQ still keeps it where closeWorkers looks
    await redis.stop();
    const clients = [...connections, ...blocking.map((c) => c!)];
    await waitFor('every connection between two attempts', () => (clients.every((c) => c.status === 'reconnecting') ? true : undefined));
    // Told to stop now; Redis comes back on the same port meanwhile.
    const closing = closeWorkers(workers, connections, { settleMs: 30_000, deadlineMs: 20_000, logger });
    redis = await startPrivateRedis(redis.port);
    expect(await closing).toBe(true);
    expect(workers.some((w) => w.isRunning())).toBe(false);
  }, 60_000);

  it('gives up at its deadline while Redis stays down, so that the process can exit', async () => {
    redis = await startPrivateRedis();
    // Each worker is running a job that does not finish: BullMQ's close waits for it, and with
    // Redis gone could not record its end anyway. (Without a running job, whether BullMQ's close
    // hangs with Redis down depended on timing: idle, it sometimes finished in time.)
    const stuck = new Promise<void>((resolve) => releases.push(resolve));
    const { connections, workers, blocking } = await workersOn(redis.url, 2, () => stuck);
    const producer = createRedis(redis.url, 'producer');
    producer.on('error', () => {});
    opened.push(producer);
    const running = Promise.all(workers.map((w) => new Promise<void>((resolve) => w.once('active', () => resolve()))));
    for (let i = 0; i < workers.length; i += 1) {
      const queue = new Queue(`close-${i}`, { connection: producer, prefix: 'pushcast-close-test' });
      queue.on('error', () => {});
      await queue.add('stuck', {});
    }
    await running;
    await redis.stop();
    redis = undefined;
    const clients = [...connections, ...blocking.map((c) => c!)];
    await waitFor('every connection lost', () => (clients.every((c) => c.status !== 'ready') ? true : undefined));
    expect(await closeWorkers(workers, connections, { settleMs: 500, deadlineMs: 2_000, logger })).toBe(false);
  }, 30_000);
});
