import { Queue } from 'bullmq';
import type { RedisConnection } from '@pushcast/redis-state';
import { jobCatalogue, queueNames, type JobData, type JobName, type QueueName } from './catalogue.ts';

export interface EnqueueOptions {
  readonly jobId?: string;
  readonly delay?: number;
  /** 1 is served first; a job without one is served before any prioritized job (BullMQ). */
  readonly priority?: number;
}

export interface Queues {
  /** Validates the data against the catalogue and adds the job with its declared options. */
  enqueue<N extends JobName>(name: N, data: JobData<N>, opts?: EnqueueOptions): Promise<void>;
  /** Many jobs of one kind in one round trip; fixed ids make a partial failure safe to repeat. */
  enqueueBulk<N extends JobName>(name: N, jobs: readonly { data: JobData<N>; opts?: EnqueueOptions }[]): Promise<void>;
  /** Removes a waiting or delayed job; false if it is running or gone. */
  remove(queue: QueueName, jobId: string): Promise<boolean>;
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

export function createQueues(connection: RedisConnection, prefix: string): Queues {
  const byName = new Map(queueNames.map((n) => [n, new Queue(n, { connection, prefix })] as const));
  const queue = (name: QueueName): Queue => byName.get(name)!;
  return {
    queue,
    async enqueue(name, data, opts = {}) {
      const entry = jobCatalogue[name];
      await queue(entry.queue).add(name, entry.schema.parse(data), { ...entry.options, ...opts });
    },
    async enqueueBulk(name, jobs) {
      if (jobs.length === 0) return;
      const entry = jobCatalogue[name];
      await queue(entry.queue).addBulk(
        jobs.map((j) => ({ name, data: entry.schema.parse(j.data), opts: { ...entry.options, ...j.opts } })),
      );
    },
    async remove(queueName, jobId) {
      return (await queue(queueName).remove(jobId)) === 1;
    },
    async close() {
      await Promise.all([...byName.values()].map((q) => q.close()));
    },
  };
}
