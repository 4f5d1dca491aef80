import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';

/** `pc_` + 32 random bytes: the prefix makes leaked tokens easy to find with secret scanners. */
export function generateAccessToken(): string {
  return `pc_${randomBytes(32).toString('base64url')}`;
}

export function hashAccessToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export const tokenPrefix = (token: string): string => token.slice(0, 8);

/**
 * Sites prove a uid with `signature_for(uid)` = hex HMAC-SHA256(key = access token, message = uid),
 * as Pushpad's clients compute it. Pushcast keeps tokens only hashed, so it cannot key an HMAC with
 * the token later. HMAC needs only the SHA-256 states after the key's inner and outer pad blocks
 * (RFC 2104 §4 suggests precomputing them); those 64 bytes let us verify signatures and do not reveal
 * the token or its SHA-256 hash.
 */
type Sha256State = { get(): number[]; set(...words: number[]): void; length: number };
type HmacInternals = { iHash: Sha256State; oHash: Sha256State };

export function hmacKeyState(token: string): Buffer {
  const mac = hmac.create(sha256, new TextEncoder().encode(token)) as unknown as HmacInternals;
  const words = [...mac.iHash.get(), ...mac.oHash.get()];
  const state = Buffer.alloc(64);
  words.forEach((w, i) => state.writeInt32BE(w, i * 4));
  return state;
}

function resume(state: Buffer, offset: number): Sha256State & ReturnType<typeof sha256.create> {
  const hash = sha256.create() as unknown as Sha256State & ReturnType<typeof sha256.create>;
  const words = Array.from({ length: 8 }, (_, i) => state.readInt32BE(offset + i * 4));
  hash.set(...words);
  hash.length = 64; // one 64-byte pad block already absorbed
  return hash;
}

/** The signature a site holding the token would compute for this uid (lowercase hex). */
export function uidSignatureFromState(state: Buffer, uid: string): string {
  const inner = resume(state, 0).update(new TextEncoder().encode(uid)).digest();
  return Buffer.from(resume(state, 32).update(inner).digest()).toString('hex');
}

export function verifyUidSignature(state: Buffer, uid: string, signature: string): boolean {
  const expected = Buffer.from(uidSignatureFromState(state, uid), 'hex');
  const given = /^[0-9a-fA-F]{64}$/.test(signature) ? Buffer.from(signature, 'hex') : Buffer.alloc(0);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A fresh token and everything that is stored of it (the token itself is not). */
export function newAccessTokenSecret(): {
  token: string;
  tokenHash: Buffer;
  tokenPrefix: string;
  hmacKeyState: Buffer;
} {
  const token = generateAccessToken();
  return { token, tokenHash: hashAccessToken(token), tokenPrefix: tokenPrefix(token), hmacKeyState: hmacKeyState(token) };
}
