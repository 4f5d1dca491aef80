export { createRegistry, METRIC_PREFIX } from './registry.ts';
export { WebhookMetrics, type WebhookAttemptOutcome } from './webhook-metrics.ts';
export { SendMetrics, type Provider, type SendOutcomeLabel } from './send-metrics.ts';
export { HttpMetrics, UNMATCHED_ROUTE } from './http-metrics.ts';
export { registerQueueDepth, QUEUE_STATES, type QueueDepthOptions } from './queue-depth.ts';
export { checkReadiness, type CheckResult, type Readiness, type ReadinessCheck, type ReadinessDeps } from './readiness.ts';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export type { Registry } from 'prom-client';
