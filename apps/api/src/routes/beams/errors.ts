import type { ErrorKind } from '@pushcast/domain';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toPushcastError } from '../../http-errors.ts';

/**
 * Beams' error shape: `{"error": <title>, "description": <text>}` with Beams' status codes (its SDKs
 * print both, and the Node SDK fails to read an error without them). Errors of the core keep their
 * kind; Beams' own answers that no kind expresses (its 400 for a missing Authorization header or a
 * body over its limit) are BeamsErrors.
 */
export class BeamsError extends Error {
  override readonly name = 'BeamsError';
  constructor(
    readonly status: number,
    readonly title: string,
    readonly description: string,
    /** Seconds, for a 429. */
    readonly retryAfter?: number,
  ) {
    super(description);
  }
}

/** Beams' titles (pusher/docs, Publish API: Error Responses), by Pushcast's error kinds. */
const byKind: Record<ErrorKind, { status: number; title: string }> = {
  bad_request: { status: 400, title: 'Bad request' },
  validation: { status: 422, title: 'Unprocessable Entity' },
  payload_too_large: { status: 400, title: 'Bad request' },
  uri_too_long: { status: 400, title: 'Bad request' },
  unsupported_media_type: { status: 400, title: 'Invalid content type' },
  headers_too_large: { status: 400, title: 'Bad request' },
  request_timeout: { status: 400, title: 'Bad request' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  forbidden: { status: 403, title: 'Forbidden' },
  not_found: { status: 404, title: 'Not Found' },
  conflict: { status: 409, title: 'Conflict' },
  rate_limited: { status: 429, title: 'Rate Limited' },
  unavailable: { status: 503, title: 'Service unavailable' },
  internal: { status: 500, title: 'Something went wrong' },
};

export const incompleteRequest = (description: string) => new BeamsError(400, 'Incomplete Request', description);
export const instanceNotFound = () => new BeamsError(404, 'Instance not found', 'Could not find the instance');
export const notJsonObject = () => new BeamsError(400, 'Bad request', 'Failed to read body as a JSON object');
/** Beams' description of its 429 on the Publish API and deleteUser (its docs, Error Responses). */
export const RATE_LIMITED_DESCRIPTION = 'Too many requests being made in quick succession (max 100 RPS)';

export function beamsErrorOf(error: unknown, bodyLimit: number | undefined): BeamsError {
  if (error instanceof BeamsError) return error;
  const e = toPushcastError(error);
  // A field that is missing breaks Beams' schema as any other rule does: 422, not Pushpad's 400.
  if (e.kind === 'bad_request' && e.details.rule === 'required') return new BeamsError(422, byKind.validation.title, e.message);
  switch (e.details.rule) {
    case 'json':
      return notJsonObject();
    case 'body_too_large':
      return new BeamsError(400, 'Bad request', `Request body size is too large (max ${Math.floor((bodyLimit ?? 0) / 1024)}KiB)`);
    case 'content_type':
      return new BeamsError(400, 'Invalid content type', 'Only application/json is supported');
    default:
      break;
  }
  const { status, title } = byKind[e.kind];
  if (e.kind === 'rate_limited') {
    const seconds = typeof e.details.retry_after === 'number' ? Math.max(1, Math.ceil(e.details.retry_after)) : 1;
    return new BeamsError(status, title, RATE_LIMITED_DESCRIPTION, seconds);
  }
  const retryAfter = typeof e.details.retry_after === 'number' ? Math.max(1, Math.ceil(e.details.retry_after)) : undefined;
  return new BeamsError(status, title, status >= 500 ? 'Internal server error' : e.message, retryAfter);
}

export function sendBeamsError(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const bodyLimit = (request.routeOptions as { bodyLimit?: number } | undefined)?.bodyLimit;
  const e = beamsErrorOf(error, bodyLimit);
  if (e.status >= 500) request.log.error({ err: error as FastifyError }, 'request failed');
  if (e.status === 503) void reply.header('retry-after', '5');
  if (e.retryAfter !== undefined) void reply.header('retry-after', String(e.retryAfter));
  return reply.code(e.status).type('application/json').send({ error: e.title, description: e.description });
}

