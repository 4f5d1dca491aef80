import { IDEMPOTENCY_FIELD, type KeyedRequest, type StoredAnswer } from '@pushcast/core';
import { validationError } from '@pushcast/domain';
import type { FastifyReply } from 'fastify';
import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

/**
 * Idempotent create: `Idempotency-Key: <key>` or `"idempotency_key": "<key>"` at the top level of
 * the body (flat: beside `body`; wrapped: beside `notification`, `uids` and `tags`, never inside
 * `notification`). A repeat within 24 hours with the same key answers the first response again.
 */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** 1–255 printable ASCII characters (space to tilde). */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;
export const idempotencyKey = z
  .string()
  .regex(KEY_PATTERN)
  .describe('1-255 printable ASCII characters; a repeat within 24 hours answers the first answer again');

/** Takes the key out of the header or the body (both may be given if they are equal). */
export function takeIdempotencyKey(headers: IncomingHttpHeaders, body: unknown): KeyedRequest {
  const raw = headers[IDEMPOTENCY_HEADER.toLowerCase()];
  const fromHeader = raw === undefined ? null : checkedKey(IDEMPOTENCY_HEADER, Array.isArray(raw) ? raw.join(', ') : raw);
  if (!isObject(body)) return { key: fromHeader, body };
  if (isObject(body.notification) && IDEMPOTENCY_FIELD in body.notification) {
    const field = `notification.${IDEMPOTENCY_FIELD}`;
    throw validationError(field, 'unknown_field', `is not a known field (${IDEMPOTENCY_FIELD} goes beside notification, not inside it)`);
  }
  if (!(IDEMPOTENCY_FIELD in body)) return { key: fromHeader, body };
  const { [IDEMPOTENCY_FIELD]: value, ...rest } = body;
  if (value === null) return { key: fromHeader, body: rest };
  if (typeof value !== 'string') throw validationError(IDEMPOTENCY_FIELD, 'invalid_type', 'must be a string');
  const fromBody = checkedKey(IDEMPOTENCY_FIELD, value);
  if (fromHeader !== null && fromHeader !== fromBody) {
    throw validationError(IDEMPOTENCY_FIELD, 'idempotency_key_mismatch', `differs from the ${IDEMPOTENCY_HEADER} header; give one key`);
  }
  return { key: fromBody, body: rest };
}

function checkedKey(field: string, value: string): string {
  if (!idempotencyKey.safeParse(value).success) throw validationError(field, 'idempotency_key', 'must be 1-255 printable ASCII characters');
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function sendReplay(reply: FastifyReply, response: StoredAnswer): FastifyReply {
  return reply.code(response.status).header(REPLAYED_HEADER, 'true').send(response.body);
}
