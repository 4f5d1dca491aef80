import { verify, type KeyObject } from 'node:crypto';

export interface TrustedKey {
  keyId: string;
  teamId: string;
  publicKey: KeyObject;
  topics: ReadonlySet<string>;
}

export type ProviderTokenReason = 'MissingProviderToken' | 'InvalidProviderToken' | 'ExpiredProviderToken';

export interface ProviderTokenCheck {
  valid: boolean;
  reason?: ProviderTokenReason;
  error?: string;
  keyId?: string;
  teamId?: string;
  iat?: number;
  /** The JWT itself, when the signature verified with a trusted key: what `tokensMinted` counts. */
  jwt?: string;
  /** Set whenever the signature verified, even if the token has since expired. */
  key?: TrustedKey;
}

/** Everything that does not depend on the clock: the expensive part, worth caching. */
interface StaticCheck {
  error?: string;
  keyId?: string;
  teamId?: string;
  iat?: number;
  key?: TrustedKey;
}

/** Apple: "APNs rejects a token whose iat is more than one hour old." */
const MAX_TOKEN_AGE_SECONDS = 60 * 60;

/**
 * Providers reuse one JWT for up to an hour, so verifying the ECDSA signature on every request would
 * dominate the benchmark's CPU; a token is verified once. A flood of distinct tokens only resets the cache.
 */
const CACHE_LIMIT = 10_000;

export interface ProviderTokenVerifier {
  check(authorization: string | undefined, nowMs: number): ProviderTokenCheck;
  /** Cached verdicts depend on the set of trusted keys; call whenever it changes. */
  forget(): void;
}

export function createProviderTokenVerifier(lookup: (keyId: string) => TrustedKey | undefined): ProviderTokenVerifier {
  const cache = new Map<string, { jwt: string; found: StaticCheck }>();
  // The token of the request before: a sender uses one for thousands of requests in a row, and a
  // comparison costs less than hashing the ~250 characters again for the cache.
  let last: { authorization: string; entry: { jwt: string; found: StaticCheck } } | undefined;
  return {
    check(authorization, nowMs) {
      if (authorization === undefined || authorization === '') {
        return { valid: false, reason: 'MissingProviderToken', error: 'no authorization header' };
      }
      if (last !== undefined && last.authorization === authorization) return withClock(last.entry.jwt, last.entry.found, nowMs);
      let entry = cache.get(authorization);
      if (entry === undefined) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        const scheme = /^bearer\s+/i.exec(authorization);
        const jwt = scheme === null ? '' : authorization.slice(scheme[0].length).trim();
        entry = {
          jwt,
          found: scheme === null ? { error: 'authorization scheme is not "bearer"' } : verifyStatic(jwt, lookup),
        };
        cache.set(authorization, entry);
      }
      last = { authorization, entry };
      return withClock(entry.jwt, entry.found, nowMs);
    },
    forget() {
      cache.clear();
      last = undefined;
    },
  };
}

function withClock(jwt: string, found: StaticCheck, nowMs: number): ProviderTokenCheck {
  const result: ProviderTokenCheck = { valid: false };
  if (found.keyId !== undefined) result.keyId = found.keyId;
  if (found.teamId !== undefined) result.teamId = found.teamId;
  if (found.iat !== undefined) result.iat = found.iat;
  if (found.key !== undefined) {
    result.key = found.key;
    result.jwt = jwt;
  }
  if (found.error !== undefined) {
    result.reason = 'InvalidProviderToken';
    result.error = found.error;
    return result;
  }
  const age = Math.floor(nowMs / 1000) - (found.iat ?? 0);
  if (age > MAX_TOKEN_AGE_SECONDS) {
    result.reason = 'ExpiredProviderToken';
    result.error = `iat is ${age} s old, more than ${MAX_TOKEN_AGE_SECONDS}`;
    return result;
  }
  result.valid = true;
  return result;
}

function verifyStatic(jwt: string, lookup: (keyId: string) => TrustedKey | undefined): StaticCheck {
  const parts = jwt.split('.');
  if (parts.length !== 3) return { error: 'JWT does not have three parts' };
  const [headerPart, claimsPart, signaturePart] = parts as [string, string, string];

  const header = parseJsonObject(headerPart);
  if (header === undefined) return { error: 'JWT header is not a JSON object' };
  if (header['alg'] !== 'ES256') return { error: `JWT alg is ${JSON.stringify(header['alg'])}, not ES256` };
  const out: StaticCheck = {};
  if (typeof header['kid'] !== 'string' || header['kid'] === '') return { error: 'JWT header has no kid' };
  out.keyId = header['kid'];

  const claims = parseJsonObject(claimsPart);
  if (claims === undefined) return { ...out, error: 'JWT claims are not a JSON object' };
  if (typeof claims['iss'] === 'string') out.teamId = claims['iss'];
  if (typeof claims['iat'] === 'number') out.iat = claims['iat'];
  if (out.teamId === undefined || out.teamId === '') return { ...out, error: 'JWT has no iss (team id)' };
  if (out.iat === undefined || !Number.isInteger(out.iat)) return { ...out, error: 'JWT iat is not an integer' };

  const key = lookup(out.keyId);
  if (key === undefined) return { ...out, error: `no trusted key with kid ${JSON.stringify(out.keyId)}` };
  if (key.teamId !== out.teamId) {
    return { ...out, error: `key ${out.keyId} belongs to team ${key.teamId}, not ${out.teamId}` };
  }

  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== 64) {
    // A DER signature here is the classic bug of signing with Node's default dsaEncoding.
    return { ...out, error: `JWT signature is ${signature.length} bytes, not 64 (raw r||s)` };
  }
  const signed = verify(
    'sha256',
    Buffer.from(`${headerPart}.${claimsPart}`, 'ascii'),
    { key: key.publicKey, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!signed) return { ...out, error: `JWT signature does not verify with key ${out.keyId}` };
  out.key = key;
  return out;
}

function parseJsonObject(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
