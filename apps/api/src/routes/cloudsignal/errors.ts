import type { ErrorKind } from '@pushcast/domain';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toPushcastError } from '../../http-errors.ts';

/** CloudSignal's error codes (its API reference, "Error codes"), and Pushcast's for a server fault. */
export type CloudSignalCode =
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'INVALID_REQUEST'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'QUOTA_EXCEEDED'
  | 'SERVICE_UNAVAILABLE'
  | 'INTERNAL_ERROR';

/**
 * Pushcast's error kinds in CloudSignal's terms. Malformed JSON and every broken field rule are 400
 * INVALID_REQUEST (CloudSignal has no 422), and so is anything else wrong with the request itself
 * (its size, its content type), which CloudSignal's table does not distinguish.
 */
const byKind: Record<ErrorKind, { status: number; code: CloudSignalCode }> = {
  bad_request: { status: 400, code: 'INVALID_REQUEST' },
  validation: { status: 400, code: 'INVALID_REQUEST' },
  payload_too_large: { status: 400, code: 'INVALID_REQUEST' },
  uri_too_long: { status: 400, code: 'INVALID_REQUEST' },
  unsupported_media_type: { status: 400, code: 'INVALID_REQUEST' },
  headers_too_large: { status: 400, code: 'INVALID_REQUEST' },
  request_timeout: { status: 400, code: 'INVALID_REQUEST' },
  conflict: { status: 400, code: 'INVALID_REQUEST' },
  unauthorized: { status: 401, code: 'UNAUTHORIZED' },
  forbidden: { status: 403, code: 'FORBIDDEN' },
  not_found: { status: 404, code: 'NOT_FOUND' },
  rate_limited: { status: 429, code: 'RATE_LIMITED' },
  unavailable: { status: 503, code: 'SERVICE_UNAVAILABLE' },
  internal: { status: 500, code: 'INTERNAL_ERROR' },
};

/** CloudSignal's error body: `{"detail": …}` with its `code`, and Pushcast's field and rule when one broke. */
export interface CloudSignalErrorBody {
  readonly detail: string;
  readonly code: CloudSignalCode;
  readonly field?: string;
  readonly rule?: string;
}

export function cloudSignalErrorOf(error: unknown): { status: number; body: CloudSignalErrorBody; retryAfter?: number } {
  const e = toPushcastError(error);
  const { status, code } = byKind[e.kind];
  const quota = e.details.rule === 'quota_exceeded';
  const body: CloudSignalErrorBody = {
    detail: status >= 500 && e.kind !== 'unavailable' ? 'Internal server error' : e.message,
    code: quota ? 'QUOTA_EXCEEDED' : code,
    ...(e.details.field !== undefined ? { field: e.details.field } : {}),
    ...(e.details.rule !== undefined ? { rule: e.details.rule } : {}),
  };
  const retryAfter = typeof e.details.retry_after === 'number' ? Math.max(1, Math.ceil(e.details.retry_after)) : e.kind === 'unavailable' ? 5 : undefined;
  return retryAfter === undefined ? { status, body } : { status, body, retryAfter };
}

export function sendCloudSignalError(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const { status, body, retryAfter } = cloudSignalErrorOf(error);
  if (status >= 500) request.log.error({ err: error as FastifyError }, 'request failed');
  if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
  return reply.code(status).type('application/json').send(body);
}
