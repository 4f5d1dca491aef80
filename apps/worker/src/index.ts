export { startWorker, type RunningWorker, type WorkerOptions } from "./worker.ts";
export { createWebhookTransport, type PostResult, type WebhookPoster } from "./webhooks/transport.ts";
