import { PushcastError, type ErrorKind, type Rule } from '@pushcast/domain';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The one table from error kinds to HTTP statuses. */
export const statusByKind: Record<ErrorKind, number> = {
  bad_request: 400,
  validation: 422,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  rate_limited: 429,
  unavailable: 503,
  internal: 500,
};

export interface ErrorBody {
  readonly error: string;
  readonly code: ErrorKind;
  readonly field?: string;
  readonly rule?: Rule;
  readonly [extra: string]: unknown;
}

export function errorBody(e: PushcastError): ErrorBody {
  return { error: e.message, code: e.kind, ...e.details };
}

// Errors Fastify raises itself before a handler runs, by their stable codes.
const fastifyErrorKinds: Record<string, { kind: ErrorKind; rule: Rule }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'bad_request', rule: 'json' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'bad_request', rule: 'json' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { kind: 'bad_request', rule: 'content_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'bad_request', rule: 'content_length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'bad_request', rule: 'body_too_large' },
};

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003']);

export function toPushcastError(error: unknown): PushcastError {
  if (error instanceof PushcastError) return error;
  const code = (error as { code?: string }).code;
  if (code && fastifyErrorKinds[code]) {
    const { kind, rule } = fastifyErrorKinds[code];
    return new PushcastError(kind, `body: ${(error as Error).message}`, { field: 'body', rule });
  }
  const statusCode = (error as FastifyError).statusCode;
  if (statusCode === 413) {
    return new PushcastError('bad_request', 'body: too large', { field: 'body', rule: 'body_too_large' });
  }
  if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
    return new PushcastError('bad_request', (error as Error).message, { rule: 'request' });
  }
  if (code && UNAVAILABLE_CODES.has(code)) {
    return new PushcastError('unavailable', 'a backing service is unavailable, retry later', { rule: 'dependency_down' });
  }
  return new PushcastError('internal', 'internal error');
}

export function sendError(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const e = toPushcastError(error);
  const status = e.kind === 'bad_request' && (error as FastifyError).statusCode === 415 ? 415 : statusByKind[e.kind];
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (e.kind === 'unavailable') void reply.header('retry-after', '5');
  // An error that knows when to come back (quota, rate limit) says so in seconds.
  const retryAfter = e.details.retry_after;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  return reply.code(status).type('application/json').send(errorBody(e));
}
