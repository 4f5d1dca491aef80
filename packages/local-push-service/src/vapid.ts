import { createPublicKey, verify } from 'node:crypto';

export interface VapidResult {
  valid: boolean;
  error?: string;
  aud?: string;
  sub?: string;
  exp?: number;
  /** `k=`, base64url. */
  publicKey?: string;
}

/** What does not depend on the clock or on the request: the expensive part, worth caching. */
interface StaticCheck {
  error?: string;
  aud?: string;
  sub?: string;
  exp?: number;
  publicKey?: string;
}

const MAX_EXP_AHEAD_SECONDS = 24 * 60 * 60;

/**
 * Senders reuse one JWT per push service for hours, so verifying the ECDSA signature on every
 * request would dominate the benchmark's CPU; it is verified once per distinct header.
 * A flood of distinct headers (a test minting one per request) only resets the cache.
 */
const CACHE_LIMIT = 10_000;

export interface VapidVerifier {
  check(authorization: string | undefined, expectedAud: string, nowMs: number): VapidResult;
}

export function createVapidVerifier(): VapidVerifier {
  const cache = new Map<string, StaticCheck>();
  return {
    check(authorization, expectedAud, nowMs) {
      if (authorization === undefined || authorization === '') {
        return { valid: false, error: 'missing Authorization header' };
      }
      let found = cache.get(authorization);
      if (found === undefined) {
        if (cache.size >= CACHE_LIMIT) cache.clear();
        found = verifyStatic(authorization);
        cache.set(authorization, found);
      }
      return withClock(found, expectedAud, nowMs);
    },
  };
}

function withClock(check: StaticCheck, expectedAud: string, nowMs: number): VapidResult {
  const result: VapidResult = { valid: false };
  if (check.aud !== undefined) result.aud = check.aud;
  if (check.sub !== undefined) result.sub = check.sub;
  if (check.exp !== undefined) result.exp = check.exp;
  if (check.publicKey !== undefined) result.publicKey = check.publicKey;
  if (check.error !== undefined) {
    result.error = check.error;
    return result;
  }
  const nowSeconds = Math.floor(nowMs / 1000);
  if (check.aud !== expectedAud) {
    result.error = `aud ${JSON.stringify(check.aud)} is not this push service's origin ${JSON.stringify(expectedAud)}`;
  } else if (check.exp === undefined || check.exp <= nowSeconds) {
    result.error = `JWT expired (exp ${check.exp}, now ${nowSeconds})`;
  } else if (check.exp - nowSeconds > MAX_EXP_AHEAD_SECONDS) {
    result.error = `exp is more than 24 hours ahead (exp ${check.exp}, now ${nowSeconds})`;
  } else {
    result.valid = true;
  }
  return result;
}

function verifyStatic(authorization: string): StaticCheck {
  const scheme = /^vapid\s+/i.exec(authorization);
  if (scheme === null) {
    return { error: 'Authorization scheme is not "vapid" (RFC 8292: "vapid t=<jwt>, k=<key>")' };
  }
  const params = parseAuthParams(authorization.slice(scheme[0].length));
  const token = params.get('t');
  const key = params.get('k');
  if (token === undefined) return { error: 'Authorization has no t= (JWT)' };
  if (key === undefined) return { error: 'Authorization has no k= (public key)' };

  const out: StaticCheck = { publicKey: key };
  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 0x04) {
    return { ...out, error: `k= is not an uncompressed P-256 point (${point.length} bytes)` };
  }
  let publicKey;
  try {
    publicKey = createPublicKey({
      key: {
        kty: 'EC',
        crv: 'P-256',
        x: point.subarray(1, 33).toString('base64url'),
        y: point.subarray(33, 65).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return { ...out, error: 'k= is not a point on P-256' };
  }

  const parts = token.split('.');
  if (parts.length !== 3) return { ...out, error: 'JWT does not have three parts' };
  const [headerPart, payloadPart, signaturePart] = parts as [string, string, string];
  const header = parseJsonObject(headerPart);
  if (header === undefined) return { ...out, error: 'JWT header is not a JSON object' };
  if (header['alg'] !== 'ES256') return { ...out, error: `JWT alg is ${JSON.stringify(header['alg'])}, not ES256` };
  if (typeof header['typ'] === 'string' && header['typ'].toUpperCase() !== 'JWT') {
    return { ...out, error: `JWT typ is ${JSON.stringify(header['typ'])}` };
  }
  const payload = parseJsonObject(payloadPart);
  if (payload === undefined) return { ...out, error: 'JWT payload is not a JSON object' };
  if (typeof payload['aud'] === 'string') out.aud = payload['aud'];
  if (typeof payload['sub'] === 'string') out.sub = payload['sub'];
  if (typeof payload['exp'] === 'number') out.exp = payload['exp'];

  const signature = Buffer.from(signaturePart, 'base64url');
  if (signature.length !== 64) {
    // A DER signature here is the classic bug of signing with Node's default dsaEncoding.
    return { ...out, error: `JWT signature is ${signature.length} bytes, not 64 (raw r||s)` };
  }
  const signed = verify(
    'sha256',
    Buffer.from(`${headerPart}.${payloadPart}`, 'ascii'),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    signature,
  );
  if (!signed) return { ...out, error: 'JWT signature does not verify with k=' };

  if (out.aud === undefined) return { ...out, error: 'JWT has no aud' };
  if (out.exp === undefined || !Number.isInteger(out.exp)) return { ...out, error: 'JWT exp is not an integer' };
  if (out.sub === undefined || out.sub === '') return { ...out, error: 'JWT has no sub' };
  // Apple rejects other contact URIs (BadJwtToken); web-push enforces the same.
  if (!out.sub.startsWith('mailto:') && !out.sub.startsWith('https:')) {
    return { ...out, error: `JWT sub ${JSON.stringify(out.sub)} is neither a mailto: nor an https: URI` };
  }
  return out;
}

function parseAuthParams(text: string): Map<string, string> {
  const params = new Map<string, string>();
  for (const piece of text.split(',')) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    const name = piece.slice(0, eq).trim().toLowerCase();
    let value = piece.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    params.set(name, value);
  }
  return params;
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
