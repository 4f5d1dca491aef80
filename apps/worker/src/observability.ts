import type { Config } from '@pushcast/config';
import { checkReadiness, createRegistry, registerQueueDepth, SendMetrics, startMetricsServer, WebhookMetrics } from '@pushcast/observability';
import { createQueues, queueNames } from '@pushcast/queues';
import { createRedis } from '@pushcast/redis-state';
import type { Db } from '@pushcast/store';
import type { Logger } from 'pino';

export interface WorkerObservability {
  /** Counters of what this worker's chunks and provider clients did. */
  readonly metrics: SendMetrics;
  /** Webhook attempts, their durations, and webhooks disabled. */
  readonly webhookMetrics: WebhookMetrics;
  /** The port /metrics, /healthz and /readyz are served on (METRICS_PORT, or the free one 0 picked). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A worker's registry (its own: several workers may share a process) and its small HTTP server on
 * METRICS_PORT. Queue depth and readiness read Redis through a connection of their own that fails
 * fast, unlike the worker's, which waits out a Redis restart and would hold a probe until then.
 */
export async function startWorkerObservability(config: Config, db: Db, logger: Logger): Promise<WorkerObservability> {
  const registry = createRegistry();
  const metrics = new SendMetrics(registry);
  const webhookMetrics = new WebhookMetrics(registry);
  const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
  redis.on('error', () => {}); // reconnects by itself; /readyz says when Redis is away
  const queues = createQueues(redis, config.bullPrefix);
  // BullMQ prints a queue's connection errors to the console unless someone listens; the scrape reports them.
  for (const name of queueNames) queues.queue(name).on('error', () => {});
  registerQueueDepth(
    registry,
    queueNames.map((name) => queues.queue(name)),
    { onError: (err) => logger.warn({ err }, 'queue depth not read from Redis') },
  );
  const close = async () => {
    await queues.close();
    redis.disconnect();
  };
  try {
    const server = await startMetricsServer({
      registry,
      readiness: () => checkReadiness({ redis, db, onError: (check, err) => logger.debug({ err, check }, 'not ready') }),
      host: config.host,
      port: config.metricsPort,
      onError: (err) => logger.error({ err }, 'metrics not served'),
    });
    logger.info({ port: server.port }, 'metrics, /healthz and /readyz served');
    return {
      metrics,
      webhookMetrics,
      port: server.port,
      async close() {
        await server.close();
        await close();
      },
    };
  } catch (error) {
    await close();
    throw new Error(`METRICS_PORT ${config.metricsPort}: ${(error as Error).message}`, { cause: error });
  }
}
