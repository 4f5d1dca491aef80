import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { withTimeout } from './timeout.ts';

/** The states counted; `prioritized` matters: chunks are prioritized jobs (fairness), not waiting ones. */
export const QUEUE_STATES = ['waiting', 'prioritized', 'delayed', 'active', 'failed'] as const;

export interface QueueDepthOptions {
  /** A scrape gives up on Redis after this long. Default 2,000 ms (Prometheus' scrape timeout is 10 s). */
  readonly timeoutMs?: number;
  /** Told when Redis did not answer; the scrape then carries no queue samples rather than stale ones. */
  readonly onError?: (error: unknown) => void;
}

/**
 * `pushcast_queue_jobs{queue, state}`: read from BullMQ (`getJobCounts`, one LLEN/ZCARD per state
 * and queue) when Prometheus scrapes, never on a timer. The queues are the caller's, with its prefix.
 */
export function registerQueueDepth(registry: Registry, queues: readonly Queue[], options: QueueDepthOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 2_000;
  new Gauge({
    name: 'pushcast_queue_jobs',
    help: 'Jobs in each queue by state (waiting, prioritized, delayed, active, failed), read from Redis at scrape time',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      let counts: Record<string, number>[];
      try {
        counts = await withTimeout(Promise.all(queues.map((q) => q.getJobCounts(...QUEUE_STATES))), timeoutMs);
      } catch (error) {
        this.reset();
        options.onError?.(error);
        return;
      }
      this.reset();
      queues.forEach((queue, i) => {
        for (const state of QUEUE_STATES) this.set({ queue: queue.name, state }, counts[i]?.[state] ?? 0);
      });
    },
  });
}
