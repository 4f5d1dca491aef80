import { createCipheriv, createECDH, createHmac, randomFillSync, type ECDH } from 'node:crypto';

/**
 * RFC 8291 message encryption (Web Push, "aes128gcm" content coding of RFC 8188), one record, as
 * web-push's `encrypt` (http_ece) produces it, without its per-message overhead (parameter parsing,
 * key re-encoding, a new ECDH object and a Buffer.concat per step). Every message still gets a fresh
 * application-server ECDH key pair and a fresh random salt, as RFC 8291 §3.1 requires: only the
 * `ECDH` object that holds the key is reused (`generateKeys()` replaces its key pair each time;
 * creating the object costs as much again as generating a key).
 *
 *   ecdh_secret = ECDH(as_private, ua_public)
 *   IKM   = HKDF(salt = auth_secret, ecdh_secret, "WebPush: info" ‖ 0x00 ‖ ua_public ‖ as_public, 32)
 *   CEK   = HKDF(salt, IKM, "Content-Encoding: aes128gcm" ‖ 0x00, 16)
 *   NONCE = HKDF(salt, IKM, "Content-Encoding: nonce" ‖ 0x00, 12)
 *   body  = salt(16) ‖ rs(4) = 4096 ‖ idlen(1) = 65 ‖ as_public(65) ‖ AES-128-GCM(CEK, NONCE, plaintext ‖ 0x02) ‖ tag(16)
 */
export const RECORD_SIZE = 4096;
const HEADER_BYTES = 16 + 4 + 1 + 65;
const TAG_BYTES = 16;
const KEY_INFO = Buffer.from('WebPush: info\0');
const CEK_INFO = Buffer.from('Content-Encoding: aes128gcm\0\x01');
const NONCE_INFO = Buffer.from('Content-Encoding: nonce\0\x01');
const ONE = Buffer.from([1]);
const DELIMITER = Buffer.from([2]);

/** The subscription's keys cannot be used (wrong length, not a point on P-256). */
export class SubscriptionKeyError extends Error {
  override readonly name = 'SubscriptionKeyError';
}

export interface SubscriptionKeys {
  /** The user agent's P-256 public key, uncompressed (65 bytes), base64url or base64. */
  readonly p256dh: string;
  /** Its auth secret, at least 16 bytes, base64url or base64. */
  readonly auth: string;
}

/** Encrypts Web Push payloads; not safe to share between threads (it is not: one per client). */
export class Aes128gcmEncrypter {
  readonly #ecdh: ECDH = createECDH('prime256v1');

  /** The request body for `keys`; throws SubscriptionKeyError when the keys are unusable. */
  encrypt(keys: SubscriptionKeys, plaintext: Buffer): Buffer {
    // One record holds the plaintext, its delimiter and the tag (RFC 8188 §2).
    if (plaintext.length + 1 + TAG_BYTES > RECORD_SIZE) throw new RangeError(`a plaintext of ${plaintext.length} bytes does not fit one record`);
    // Node decodes either alphabet for 'base64url' (RFC 8291 says base64url; some clients send base64).
    const uaPublic = Buffer.from(keys.p256dh, 'base64url');
    const authSecret = Buffer.from(keys.auth, 'base64url');
    if (uaPublic.length !== 65 || uaPublic[0] !== 4) throw new SubscriptionKeyError('p256dh must be an uncompressed P-256 point (65 bytes)');
    if (authSecret.length < 16) throw new SubscriptionKeyError('auth must be at least 16 bytes');

    const asPublic = this.#ecdh.generateKeys();
    let ecdhSecret: Buffer;
    try {
      ecdhSecret = this.#ecdh.computeSecret(uaPublic);
    } catch (cause) {
      throw new SubscriptionKeyError('p256dh is not a point on P-256', { cause });
    }

    const body = Buffer.allocUnsafe(HEADER_BYTES + plaintext.length + 1 + TAG_BYTES);
    const salt = randomFillSync(body, 0, 16).subarray(0, 16);
    body.writeUInt32BE(RECORD_SIZE, 16);
    body[20] = 65;
    asPublic.copy(body, 21);

    const prkKey = createHmac('sha256', authSecret).update(ecdhSecret).digest();
    const ikm = createHmac('sha256', prkKey).update(KEY_INFO).update(uaPublic).update(asPublic).update(ONE).digest();
    const prk = createHmac('sha256', salt).update(ikm).digest();
    const cek = createHmac('sha256', prk).update(CEK_INFO).digest().subarray(0, 16);
    const nonce = createHmac('sha256', prk).update(NONCE_INFO).digest().subarray(0, 12);

    const cipher = createCipheriv('aes-128-gcm', cek, nonce);
    let at = HEADER_BYTES;
    at += cipher.update(plaintext).copy(body, at);
    at += cipher.update(DELIMITER).copy(body, at);
    at += cipher.final().copy(body, at);
    cipher.getAuthTag().copy(body, at);
    return body;
  }
}
