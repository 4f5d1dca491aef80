import { PushcastError, type ErrorKind, type Rule } from '@pushcast/domain';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

/** The one table from error kinds to HTTP statuses. */
export const statusByKind: Record<ErrorKind, number> = {
  bad_request: 400,
  validation: 422,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  headers_too_large: 431,
  request_timeout: 408,
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

// Errors Fastify raises itself (its router, its body parsing), by their stable codes. Messages are
// Pushcast's own: Fastify's would echo the path.
const fastifyErrors: Record<string, { kind: ErrorKind; rule: Rule; field?: string; message: string }> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { kind: 'bad_request', rule: 'json', field: 'body', message: 'body: is not valid JSON' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { kind: 'bad_request', rule: 'json', field: 'body', message: 'body: is empty' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    kind: 'unsupported_media_type',
    rule: 'content_type',
    field: 'body',
    message: 'body: its Content-Type is not one this route takes',
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { kind: 'bad_request', rule: 'content_length', field: 'body', message: 'body: does not match its Content-Length' },
  FST_ERR_CTP_BODY_TOO_LARGE: { kind: 'payload_too_large', rule: 'body_too_large', field: 'body', message: 'body: is larger than the route takes' },
  FST_ERR_BAD_URL: { kind: 'bad_request', rule: 'url_encoding', message: 'the path is not valid percent-encoded UTF-8' },
  FST_ERR_MAX_PARAM_LENGTH: { kind: 'uri_too_long', rule: 'max_param_length', message: 'a segment of the path is longer than 100 characters' },
};

/** A Fastify error whose answer needs its body read first (see drainRequest). */
export const isBodyTooLarge = (error: unknown): boolean => (error as { code?: string } | null)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE';

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', '57P01', '57P03', '08006', '08001', '08003']);

export function toPushcastError(error: unknown): PushcastError {
  if (error instanceof PushcastError) return error;
  const code = (error as { code?: string } | null | undefined)?.code;
  const known = code ? fastifyErrors[code] : undefined;
  if (known) return new PushcastError(known.kind, known.message, known.field ? { field: known.field, rule: known.rule } : { rule: known.rule });
  const statusCode = (error as FastifyError | null | undefined)?.statusCode;
  if (statusCode === 413) return toPushcastError({ code: 'FST_ERR_CTP_BODY_TOO_LARGE' });
  if (statusCode === 415) return toPushcastError({ code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE' });
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
  const status = statusByKind[e.kind];
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  if (e.kind === 'unavailable') void reply.header('retry-after', '5');
  // An error that knows when to come back (quota, rate limit) says so in seconds.
  const retryAfter = e.details.retry_after;
  if (typeof retryAfter === 'number') void reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfter))));
  return reply.code(status).type('application/json').send(errorBody(e));
}
