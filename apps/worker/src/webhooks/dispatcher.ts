import { jobIds, type Queues } from '@pushcast/queues';
import { claimDueWebhookDeliveries, flushWebhookEventBatches, listenForWebhookEvents, purgeOldWebhookEvents, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

export interface WebhookDispatcherOptions {
  /** How often PostgreSQL is read for due deliveries besides the wake-ups (retries come due this way). */
  readonly pollMs?: number;
  /** How long a claimed delivery waits for its job before another dispatcher hands it out again. */
  readonly leaseMs?: number;
  /** A batched event's batch goes out once this old (tests shorten it). */
  readonly batchMaxAgeMs?: number;
}

export const WEBHOOK_POLL_MS = 1_000;
/** Longer than a job can wait in a busy queue plus the 15 s timeout. */
export const WEBHOOK_LEASE_MS = 120_000;
const BATCH = 200;
/** A batched event (notification.opened) goes out at 1,000 items, or once its batch is this old. */
export const WEBHOOK_BATCH_MAX_AGE_MS = 5_000;
/** Events (with their deliveries and attempts) are kept this long, then deleted by the hourly purge. */
export const WEBHOOK_EVENT_RETENTION_MS = 30 * 24 * 3600_000;
const PURGE_EVERY_MS = 3600_000;

/**
 * Hands due webhook deliveries from PostgreSQL (the outbox) to the `webhooks` queue: woken by
 * pushcast_emit_event's NOTIFY on a connection of its own, and polling besides. Claims are
 * `FOR UPDATE SKIP LOCKED` with a lease, so any number of workers dispatch without doubles, and a
 * job lost with Redis is handed out again when its lease ends.
 */
export function startWebhookDispatcher(
  deps: { db: Db; databaseUrl: string; queues: Queues; logger: Logger },
  options: WebhookDispatcherOptions = {},
): { close(): Promise<void> } {
  const leaseMs = options.leaseMs ?? WEBHOOK_LEASE_MS;
  let running: Promise<void> | null = null;
  let again = false;
  let closed = false;

  let lastPurge = 0;
  const dispatch = async () => {
    await flushWebhookEventBatches(deps.db, options.batchMaxAgeMs ?? WEBHOOK_BATCH_MAX_AGE_MS);
    if (Date.now() - lastPurge > PURGE_EVERY_MS) {
      lastPurge = Date.now();
      const purged = await purgeOldWebhookEvents(deps.db, WEBHOOK_EVENT_RETENTION_MS, 10_000);
      if (purged > 0) deps.logger.info({ purged }, 'old webhook events deleted');
    }
    do {
      again = false;
      const claimed = await claimDueWebhookDeliveries(deps.db, BATCH, leaseMs);
      await deps.queues.enqueueBulk(
        'deliver-webhook',
        claimed.map((c) => ({ data: { deliveryId: c.id, attempt: c.attempt }, opts: { jobId: jobIds.webhookDelivery(c.id, c.attempt) } })),
      );
      if (claimed.length === BATCH) again = true;
    } while (again && !closed);
  };
  const wake = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = dispatch()
      .catch((err: unknown) => deps.logger.warn({ err }, 'webhook deliveries not dispatched; they are tried again'))
      .finally(() => {
        running = null;
      });
  };

  const listener = listenForWebhookEvents(deps.databaseUrl, wake, (err) => deps.logger.debug({ err }, 'webhook wake-up connection lost'));
  const poll = setInterval(wake, options.pollMs ?? WEBHOOK_POLL_MS);
  poll.unref();
  wake();
  return {
    async close() {
      closed = true;
      clearInterval(poll);
      await listener.close();
      await running;
    },
  };
}
