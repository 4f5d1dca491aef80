import { createHash } from 'node:crypto';
import { PushcastError, validationError } from '@pushcast/domain';
import {
  claimIdempotencyKey,
  findIdempotencyKey,
  inTransaction,
  recordIdempotentResponse,
  type Db,
  type IdempotencyClaim,
  type IdempotencyKeyRecord,
  type Queryable,
  type StoredResponse,
} from '@pushcast/store';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply } from 'fastify';

/**
 * Idempotent create: `Idempotency-Key: <key>` or `"idempotency_key": "<key>"` at the top level of
 * the body (flat: beside `body`; wrapped: beside `notification`, `uids` and `tags`, never inside
 * `notification`). A repeat within 24 hours with the same key answers the first response again.
 */
export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const IDEMPOTENCY_FIELD = 'idempotency_key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** 1–255 printable ASCII characters (space to tilde). */
const KEY_PATTERN = /^[\x20-\x7e]{1,255}$/;

export interface KeyedRequest {
  readonly key: string | null;
  /** The body without `idempotency_key`: what is parsed as the notification and fingerprinted. */
  readonly body: unknown;
}

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
  if (!KEY_PATTERN.test(value)) throw validationError(field, 'idempotency_key', 'must be 1-255 printable ASCII characters');
  return value;
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** JSON with object keys sorted at every level: equal bodies give equal text whatever their key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

/** SHA-256 of the canonical request: method, path and the parsed body without the key. */
export function requestFingerprint(method: string, path: string, body: unknown): Buffer {
  return createHash('sha256').update(canonicalJson({ method: method.toUpperCase(), path, body })).digest();
}

/** The first answer to a key, or a 422 when the key came with another request. */
function replayOf(record: IdempotencyKeyRecord, claim: IdempotencyClaim): StoredResponse {
  if (!record.fingerprint.equals(claim.fingerprint)) {
    throw validationError(
      IDEMPOTENCY_FIELD,
      'idempotency_key_reused',
      `was used within the last 24 hours with a different request (at ${record.createdAt.toISOString()}); use a new key`,
    );
  }
  // A claim is written with its answer in one transaction: a committed claim without one is a bug.
  if (record.response === null) throw new PushcastError('internal', 'idempotency key without a response');
  return record.response;
}

/** Before any work: the first answer when this key was already used (fast path; the claim below is the guard). */
export async function findReplay(db: Queryable, claim: IdempotencyClaim): Promise<StoredResponse | null> {
  const record = await findIdempotencyKey(db, claim.projectId, claim.key);
  return record ? replayOf(record, claim) : null;
}

export type Created = StoredResponse & { readonly notificationId: number };
export type CreateOutcome = ({ readonly replayed: false } & Created) | ({ readonly replayed: true } & StoredResponse);

/**
 * Runs `create` once per key, in one transaction (so that what `create` checks after inserting,
 * such as a quota hold, can still roll the insert back). With a key: claim the key (a concurrent
 * request with the same key waits here until the first commits, then replays its answer), create,
 * and record the answer, so that a notification never exists without its key or a key without
 * its notification.
 */
export async function createOnce(db: Db, claim: IdempotencyClaim | null, create: (q: Queryable) => Promise<Created>): Promise<CreateOutcome> {
  if (claim === null) return inTransaction(db, async (tx): Promise<CreateOutcome> => ({ replayed: false, ...(await create(tx)) }));
  return inTransaction(db, async (tx): Promise<CreateOutcome> => {
    if (!(await claimIdempotencyKey(tx, claim))) {
      const record = await findIdempotencyKey(tx, claim.projectId, claim.key);
      if (record === null) throw new PushcastError('internal', 'idempotency key claimed by another request but not found');
      return { replayed: true, ...replayOf(record, claim) };
    }
    const created = await create(tx);
    await recordIdempotentResponse(tx, claim, created);
    return { replayed: false, ...created };
  });
}

export function sendReplay(reply: FastifyReply, response: StoredResponse): FastifyReply {
  return reply.code(response.status).header(REPLAYED_HEADER, 'true').send(response.body);
}

/** What guards a keyed request: null without a key. `path` is the route's, with the project's id. */
export function claimFor(projectId: number, method: string, path: string, keyed: KeyedRequest): IdempotencyClaim | null {
  return keyed.key === null ? null : { projectId, key: keyed.key, fingerprint: requestFingerprint(method, path, keyed.body) };
}
