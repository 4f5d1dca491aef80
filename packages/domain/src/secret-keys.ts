import { createHash, randomBytes } from 'node:crypto';

/**
 * A project's secret keys: the Beams `secretKey` of the project's instance (the Publish API's
 * Bearer, and the HS256 key of its user JWTs) and CloudSignal's `X-Secret-Key`. Several may be
 * live at once (rotation). Stored twice: SHA-256 for lookups by the key a request carries, and
 * sealed under PUSHCAST_SECRET_KEY, since verifying a user JWT needs the key itself.
 */
export interface ProjectSecretKey {
  readonly id: number;
  readonly projectId: number;
  /** The first characters, so that people can tell their keys apart in listings. */
  readonly prefix: string;
  readonly createdAt: Date;
}

/** `sk_` + 32 random bytes (base64url): the prefix makes leaked keys easy to find with secret scanners. */
export function generateSecretKey(): string {
  return `sk_${randomBytes(32).toString('base64url')}`;
}

export function hashSecretKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export const secretKeyPrefix = (key: string): string => key.slice(0, 8);

/** AAD of a sealed secret key: a row moved to another id does not open. */
export const projectSecretKeyAad = (keyId: number): string => `pushcast:secret-key:${keyId}`;

/** A fresh key and what is stored beside it to find it. */
export function newProjectSecretKey(): { secretKey: string; keyHash: Buffer; prefix: string } {
  const secretKey = generateSecretKey();
  return { secretKey, keyHash: hashSecretKey(secretKey), prefix: secretKeyPrefix(secretKey) };
}
