import { createCipheriv, createECDH, randomFillSync, type ECDH } from 'node:crypto';
import { hmacSha256 } from '@pushcast/domain';

/**
 * RFC 8291 message encryption (Web Push, "aes128gcm" content coding of RFC 8188), one record, as
 * web-push's `encrypt` (http_ece) produces it, without its per-message overhead (parameter parsing,
 * key re-encoding, a new ECDH object and a Buffer.concat per step). Every message still gets a fresh
 * application-server ECDH key pair and a fresh random salt, as RFC 8291 §3.1 requires: only the
 * `ECDH` object that holds the key is reused (`generateKeys()` replaces its key pair each time;
 * creating the object costs as much again as generating a key).
 *
 * Native objects made per message cost the garbage collector most (docs/benchmarks.md: each is
 * finalised by a weak callback on the main thread at the next scavenge), so HKDF's HMACs are
 * one-shot hashes (@pushcast/domain's hmac-sha256.ts) and salts come from a buffer of CSPRNG bytes filled once per
 * SALTS_PER_FILL messages: of the seven such objects a message made, the cipher alone is left.
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
const DELIMITER = Buffer.from([2]);
const SALT_BYTES = 16;
const SALTS_PER_FILL = 256;
/** KEY_INFO ‖ ua_public ‖ as_public ‖ 0x01: the IKM's HKDF-Expand input. */
const IKM_INPUT_BYTES = KEY_INFO.length + 65 + 65 + 1;

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
  /** Random salts, each used once; refilled when all are used. */
  readonly #salts = Buffer.alloc(SALT_BYTES * SALTS_PER_FILL);
  #saltAt = this.#salts.length;

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
    if (this.#saltAt === this.#salts.length) {
      randomFillSync(this.#salts);
      this.#saltAt = 0;
    }
    this.#salts.copy(body, 0, this.#saltAt, this.#saltAt + SALT_BYTES);
    this.#saltAt += SALT_BYTES;
    const salt = body.subarray(0, SALT_BYTES);
    body.writeUInt32BE(RECORD_SIZE, 16);
    body[20] = 65;
    asPublic.copy(body, 21);

    const ikmInput = Buffer.allocUnsafe(IKM_INPUT_BYTES);
    let i = KEY_INFO.copy(ikmInput, 0);
    i += uaPublic.copy(ikmInput, i);
    i += asPublic.copy(ikmInput, i);
    ikmInput[i] = 1;
    const ikm = hmacSha256(hmacSha256(authSecret, ecdhSecret), ikmInput);
    const prk = hmacSha256(salt, ikm);
    const cek = hmacSha256(prk, CEK_INFO).subarray(0, 16);
    const nonce = hmacSha256(prk, NONCE_INFO).subarray(0, 12);

    const cipher = createCipheriv('aes-128-gcm', cek, nonce);
    let at = HEADER_BYTES;
    at += cipher.update(plaintext).copy(body, at);
    at += cipher.update(DELIMITER).copy(body, at);
    at += cipher.final().copy(body, at);
    cipher.getAuthTag().copy(body, at);
    return body;
  }
}
