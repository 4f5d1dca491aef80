import type { SendOutcome } from '@pushcast/domain';

const DELIVERED: SendOutcome = Object.freeze({ kind: 'delivered' });

/**
 * What a push service's status means for the subscription (RFC 8030 §5–§8, and what FCM, Mozilla,
 * WNS and Apple actually answer).
 */
export function outcomeForStatus(status: number, retryAfter: string | string[] | undefined, now: number): SendOutcome {
  if (status >= 200 && status < 300) return DELIVERED;
  if (status === 404 || status === 410) return { kind: 'gone', status };
  if (status === 429 || status >= 500) return { kind: 'retry', notBefore: retryAfterTime(retryAfter, now), reason: `http_${status}` };
  if (status === 401 || status === 403) return { kind: 'failed', reason: `vapid_rejected_${status}`, status };
  if (status === 413) return { kind: 'failed', reason: 'payload_too_large', status };
  return { kind: 'failed', reason: `http_${status}`, status };
}

/**
 * `Retry-After` as epoch ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3). Absent, malformed
 * or in the past means now; the pipeline adds its own backoff on top.
 */
export function retryAfterTime(value: string | string[] | undefined, now: number): number {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return now;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return now + Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? now : Math.max(now, date);
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']);

/**
 * A request that failed without a status: the push service may never have seen it, or may have
 * delivered it, so the only safe answer is to try again later.
 */
export function outcomeForError(error: unknown, now: number): SendOutcome {
  const code = errorCode(error);
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { kind: 'retry', notBefore: now, reason: 'timeout' };
  return { kind: 'retry', notBefore: now, reason: `network_${code ?? 'unknown'}` };
}

function errorCode(error: unknown): string | undefined {
  const code = codeOf(error);
  // undici wraps socket errors (ECONNRESET…) in UND_ERR_SOCKET; the cause is more telling.
  if (code === undefined || code === 'UND_ERR_SOCKET') return (error instanceof Error ? codeOf(error.cause) : undefined) ?? code;
  return code;
}

function codeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}
