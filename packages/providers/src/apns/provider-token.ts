import { sign, type KeyObject } from 'node:crypto';

/**
 * Where APNs provider tokens (ES256 JWTs) come from. Apple answers 429 TooManyProviderTokenUpdates
 * when a key's token changes more often than every 20 minutes, so every worker process of a
 * deployment must use the same token: the implementation shares it (Redis, see
 * `@pushcast/redis-state` RedisApnsTokenStore), minting a new one only when it is old.
 */
export interface ApnsProviderTokens {
  /** The current token for this key, minted if there is none or it is old. */
  current(key: ApnsSigningKey): Promise<string>;
  /** Apple said ExpiredProviderToken for `token`: the next `current()` mints a new one (once, for everyone). */
  rejected(key: ApnsSigningKey, token: string): Promise<void>;
}

export interface ApnsSigningKey {
  /** Identifies the Apple key (`<team id>.<key id>`): tokens are shared per key, across projects and processes. */
  readonly id: string;
  readonly keyId: string;
  readonly teamId: string;
  readonly privateKey: KeyObject;
}

/** Apple: a token older than an hour is refused; refresh after 20 minutes at the earliest. Reused for 50. */
export const APNS_TOKEN_REUSE_S = 50 * 60;

/** An APNs provider token: header {alg: ES256, kid}, claims {iss: team id, iat}, raw r||s signature. */
export function mintApnsProviderToken(key: ApnsSigningKey, iatSeconds: number): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: key.keyId })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: key.teamId, iat: iatSeconds })).toString('base64url');
  const input = `${header}.${claims}`;
  const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}
