import { createPublicKey } from 'node:crypto';

/**
 * Browsers give keys in base64url; imports and Pushpad's docs use standard base64 with padding.
 * Both are accepted, anything else is not base64 at all.
 */
export function decodeBase64Any(value: string): Buffer | null {
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) return null;
  const unpadded = value.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  return Buffer.from(unpadded.replace(/\+/g, '-').replace(/\//g, '_'), 'base64url');
}

/** A 65-byte uncompressed point that lies on P-256 (what RFC 8291 needs for the ECDH). */
export function isP256PublicKey(bytes: Buffer): boolean {
  if (bytes.length !== 65 || bytes[0] !== 0x04) return false;
  try {
    createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: bytes.subarray(1, 33).toString('base64url'), y: bytes.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    return true;
  } catch {
    return false;
  }
}

export const AUTH_SECRET_BYTES = 16;
