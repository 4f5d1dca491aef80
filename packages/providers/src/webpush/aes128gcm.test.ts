import { createECDH, randomBytes, type ECDH } from 'node:crypto';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Aes128gcmEncrypter, SubscriptionKeyError } from './aes128gcm.ts';

// web-push's own dependency, the reference implementation of RFC 8188/8291.
const ece = createRequire(import.meta.url)('http_ece') as {
  decrypt(buffer: Buffer, params: { version: 'aes128gcm'; privateKey: ECDH; authSecret: string }): Buffer;
};

function userAgent() {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { ecdh, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

describe('Aes128gcmEncrypter', () => {
  it('produces bodies the user agent decrypts (http_ece), with a fresh key and salt every message', () => {
    const e = new Aes128gcmEncrypter();
    const ua = userAgent();
    const seenKeys = new Set<string>();
    const seenSalts = new Set<string>();
    for (const text of ['', 'hello', 'é'.repeat(500), 'x'.repeat(3993)]) {
      for (let i = 0; i < 3; i += 1) {
        const body = e.encrypt(ua.keys, Buffer.from(text));
        expect(body.readUInt32BE(16)).toBe(4096);
        expect(body[20]).toBe(65);
        expect(body.length).toBe(86 + Buffer.byteLength(text) + 1 + 16);
        seenSalts.add(body.subarray(0, 16).toString('hex'));
        seenKeys.add(body.subarray(21, 86).toString('hex'));
        expect(ece.decrypt(body, { version: 'aes128gcm', privateKey: ua.ecdh, authSecret: ua.keys.auth }).toString()).toBe(text);
      }
    }
    expect(seenKeys.size).toBe(12);
    expect(seenSalts.size).toBe(12);
  });

  it('takes standard base64 keys too, and a longer auth secret as web-push does', () => {
    const ua = userAgent();
    const auth = randomBytes(24).toString('base64');
    const body = new Aes128gcmEncrypter().encrypt({ p256dh: ua.ecdh.getPublicKey().toString('base64'), auth }, Buffer.from('hi'));
    expect(ece.decrypt(body, { version: 'aes128gcm', privateKey: ua.ecdh, authSecret: Buffer.from(auth, 'base64').toString('base64url') }).toString()).toBe('hi');
  });

  it('refuses unusable keys and a plaintext beyond one record', () => {
    const e = new Aes128gcmEncrypter();
    const ua = userAgent();
    const notOnCurve = Buffer.alloc(65, 1);
    notOnCurve[0] = 4;
    for (const keys of [
      { ...ua.keys, p256dh: 'not-a-key' },
      { ...ua.keys, p256dh: ua.ecdh.getPublicKey('base64url', 'compressed') },
      { ...ua.keys, p256dh: notOnCurve.toString('base64url') },
      { ...ua.keys, auth: 'c2hvcnQ' },
    ]) {
      expect(() => e.encrypt(keys, Buffer.from('x'))).toThrow(SubscriptionKeyError);
    }
    expect(() => e.encrypt(ua.keys, Buffer.alloc(4080))).toThrow(RangeError);
    // Still usable after a refusal.
    expect(ece.decrypt(e.encrypt(ua.keys, Buffer.from('ok')), { version: 'aes128gcm', privateKey: ua.ecdh, authSecret: ua.keys.auth }).toString()).toBe('ok');
  });
});
