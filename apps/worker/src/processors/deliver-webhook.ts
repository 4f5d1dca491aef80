import {
  BEAMS_WEBHOOK_RETRY_DELAYS_MS,
  BEAMS_WEBHOOK_TIMEOUT_MS,
  nextWebhookStep,
  WEBHOOK_RETRY_DELAYS_MS,
  type SecretKeyring,
  type WebhookAttemptResult,
} from '@pushcast/domain';
import type { WebhookAttemptOutcome } from '@pushcast/observability';
import type { ParsedJobData } from '@pushcast/queues';
import { loadWebhookDelivery, openWebhookSecrets, recordWebhookAttempt, type Db } from '@pushcast/store';
import type { Logger } from 'pino';
import { beamsRequest, signedHeaders } from '../webhooks/sign.ts';
import type { WebhookPoster } from '../webhooks/transport.ts';

export interface DeliverWebhookDeps {
  readonly db: Db;
  /** PUSHCAST_SECRET_KEY and PUSHCAST_SECRET_KEY_PREVIOUS: secrets are opened with the key they name. */
  readonly secretKeys: SecretKeyring;
  readonly post: WebhookPoster;
  readonly logger: Logger;
  readonly metrics?: { attempted(outcome: WebhookAttemptOutcome, durationMs: number): void; disabled(): void };
  /** Waits before the 2nd, 3rd, … attempt (tests shorten them). */
  readonly retryDelaysMs?: readonly number[];
  /** The same for webhooks of format `beams` (Beams' schedule by default). */
  readonly beamsRetryDelaysMs?: readonly number[];
}

const outcomeOf = (r: WebhookAttemptResult): WebhookAttemptOutcome =>
  r.status === null ? 'error' : r.status >= 200 && r.status < 300 ? 'delivered' : 'rejected';

/**
 * One attempt of one delivery: sign the event with the webhook's current secrets, POST it, and
 * record the attempt with what follows (delivered, another attempt later, failed; the webhook
 * disabled on a 410 or after 3 days of failures) in one statement. The job names the attempt it
 * makes: a job for an attempt already recorded (a re-run, a second hand-out) does nothing.
 */
export function makeDeliverWebhookProcessor(deps: DeliverWebhookDeps) {
  const standardDelays = deps.retryDelaysMs ?? WEBHOOK_RETRY_DELAYS_MS;
  const beamsDelays = deps.beamsRetryDelaysMs ?? BEAMS_WEBHOOK_RETRY_DELAYS_MS;
  return async ({ deliveryId, attempt }: ParsedJobData<'deliver-webhook'>): Promise<void> => {
    const d = await loadWebhookDelivery(deps.db, deliveryId);
    if (!d || d.status !== 'pending' || d.attempts !== attempt - 1 || !d.enabled) return;
    const log = deps.logger.child({ deliveryId, webhookId: d.webhookId, eventId: d.eventId, attempt });

    const secrets = await openWebhookSecrets(deps.db, deps.secretKeys, d.webhookId);
    let result: WebhookAttemptResult & { durationMs: number };
    if (!secrets.ok || secrets.value.length === 0) {
      // Nothing to sign with (no PUSHCAST_SECRET_KEY here, or another key): an unsigned request is
      // never sent; the attempt fails and is retried, so that fixing the key delivers it.
      result = { status: null, error: `not sent: the signing secret cannot be opened (${secrets.ok ? 'none' : secrets.error})`, durationMs: 0 };
    } else if (d.format === 'beams') {
      // Pusher Beams' request, signed with the newest secret, answered within Beams' 3 s.
      const { headers, body } = beamsRequest(secrets.value[0]!, d);
      result = await deps.post(d.url, headers, body, { timeoutMs: BEAMS_WEBHOOK_TIMEOUT_MS, userAgent: 'pusher-webhooks' });
    } else {
      const body = JSON.stringify({ type: d.type, timestamp: d.createdAt.toISOString(), data: d.data });
      result = await deps.post(d.url, signedHeaders(secrets.value, d.eventId, new Date(), body), body);
    }
    const delays = d.format === 'beams' ? beamsDelays : standardDelays;
    const step = nextWebhookStep(result, attempt, d.failingSince, new Date(), delays);
    const recorded = await recordWebhookAttempt(deps.db, {
      deliveryId,
      webhookId: d.webhookId,
      eventId: d.eventId,
      attempt,
      status: result.status,
      durationMs: result.durationMs,
      error: result.error ?? (step.delivery === 'delivered' ? null : `HTTP ${result.status}`),
      delivery: step.delivery === 'retry' ? 'pending' : step.delivery,
      nextAttemptAt: step.delivery === 'retry' ? step.nextAttemptAt : null,
      disable: step.delivery === 'failed' ? step.disable : null,
    });
    if (!recorded) return;
    deps.metrics?.attempted(outcomeOf(result), result.durationMs);
    if (step.delivery === 'failed' && step.disable !== null) {
      deps.metrics?.disabled();
      log.warn({ reason: step.disable }, 'webhook disabled');
    } else if (step.delivery !== 'delivered') {
      log.debug({ status: result.status, error: result.error, next: step.delivery }, 'webhook attempt failed');
    }
  };
}
