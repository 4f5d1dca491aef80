import { err, openWithKeyring, type KeyringOpenError, type Result, type SealedSecret, type SecretKeyring } from '@pushcast/domain';

/**
 * What every sealed column shares (project_credentials, senders, pushcast_secrets): why a value does
 * not open, and the row fields a sealed value is stored in.
 */

/**
 * Why a sealed value cannot be opened:
 * - `secret_key_not_configured`: this process has no PUSHCAST_SECRET_KEY;
 * - `wrong_secret_key`: it was sealed under a key this process holds neither as PUSHCAST_SECRET_KEY
 *   nor in PUSHCAST_SECRET_KEY_PREVIOUS (its key id names no key it holds);
 * - `tampered`: the key is held, but the value was changed or belongs to another row.
 */
export type SecretUnreadableReason = 'secret_key_not_configured' | 'wrong_secret_key' | 'tampered';

export function unreadableReason(error: KeyringOpenError): SecretUnreadableReason {
  switch (error) {
    case 'no_key':
      return 'secret_key_not_configured';
    case 'unknown_key':
      return 'wrong_secret_key';
    case 'tampered':
      return 'tampered';
    default: {
      const never: never = error;
      throw new Error(`unknown keyring error ${String(never)}`);
    }
  }
}

/** Opens a sealed value with the key it names, saying why when it does not open. */
export function openSealed(ring: SecretKeyring, sealed: SealedSecret, aad: string): Result<Buffer, SecretUnreadableReason> {
  const opened = openWithKeyring(ring, sealed, aad);
  return opened.ok ? opened : err(unreadableReason(opened.error));
}

/** The four parameters a sealed value is written as: key id, IV, ciphertext, tag. */
export function sealedParams(s: SealedSecret): [string, Buffer, Buffer, Buffer] {
  return [s.keyId, Buffer.from(s.iv), Buffer.from(s.ciphertext), Buffer.from(s.authTag)];
}
