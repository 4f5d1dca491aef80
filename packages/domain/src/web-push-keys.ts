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

// P-256's field prime and curve constant b (SEC 2, §2.4.2; the curve is y² = x³ - 3x + b mod p).
const P256_P = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn;
const P256_B = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn;

/**
 * A 65-byte uncompressed point that lies on P-256 (what RFC 8291 needs for the ECDH). The curve
 * equation is checked with BigInt rather than by building a KeyObject: the same answer (P-256 has
 * cofactor 1, so every point on the curve is a valid public key) in ~6 µs instead of ~65 µs, which
 * is what lets a bulk import validate tens of thousands of rows a second (docs/benchmarks.md).
 */
export function isP256PublicKey(bytes: Buffer): boolean {
  if (bytes.length !== 65 || bytes[0] !== 0x04) return false;
  const x = BigInt(`0x${bytes.toString('hex', 1, 33)}`);
  const y = BigInt(`0x${bytes.toString('hex', 33, 65)}`);
  if (x >= P256_P || y >= P256_P) return false;
  return (y * y - (x * x * x - 3n * x + P256_B)) % P256_P === 0n;
}

export const AUTH_SECRET_BYTES = 16;
