import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  isUnderCurrentKey,
  NO_SECRET_KEYS,
  openSecret,
  openWithKeyring,
  sealSecret,
  sealWithKeyring,
  secretKeyId,
  secretKeyring,
  type SealedSecret,
} from './secret-box.ts';

const key = randomBytes(32);
const aad = 'pushcast:credentials:7:apns';
const plaintext = '{"key":"-----BEGIN PRIVATE KEY-----\\nsecret\\n-----END PRIVATE KEY-----\\n"}';

const flip = (bytes: Uint8Array, at = 0) => {
  const copy = Buffer.from(bytes);
  copy[at]! ^= 1;
  return copy;
};

describe('secret box (AES-256-GCM)', () => {
  it('opens what it sealed, with the same key and AAD', () => {
    const sealed = sealSecret(key, plaintext, aad);
    expect(sealed.keyId).toBe(secretKeyId(key));
    expect(sealed.iv).toHaveLength(12);
    expect(sealed.authTag).toHaveLength(16);
    expect(Buffer.from(sealed.ciphertext).includes(Buffer.from('secret'))).toBe(false);
    const opened = openSecret(key, sealed, aad);
    expect(opened.ok && opened.value.toString('utf8')).toBe(plaintext);
  });

  it('draws a fresh IV per seal, so equal plaintexts give different ciphertexts', () => {
    const a = sealSecret(key, plaintext, aad);
    const b = sealSecret(key, plaintext, aad);
    expect(Buffer.compare(Buffer.from(a.iv), Buffer.from(b.iv))).not.toBe(0);
    expect(Buffer.compare(Buffer.from(a.ciphertext), Buffer.from(b.ciphertext))).not.toBe(0);
  });

  it('tells a wrong key (by its id) from tampering, as values', () => {
    const sealed = sealSecret(key, plaintext, aad);
    expect(openSecret(randomBytes(32), sealed, aad)).toEqual({ ok: false, error: 'wrong_key' });
    expect(openSecret(randomBytes(16), sealed, aad)).toEqual({ ok: false, error: 'wrong_key' });
    const tampered: SealedSecret[] = [
      { ...sealed, ciphertext: flip(sealed.ciphertext, 3) },
      { ...sealed, iv: flip(sealed.iv) },
      { ...sealed, authTag: flip(sealed.authTag, 15) },
      { ...sealed, authTag: Buffer.from(sealed.authTag).subarray(0, 12) },
      { ...sealed, iv: Buffer.alloc(16) },
      { ...sealed, ciphertext: Buffer.from(sealed.ciphertext).subarray(1) },
    ];
    for (const t of tampered) expect(openSecret(key, t, aad)).toEqual({ ok: false, error: 'tampered' });
    // Another owner's AAD: the row was moved.
    expect(openSecret(key, sealed, 'pushcast:credentials:8:apns')).toEqual({ ok: false, error: 'tampered' });
    expect(openSecret(key, sealed, 'pushcast:credentials:7:fcm')).toEqual({ ok: false, error: 'tampered' });
  });

  it('the key id is 16 hex digits, stable per key, and differs between keys', () => {
    expect(secretKeyId(key)).toMatch(/^[0-9a-f]{16}$/);
    expect(secretKeyId(Buffer.from(key))).toBe(secretKeyId(key));
    expect(secretKeyId(randomBytes(32))).not.toBe(secretKeyId(key));
  });

  it('refuses to seal under a key that is not 32 bytes', () => {
    expect(() => sealSecret(randomBytes(31), plaintext, aad)).toThrow(RangeError);
  });
});

describe('secret keyring (current + previous keys)', () => {
  const current = randomBytes(32);
  const previous = randomBytes(32);
  const older = randomBytes(32);

  it('seals under the current key and opens values of every key it holds, by their key id', () => {
    const ring = secretKeyring(current, [previous, older]);
    const sealed = sealWithKeyring(ring, plaintext, aad);
    if (!sealed.ok) throw new Error('not sealed');
    expect(sealed.value.keyId).toBe(secretKeyId(current));
    expect(ring.currentId).toBe(secretKeyId(current));
    for (const key of [current, previous, older]) {
      const opened = openWithKeyring(ring, sealSecret(key, plaintext, aad), aad);
      expect(opened.ok && opened.value.toString('utf8')).toBe(plaintext);
    }
  });

  it('tells a key it does not hold, no key at all, and tampering apart', () => {
    const byOld = sealSecret(older, plaintext, aad);
    expect(openWithKeyring(secretKeyring(current, [previous]), byOld, aad)).toEqual({ ok: false, error: 'unknown_key' });
    expect(openWithKeyring(NO_SECRET_KEYS, byOld, aad)).toEqual({ ok: false, error: 'no_key' });
    expect(sealWithKeyring(NO_SECRET_KEYS, plaintext, aad)).toEqual({ ok: false, error: 'no_key' });
    const ring = secretKeyring(current, [older]);
    expect(openWithKeyring(ring, byOld, 'pushcast:credentials:8:apns')).toEqual({ ok: false, error: 'tampered' });
    expect(openWithKeyring(ring, { ...byOld, keyId: secretKeyId(current) }, aad)).toEqual({ ok: false, error: 'tampered' });
  });

  it('knows what is under the current key, and a previous key equal to the current one counts once', () => {
    const ring = secretKeyring(current, [current, previous]);
    expect([...ring.byId.keys()]).toEqual([secretKeyId(current), secretKeyId(previous)]);
    expect(isUnderCurrentKey(ring, secretKeyId(current))).toBe(true);
    expect(isUnderCurrentKey(ring, secretKeyId(previous))).toBe(false);
    expect(isUnderCurrentKey(secretKeyring(undefined, [previous]), secretKeyId(previous))).toBe(false);
  });
});
