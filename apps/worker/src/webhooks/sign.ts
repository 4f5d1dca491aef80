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
