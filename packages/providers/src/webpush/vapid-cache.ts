import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';

/** The application server's identity (RFC 8292): its key pair and a contact. */
export interface VapidSender {
  /** SPKI PEM (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKeyPem: string;
  /** SEC1 PEM (`-----BEGIN EC PRIVATE KEY-----`); PKCS#8 works too. */
  readonly privateKeyPem: string;
  /** `sub`: a mailto: or https: URL the push service can reach the sender at. */
  readonly subject: string;
}

/** The sender's keys cannot be used: not PEM, not P-256, or not a pair. */
export class VapidKeyError extends Error {
  override readonly name = 'VapidKeyError';
}

export interface VapidCacheOptions {
  /** Epoch milliseconds; injectable for tests. */
  readonly now?: () => number;
  /** Tokens kept at most (one per origin, sender and subject); the oldest go first. Default 10,000. */
  readonly maxTokens?: number;
}

/** RFC 8292 allows up to 24 h; half of that leaves room for clock skew at the push service. */
export const VAPID_TOKEN_LIFETIME_S = 12 * 3600;
/** Refresh this long before expiry, so a token never expires while a request is in flight. Apple also asks for at most one new token an hour. */
export const VAPID_REFRESH_MARGIN_S = 3600;

interface Signer {
  readonly key: KeyObject;
  /** The `k` parameter: the 65-byte uncompressed public point, base64url. */
  readonly k: string;
}

interface Token {
  readonly header: string;
  readonly exp: number;
}

const JWT_HEADER = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'ES256' })).toString('base64url');

/**
 * One VAPID `Authorization` value per (push service origin, sender key, subject). A token is
 * valid for every endpoint of its origin, so signing once per origin instead of once per message
 * saves the ~390 µs web-push spends rebuilding a PEM and signing on every call.
 */
export class VapidCache {
  readonly #now: () => number;
  readonly #maxTokens: number;
  /** Parsed keys by private key PEM: parsing costs more than signing. */
  readonly #signers = new Map<string, Signer>();
  readonly #tokens = new Map<string, Token>();

  constructor(options: VapidCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#maxTokens = options.maxTokens ?? 10_000;
  }

  /** `vapid t=<jwt>, k=<public key>` for requests to `origin` (e.g. `https://fcm.googleapis.com`). Throws VapidKeyError. */
  authorization(origin: string, sender: VapidSender): string {
    const nowS = Math.floor(this.#now() / 1000);
    const id = `${origin}\n${sender.subject}\n${sender.publicKeyPem}`;
    const cached = this.#tokens.get(id);
    if (cached && cached.exp - nowS > VAPID_REFRESH_MARGIN_S) return cached.header;

    const signer = this.#signer(sender);
    const exp = nowS + VAPID_TOKEN_LIFETIME_S;
    const claims = Buffer.from(JSON.stringify({ aud: origin, exp, sub: sender.subject })).toString('base64url');
    const input = `${JWT_HEADER}.${claims}`;
    // JWS wants the raw r||s signature (RFC 7518 §3.4), not the DER that node produces by default.
    const signature = sign('sha256', Buffer.from(input), { key: signer.key, dsaEncoding: 'ieee-p1363' });
    const token: Token = { header: `vapid t=${input}.${signature.toString('base64url')}, k=${signer.k}`, exp };

    this.#tokens.delete(id);
    this.#tokens.set(id, token);
    evictOldest(this.#tokens, this.#maxTokens);
    return token.header;
  }

  #signer(sender: VapidSender): Signer {
    const found = this.#signers.get(sender.privateKeyPem);
    if (found) return found;
    const signer = parseSigner(sender);
    this.#signers.set(sender.privateKeyPem, signer);
    evictOldest(this.#signers, this.#maxTokens);
    return signer;
  }
}

function parseSigner(sender: VapidSender): Signer {
  let key: KeyObject;
  let publicKey: KeyObject;
  try {
    key = createPrivateKey({ key: sender.privateKeyPem, format: 'pem' });
    publicKey = createPublicKey({ key: sender.publicKeyPem, format: 'pem' });
  } catch (cause) {
    throw new VapidKeyError('VAPID keys must be PEM-encoded', { cause });
  }
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new VapidKeyError('the VAPID private key must be a P-256 key');
  }
  // A mismatched pair would show up only as 401/403 from every push service.
  const derived = createPublicKey(key).export({ format: 'der', type: 'spki' });
  if (!derived.equals(publicKey.export({ format: 'der', type: 'spki' }))) {
    throw new VapidKeyError('the VAPID public key does not belong to the private key');
  }
  const jwk = publicKey.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x ?? '', 'base64url'), Buffer.from(jwk.y ?? '', 'base64url')]);
  return { key, k: point.toString('base64url') };
}

function evictOldest<V>(map: Map<string, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
