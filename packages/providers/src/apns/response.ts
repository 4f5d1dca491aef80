import type { SendOutcome } from '@pushcast/domain';
import { retryAfterTime } from '../webpush/response.ts';

const DELIVERED: SendOutcome = Object.freeze({ kind: 'delivered' });

/** How a request for one device failed: an APNs answer (status, Apple's reason) or no answer (`error`). */
export interface ApnsFailure {
  readonly status?: number;
  readonly response?: { readonly reason?: string };
  readonly error?: unknown;
  /** The answer's `retry-after`, as APNs sends it with a 429 or 503. */
  readonly retryAfterHeader?: string;
}

/** Reasons that mean the device token will never work again: prune the subscription. */
const GONE_REASONS = new Set(['Unregistered', 'BadDeviceToken']);

/**
 * The outcome of one APNs answer (Apple's "Handling notification responses from APNs"): 410 and
 * 400 BadDeviceToken prune; 429 and 5xx, ExpiredProviderToken and transport errors retry; other
 * 403s refuse the credential (`apns_InvalidProviderToken`); anything else fails with Apple's reason,
 * e.g. `apns_TopicDisallowed`.
 */
export function apnsOutcome(failure: ApnsFailure | undefined, now: number): SendOutcome {
  if (failure === undefined) return DELIVERED;
  const status = failure.status ?? 0;
  const reason = failure.response?.reason;
  if (!Number.isInteger(status) || status === 0) {
    // Timeout, reset, refused connection, TLS: APNs may not have seen it; try again. The code goes
    // into the reason, so that a certificate problem retried round after round shows in the logs.
    const code = errorCode(failure.error);
    return { kind: 'retry', notBefore: now, reason: code ? `apns_transport_${safeReason(code)}` : 'apns_transport' };
  }
  if (status === 410) return { kind: 'gone', status, reason: reason ?? 'Unregistered' };
  if (status === 400 && reason !== undefined && GONE_REASONS.has(reason)) return { kind: 'gone', status, reason };
  if (status === 429 || status >= 500 || (status === 403 && reason === 'ExpiredProviderToken')) {
    return { kind: 'retry', notBefore: retryAfterTime(failure.retryAfterHeader, now), reason: `apns_${reason ?? status}` };
  }
  // Any other 403 is about the credential, not the device: InvalidProviderToken (a revoked key, a
  // wrong key or team id), MissingProviderToken, BadCertificate, BadCertificateEnvironment, Forbidden.
  if (status === 403) return { kind: 'refused', reason: `apns_${safeReason(reason ?? String(status))}`, status };
  return { kind: 'failed', reason: `apns_${safeReason(reason ?? String(status))}`, status };
}

/** Reasons become ledger codes and JSON keys: keep them to a plain alphabet. */
function safeReason(reason: string): string {
  return reason.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 64);
}

/** The `code` of a transport error, looking through its causes (a `cause` property, or VError's `cause()`). */
function errorCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== 'object' || error === null || depth > 3) return undefined;
  const e = error as { code?: unknown; cause?: unknown };
  if (typeof e.code === 'string') return e.code;
  const cause = typeof e.cause === 'function' ? (e.cause as () => unknown).call(error) : e.cause;
  return errorCode(cause, depth + 1);
}
