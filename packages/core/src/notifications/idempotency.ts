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

/** Where a key came from, named in the error when it is reused with another request. */
export const IDEMPOTENCY_FIELD = 'idempotency_key';

/** A request with its idempotency key (if any) taken out, as each dialect reads it. */
export interface KeyedRequest {
  readonly key: string | null;
  /** The body without the key: what is parsed as the notification and fingerprinted. */
  readonly body: unknown;
}

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


/** What guards a keyed request: null without a key. `path` is the route's, with the project's id. */
export function claimFor(projectId: number, method: string, path: string, keyed: KeyedRequest): IdempotencyClaim | null {
  return keyed.key === null ? null : { projectId, key: keyed.key, fingerprint: requestFingerprint(method, path, keyed.body) };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A stored first answer, replayed as it was. */
export type StoredAnswer = StoredResponse;
