import type { Rule } from './rules.ts';

/**
 * Every failure a caller can observe has a kind. The HTTP layer maps kinds to status codes in one
 * table (apps/api/src/http-errors.ts); nothing branches on a message.
 */
export type ErrorKind =
  | 'bad_request' // malformed request: unparsable JSON, wrong content type, bad tag expression
  | 'validation' // well-formed but breaks a rule on a field
  | 'payload_too_large' // a body larger than the route takes
  | 'uri_too_long' // a path segment longer than the router takes
  | 'unsupported_media_type' // a body of a Content-Type the route does not take
  | 'headers_too_large' // the request line and headers larger than the server takes
  | 'request_timeout' // the request did not arrive in time
  | 'unauthorized' // no token or an unknown token
  | 'forbidden' // a valid token without access to the resource
  | 'not_found'
  | 'conflict' // the request contradicts the current state (e.g. deleting a sender in use)
  | 'rate_limited'
  | 'unavailable' // a dependency (PostgreSQL, Redis) is down; the request may be retried
  | 'internal';

export interface PushcastErrorDetails {
  /** Dotted path of the offending field, e.g. `tags.2` or `p256dh`. */
  readonly field?: string;
  /** A stable, machine-readable name of the broken rule, e.g. `max_length` or `private_host`. */
  readonly rule?: Rule;
  readonly [extra: string]: unknown;
}

export class PushcastError extends Error {
  override readonly name = 'PushcastError';
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly details: PushcastErrorDetails = {},
  ) {
    super(message);
  }
}

export const validationError = (field: string, rule: Rule, message: string, extra: Record<string, unknown> = {}) =>
  new PushcastError('validation', `${field}: ${message}`, { field, rule, ...extra });

export const notFound = (what: string) => new PushcastError('not_found', `${what} not found`);
