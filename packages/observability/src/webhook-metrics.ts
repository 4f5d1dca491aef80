import { Counter, Histogram, type Registry } from 'prom-client';

/** What one webhook attempt got: a 2xx, another status, or no answer (timeout, refused, reset, a private address). */
export type WebhookAttemptOutcome = 'delivered' | 'rejected' | 'error';

const BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15];

/** Webhook attempts and how long they took, and webhooks Pushcast disabled. */
export class WebhookMetrics {
  readonly #attempts: Counter<'outcome'>;
  readonly #seconds: Histogram<'outcome'>;
  readonly #disabled: Counter;

  constructor(registry: Registry) {
    const registers = [registry];
    this.#attempts = new Counter({
      name: 'pushcast_webhook_attempts_total',
      help: 'Webhook requests made, by outcome: delivered (2xx), rejected (another status), error (no answer: timeout, refused, reset, a private address)',
      labelNames: ['outcome'],
      registers,
    });
    this.#seconds = new Histogram({
      name: 'pushcast_webhook_request_duration_seconds',
      help: 'Time from a webhook request leaving until its answer is read or it fails (at most the 15 s timeout)',
      labelNames: ['outcome'],
      buckets: BUCKETS,
      registers,
    });
    this.#disabled = new Counter({
      name: 'pushcast_webhooks_disabled_total',
      help: 'Webhooks Pushcast disabled: an endpoint that answered 410, or failed every attempt for 3 days',
      registers,
    });
  }

  attempted(outcome: WebhookAttemptOutcome, durationMs: number): void {
    this.#attempts.inc({ outcome });
    this.#seconds.observe({ outcome }, durationMs / 1000);
  }

  disabled(): void {
    this.#disabled.inc();
  }
}
