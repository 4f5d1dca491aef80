import { createECDH, createPublicKey, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isP256PublicKey } from './web-push-keys.ts';

/** What OpenSSL says: a KeyObject can be built from the point only if it lies on P-256. */
function opensslAccepts(bytes: Buffer): boolean {
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

describe('isP256PublicKey', () => {
  it('accepts the keys browsers make', () => {
    for (let i = 0; i < 200; i += 1) {
      const ecdh = createECDH('prime256v1');
      ecdh.generateKeys();
      expect(isP256PublicKey(ecdh.getPublicKey())).toBe(true);
    }
  });

  it('agrees with OpenSSL on points off the curve, near it and outside the field', () => {
    const valid = createECDH('prime256v1');
    valid.generateKeys();
    const key = valid.getPublicKey();
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 0, max: 7 }), (byte, bit) => {
        const flipped = Buffer.from(key);
        flipped[byte]! ^= 1 << bit;
        expect(isP256PublicKey(flipped)).toBe(opensslAccepts(flipped));
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 64, maxLength: 64 }), (tail) => {
        const bytes = Buffer.concat([Buffer.from([4]), Buffer.from(tail)]);
        expect(isP256PublicKey(bytes)).toBe(opensslAccepts(bytes));
      }),
      { numRuns: 300 },
    );
    // x = p (the field prime) is not a field element, whatever y is.
    const p = Buffer.from('ffffffff00000001000000000000000000000000ffffffffffffffffffffffff', 'hex');
    expect(isP256PublicKey(Buffer.concat([Buffer.from([4]), p, key.subarray(33)]))).toBe(false);
  });

  it('refuses compressed points, other prefixes and other lengths', () => {
    const ecdh = createECDH('prime256v1');
    ecdh.generateKeys();
    expect(isP256PublicKey(ecdh.getPublicKey(undefined, 'compressed'))).toBe(false);
    const other = Buffer.from(ecdh.getPublicKey());
    other[0] = 0x06;
    expect(isP256PublicKey(other)).toBe(false);
    expect(isP256PublicKey(randomBytes(66))).toBe(false);
  });
});
