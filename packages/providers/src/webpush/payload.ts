/**
 * The largest plaintext that fits one aes128gcm record of 4096 bytes, the body size every push
 * service must accept (RFC 8030 §7.2) and the most RFC 8291 §4 allows:
 *
 *     4096  body
 *   −   86  header: salt 16 + record size 4 + key id length 1 + sender public key 65
 *   −   16  AES-GCM tag
 *   −    1  padding delimiter (0x02, last record)
 *   = 3993
 *
 * web-push does not check it: a longer plaintext silently becomes a second record, which push
 * services reject with 413 or browsers drop.
 */
export const MAX_WEB_PUSH_PLAINTEXT = 3993;

export interface WebPushAction {
  title: string;
  targetUrl?: string | null;
  icon?: string | null;
  action?: string | null;
}

export interface WebPushNotification {
  id: number;
  title: string | null;
  body: string;
  targetUrl: string | null;
  iconUrl: string | null;
  badgeUrl: string | null;
  imageUrl: string | null;
  requireInteraction: boolean;
  silent: boolean;
  customData: string | null;
  actions: readonly WebPushAction[];
  /** Seconds the push service keeps the message for an offline device. */
  ttl: number;
  urgent: boolean;
  /** Replaces a pending message with the same topic at the push service; ignored unless valid. */
  topic?: string | null;
  /**
   * The recipient's open-tracking token (`OPEN_TOKEN_LENGTH` characters, fixed), written last as
   * `open_token`: the one field that differs per recipient.
   */
  openToken?: string | null;
  /**
   * The whole plaintext, given by the notification (exact payloads, e.g. a Beams `web` section):
   * sent as it is, without the fields above or an open-tracking token.
   */
  exact?: string;
}

export interface WebPushHeaders {
  TTL: string;
  Urgency: 'high' | 'normal';
  Topic?: string;
}

/**
 * The JSON the service worker reads. Keys are written in one fixed order so that the same
 * notification always yields the same bytes (and the same size against the limit).
 */
export function webPushPayload(n: WebPushNotification): string {
  if (n.exact !== undefined) return n.exact;
  const payload: Record<string, unknown> = { id: n.id };
  setIfPresent(payload, 'title', n.title);
  payload.body = n.body;
  setIfPresent(payload, 'icon', n.iconUrl);
  setIfPresent(payload, 'badge', n.badgeUrl);
  setIfPresent(payload, 'image', n.imageUrl);
  setIfPresent(payload, 'target_url', n.targetUrl);
  // Always an array, so that a service worker can map over it without a guard.
  payload.actions = n.actions.map((a) => {
    const action: Record<string, unknown> = { title: a.title };
    setIfPresent(action, 'target_url', a.targetUrl);
    setIfPresent(action, 'icon', a.icon);
    setIfPresent(action, 'action', a.action);
    return action;
  });
  payload.require_interaction = n.requireInteraction;
  payload.silent = n.silent;
  setIfPresent(payload, 'custom_data', n.customData);
  setIfPresent(payload, 'open_token', n.openToken);
  return JSON.stringify(payload);
}

/** Does this payload fit one record? Counted in UTF-8 bytes, not characters. */
export function fitsWebPushRecord(payload: string): boolean {
  return Buffer.byteLength(payload, 'utf8') <= MAX_WEB_PUSH_PLAINTEXT;
}

const TOPIC = /^[A-Za-z0-9_-]{1,32}$/;

/** RFC 8030 headers. A TTL that is not a non-negative number is a programmer error, so it throws. */
export function webPushHeaders(n: WebPushNotification): WebPushHeaders {
  if (!Number.isFinite(n.ttl) || n.ttl < 0) throw new RangeError(`ttl must be a non-negative number of seconds, got ${n.ttl}`);
  const headers: WebPushHeaders = { TTL: String(Math.floor(n.ttl)), Urgency: n.urgent ? 'high' : 'normal' };
  // An invalid topic makes push services reject the whole message; dropping it only loses coalescing.
  if (n.topic != null && TOPIC.test(n.topic)) headers.Topic = n.topic;
  return headers;
}

function setIfPresent(target: Record<string, unknown>, key: string, value: string | null | undefined): void {
  if (value != null) target[key] = value;
}
