import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { err, ok, type Result } from './result.ts';

/**
 * Secrets at rest: AES-256-GCM under one 32-byte key (PUSHCAST_SECRET_KEY). Every seal draws a
 * fresh 12-byte IV; the additional authenticated data (AAD) binds the ciphertext to where it
 * belongs, so that a sealed value copied elsewhere does not open. Beside the ciphertext goes a
 * short id of the key, so that "sealed under another key" is told apart from "tampered with".
 */

export const SECRET_KEY_BYTES = 32;
export const SECRET_IV_BYTES = 12;
export const SECRET_TAG_BYTES = 16;

export interface SealedSecret {
  /** `secretKeyId` of the key it was sealed under. */
  readonly keyId: string;
  readonly iv: Uint8Array;
  readonly ciphertext: Uint8Array;
  readonly authTag: Uint8Array;
}

/**
 * Why a sealed value does not open:
 * - `wrong_key`: it was sealed under another key (its key id differs), or the key is not 32 bytes;
 * - `tampered`: the key is the right one, but the ciphertext, IV, tag or AAD do not match (changed,
 *   truncated, or moved to another owner).
 */
export type OpenSecretError = 'wrong_key' | 'tampered';

/** First 8 bytes of SHA-256 of the key, as 16 hex digits: identifies the key, reveals nothing of it. */
export function secretKeyId(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Seals `plaintext` under `key`, bound to `aad`. Throws only on a key that is not 32 bytes (a programming error: the configuration checks it). */
export function sealSecret(key: Uint8Array, plaintext: string | Uint8Array, aad: string): SealedSecret {
  if (key.length !== SECRET_KEY_BYTES) throw new RangeError(`the secret key must be ${SECRET_KEY_BYTES} bytes`);
  const iv = randomBytes(SECRET_IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: SECRET_TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const ciphertext = Buffer.concat([cipher.update(data), cipher.final()]);
  return { keyId: secretKeyId(key), iv, ciphertext, authTag: cipher.getAuthTag() };
}

/** Opens what `sealSecret` sealed with the same key and AAD; any mismatch is an error value, never an exception. */
export function openSecret(key: Uint8Array, sealed: SealedSecret, aad: string): Result<Buffer, OpenSecretError> {
  if (key.length !== SECRET_KEY_BYTES || sealed.keyId !== secretKeyId(key)) return err('wrong_key');
  if (sealed.iv.length !== SECRET_IV_BYTES || sealed.authTag.length !== SECRET_TAG_BYTES) return err('tampered');
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, sealed.iv, { authTagLength: SECRET_TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(sealed.authTag);
    return ok(Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]));
  } catch {
    // GCM's tag check is the only thing that throws here ("Unsupported state or unable to authenticate data").
    return err('tampered');
  }
}

/**
 * The keys a process holds: the current one (PUSHCAST_SECRET_KEY), which seals everything new, and
 * previous ones (PUSHCAST_SECRET_KEY_PREVIOUS), which only open. A sealed value names its key by id,
 * so opening looks the key up instead of trying each one.
 */
export interface SecretKeyring {
  /** Seals new values; undefined = no PUSHCAST_SECRET_KEY (nothing can be sealed). */
  readonly current: Buffer | undefined;
  /** `secretKeyId` of `current`. */
  readonly currentId: string | undefined;
  /** Every key that opens (the current one and the previous ones), by key id. */
  readonly byId: ReadonlyMap<string, Buffer>;
}

export function secretKeyring(current: Uint8Array | undefined, previous: readonly Uint8Array[] = []): SecretKeyring {
  const byId = new Map<string, Buffer>();
  for (const key of [...(current === undefined ? [] : [current]), ...previous]) {
    if (key.length !== SECRET_KEY_BYTES) throw new RangeError(`the secret key must be ${SECRET_KEY_BYTES} bytes`);
    const id = secretKeyId(key);
    if (!byId.has(id)) byId.set(id, Buffer.from(key));
  }
  const currentKey = current === undefined ? undefined : Buffer.from(current);
  return Object.freeze({
    current: currentKey,
    currentId: currentKey === undefined ? undefined : secretKeyId(currentKey),
    byId,
  });
}

/** A keyring without any key: a deployment without PUSHCAST_SECRET_KEY. */
export const NO_SECRET_KEYS: SecretKeyring = secretKeyring(undefined);

/**
 * Why a keyring does not open a sealed value:
 * - `no_key`: the keyring is empty (no PUSHCAST_SECRET_KEY);
 * - `unknown_key`: it was sealed under a key the keyring does not hold (neither current nor previous);
 * - `tampered`: the key is held, but the value was changed or belongs elsewhere (AAD).
 */
export type KeyringOpenError = 'no_key' | 'unknown_key' | 'tampered';

/** Opens with the key the value names (current or previous); no trial of the others. */
export function openWithKeyring(ring: SecretKeyring, sealed: SealedSecret, aad: string): Result<Buffer, KeyringOpenError> {
  if (ring.byId.size === 0) return err('no_key');
  const key = ring.byId.get(sealed.keyId);
  if (key === undefined) return err('unknown_key');
  const opened = openSecret(key, sealed, aad);
  return opened.ok ? opened : err(opened.error === 'wrong_key' ? 'unknown_key' : 'tampered');
}

/** Seals under the keyring's current key; `no_key` when there is none. */
export function sealWithKeyring(ring: SecretKeyring, plaintext: string | Uint8Array, aad: string): Result<SealedSecret, 'no_key'> {
  return ring.current === undefined ? err('no_key') : ok(sealSecret(ring.current, plaintext, aad));
}

/** Whether a value sealed under `keyId` is already under the keyring's current key (rekey leaves it alone). */
export function isUnderCurrentKey(ring: SecretKeyring, keyId: string): boolean {
  return ring.currentId !== undefined && keyId === ring.currentId;
}

/** AAD of a secret Pushcast keeps for itself (`pushcast_secrets`, by name). */
export function storedSecretAad(name: string): string {
  return `pushcast:secret:${name}`;
}
