import type { SendOutcome } from '@pushcast/domain';
import { retryAfterTime } from '../webpush/response.ts';

const DELIVERED: SendOutcome = Object.freeze({ kind: 'delivered' });

/** What Pushcast knows of one failed message: firebase-admin's error, and the HTTP answer behind it when there was one. */
export interface FcmFailure {
  readonly code: string;
  readonly message: string;
  readonly status?: number | undefined;
  readonly retryAfter?: string | undefined;
  /** The `errorCode` of FCM's FcmError detail (`UNREGISTERED`, `INVALID_ARGUMENT`, …), when the answer had one. */
  readonly fcmErrorCode?: string | undefined;
}

const GONE_CODES = new Set(['messaging/registration-token-not-registered', 'messaging/invalid-registration-token']);
const RETRY_CODES = new Set([
  // A request that timed out or whose stream was reset: FCM may never have seen it.
  'app/network-error',
  'app/network-timeout',
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'messaging/server-unavailable',
  'messaging/internal-error',
]);
/** OAuth answers that mean the service account itself is refused (as opposed to Google being unreachable). */
const CREDENTIAL_REFUSED = /invalid_grant|invalid_client|unauthorized_client|account not found|invalid jwt/i;

/**
 * The outcome of one FCM answer: UNREGISTERED and an invalid *token* prune (an INVALID_ARGUMENT
 * about the payload is a failure, not a prune: FCM uses the one code for both, its message tells
 * them apart); 429 and 5xx retry; a refused service account or access token refuses the
 * credential; anything else fails with firebase-admin's code, e.g. `fcm_mismatched-credential`
 * (a token of another sender), `fcm_invalid-argument`.
 */
export function fcmOutcome(failure: FcmFailure | undefined, now: number): SendOutcome {
  if (failure === undefined) return DELIVERED;
  const { code, status } = failure;
  if (GONE_CODES.has(code)) {
    // firebase-admin also maps a bare NOT_FOUND (a wrong Firebase project, say) to "not
    // registered": only FCM's own UNREGISTERED detail may delete a subscription.
    if (status !== undefined && failure.fcmErrorCode !== 'UNREGISTERED') return { kind: 'failed', reason: `fcm_http_${status}`, status };
    return { kind: 'gone', status: status ?? 404, reason: failure.fcmErrorCode ?? 'UNREGISTERED' };
  }
  if (code === 'messaging/invalid-argument' && /registration token/i.test(failure.message)) {
    return { kind: 'gone', status: status ?? 400, reason: failure.fcmErrorCode ?? 'INVALID_ARGUMENT' };
  }
  if (RETRY_CODES.has(code) || (status !== undefined && (status === 429 || status >= 500))) {
    return { kind: 'retry', notBefore: retryAfterTime(failure.retryAfter, now), reason: reasonFor(code) };
  }
  if (code === 'app/invalid-credential') {
    // Google's token endpoint refused the service account (deleted, disabled, key revoked), or
    // could not be reached: then nothing was refused yet.
    if (CREDENTIAL_REFUSED.test(failure.message)) return { kind: 'refused', reason: reasonFor(code) };
    return { kind: 'retry', notBefore: now, reason: 'fcm_oauth_unreachable' };
  }
  // FCM refused the access token (401 UNAUTHENTICATED) or the account's right to send for the
  // Firebase project (403 PERMISSION_DENIED). Not the per-token 403 SENDER_ID_MISMATCH, nor 401
  // THIRD_PARTY_AUTH_ERROR (the Firebase project's APNs or web push key, for some devices only).
  if ((status === 401 && failure.fcmErrorCode !== 'THIRD_PARTY_AUTH_ERROR') || (status === 403 && failure.fcmErrorCode !== 'SENDER_ID_MISMATCH')) {
    // firebase-admin calls a 401 `third-party-auth-error` whatever its cause: name it by its status.
    return { kind: 'refused', reason: status === 401 ? 'fcm_unauthenticated' : 'fcm_permission-denied', status };
  }
  return status === undefined ? { kind: 'failed', reason: reasonFor(code) } : { kind: 'failed', reason: reasonFor(code), status };
}

/** `messaging/mismatched-credential` → `fcm_mismatched-credential`; `app/invalid-credential` → `fcm_app_invalid-credential`. */
export function reasonFor(code: string): string {
  return `fcm_${code.replace(/^messaging\//, '').replace(/[^A-Za-z0-9_.-]/g, '_')}`.slice(0, 64);
}
