import { createECDH, createHmac, type ECDH } from 'node:crypto';

export const DEFAULT_SEED = 'pushcast-local';

/** URL-safe, and short enough to stay a sane path segment. */
const ID_PATTERN = /^[A-Za-z0-9._~-]{1,256}$/;

export function isValidSubscriptionId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/**
 * The user agent's P-256 key for `id`. Derived rather than stored so that a million subscribers cost
 * no memory, and so that another process (the benchmark seeding its database) gets the same keys from
 * the same seed without talking to the service.
 */
export function deriveEcdh(seed: string, id: string): ECDH {
  // A 32-byte HMAC is outside [1, n-1] with probability ~2^-32; the counter only exists so that the
  // derivation is total.
  for (let counter = 0; ; counter++) {
    const label = counter === 0 ? `ecdh:${id}` : `ecdh:${id}:${counter}`;
    const scalar = createHmac('sha256', seed).update(label).digest();
    const ecdh = createECDH('prime256v1');
    try {
      ecdh.setPrivateKey(scalar);
      return ecdh;
    } catch {
      // not a valid scalar: try the next counter
    }
  }
}

export function deriveAuthSecret(seed: string, id: string): Buffer {
  return createHmac('sha256', seed).update(`auth:${id}`).digest().subarray(0, 16);
}

export interface DerivedSubscription {
  endpoint: string;
  p256dh: string;
  auth: string;
}

/** The subscription a browser would hand out for `id` at `origin`; ~22 µs (one EC point multiplication). */
export function deriveSubscription(origin: string, id: string, seed: string = DEFAULT_SEED): DerivedSubscription {
  if (!isValidSubscriptionId(id)) {
    throw new Error(`subscription id must match ${ID_PATTERN.source}: ${JSON.stringify(id)}`);
  }
  return {
    endpoint: `${origin}/push/${id}`,
    p256dh: deriveEcdh(seed, id).getPublicKey().toString('base64url'),
    auth: deriveAuthSecret(seed, id).toString('base64url'),
  };
}
