import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { jobCatalogue, queueNames, type JobData, type JobName, type QueueName } from './catalogue.ts';

export interface Queues {
  /** Validates the data against the catalogue and adds the job with its declared options. */
  enqueue<N extends JobName>(name: N, data: JobData<N>, opts?: { jobId?: string; delay?: number }): Promise<void>;
  queue(name: QueueName): Queue;
  close(): Promise<void>;
}

export function createQueues(connection: Redis, prefix: string): Queues {
  const byName = new Map(queueNames.map((n) => [n, new Queue(n, { connection, prefix })] as const));
  const queue = (name: QueueName): Queue => byName.get(name)!;
  return {
    queue,
    async enqueue(name, data, opts = {}) {
      const entry = jobCatalogue[name];
      const parsed = entry.schema.parse(data);
      await queue(entry.queue).add(name, parsed, { ...entry.options, ...opts });
    },
    async close() {
      await Promise.all([...byName.values()].map((q) => q.close()));
    },
  };
}
