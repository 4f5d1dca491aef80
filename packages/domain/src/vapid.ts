import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { err, ok, type Result } from './result.ts';

export interface VapidKeyPair {
  /** PEM, SEC1 (`-----BEGIN EC PRIVATE KEY-----`), as Pushpad shows it. */
  readonly privateKeyPem: string;
  /** PEM, SPKI (`-----BEGIN PUBLIC KEY-----`). */
  readonly publicKeyPem: string;
}

export function generateVapidKeyPair(): VapidKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return toPems(privateKey, publicKey);
}

export interface VapidKeyProblem {
  readonly field: 'vapid_private_key' | 'vapid_public_key';
  readonly rule: 'pem' | 'p256' | 'key_mismatch' | 'both_or_neither';
  readonly message: string;
}

/**
 * Checks keys a user supplied: PEM, P-256, and a public key that belongs to the private key.
 * Returns them normalised to the PEM forms we serve.
 */
export function parseVapidKeyPair(privatePem: string, publicPem: string): Result<VapidKeyPair, VapidKeyProblem> {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privatePem, format: 'pem' });
  } catch {
    return err({ field: 'vapid_private_key', rule: 'pem', message: 'must be a PEM-encoded EC private key' });
  }
  if (privateKey.asymmetricKeyType !== 'ec' || privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return err({ field: 'vapid_private_key', rule: 'p256', message: 'must be a P-256 (prime256v1) key' });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: publicPem, format: 'pem' });
  } catch {
    return err({ field: 'vapid_public_key', rule: 'pem', message: 'must be a PEM-encoded public key' });
  }
  const derived = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  if (!derived.equals(publicKey.export({ format: 'der', type: 'spki' }))) {
    return err({ field: 'vapid_public_key', rule: 'key_mismatch', message: 'does not belong to vapid_private_key' });
  }
  return ok(toPems(privateKey, publicKey));
}

/** The public key as the 65-byte point, base64url: what `pushManager.subscribe` takes. */
export function vapidApplicationServerKey(publicKeyPem: string): string {
  const jwk = createPublicKey(publicKeyPem).export({ format: 'jwk' });
  return Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]).toString(
    'base64url',
  );
}

function toPems(privateKey: KeyObject, publicKey: KeyObject): VapidKeyPair {
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
  };
}

/** AAD of a sender's sealed VAPID private key: a sealed key copied to another sender does not open. */
export function vapidKeyAad(senderId: number): string {
  return `pushcast:vapid:${senderId}`;
}
