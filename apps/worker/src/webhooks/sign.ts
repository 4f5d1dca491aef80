import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/**
 * The Standard Webhooks headers of one attempt, signed with every secret that signs now (two during
 * a rotation's overlap: `v1,<new> v1,<old>`). `webhook-id` is the event's id, the same on every
 * retry; the timestamp is the attempt's, so that receivers' 5-minute tolerance holds for retries.
 */
export function signedHeaders(secrets: readonly string[], eventId: string, at: Date, body: string): Record<string, string> {
  return {
    'webhook-id': eventId,
    'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
    'webhook-signature': secrets.map((s) => new Webhook(s).sign(eventId, at, body)).join(' '),
  };
}

/** What a Beams webhook request carries about the event (docs: Webhooks, Request format). */
export interface BeamsRequest {
  readonly webhookUuid: string;
  readonly eventId: string;
  readonly type: string;
  readonly createdAt: Date;
  readonly data: unknown;
  readonly customData: Readonly<Record<string, unknown>>;
}

/** Beams' `created_at`: `2019-03-11T10:42:16+0000`. */
const beamsTime = (d: Date): string => `${d.toISOString().slice(0, 19)}+0000`;

/**
 * A Pusher Beams webhook request: `{payload, metadata, custom_data}`, and `Webhook-Signature`, the
 * hex HMAC-SHA1 of the body keyed by the secret's text (Beams' receivers compute exactly that). One
 * signature: during a rotation's overlap the newest secret signs, as Beams has one secret a webhook.
 */
export function beamsRequest(secret: string, r: BeamsRequest): { headers: Record<string, string>; body: string } {
  const body = JSON.stringify({
    payload: r.data,
    metadata: { created_at: beamsTime(r.createdAt), event_type: r.type, event_id: r.eventId, product: 'beams' },
    custom_data: r.customData,
  });
  return {
    body,
    headers: {
      'webhook-event-type': r.type,
      'webhook-id-uuid': r.webhookUuid,
      // The same on every retry of this event to this webhook: receivers tell repeats apart by it.
      'webhook-request-id-uuid': r.eventId,
      'webhook-signature': createHmac('sha1', secret).update(body).digest('hex'),
    },
  };
}
