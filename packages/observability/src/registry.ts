import { collectDefaultMetrics, Registry } from 'prom-client';

/** Every metric name Pushcast exposes starts with this, the process's own ones included. */
export const METRIC_PREFIX = 'pushcast_';

/**
 * A registry of this process instance's own, never prom-client's global one: tests run several
 * workers and APIs in one process, and each must count only what it did. Node.js process metrics
 * (CPU, memory, event loop lag, GC) come along, under `pushcast_process_…`/`pushcast_nodejs_…`.
 */
export function createRegistry(): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
