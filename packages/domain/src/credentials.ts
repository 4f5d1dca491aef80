/**
 * Provider credentials of a project, as the worker uses them once opened (decrypted). They are
 * stored sealed (AES-256-GCM under PUSHCAST_SECRET_KEY), never returned whole by the API, never logged.
 */
export type DevicePlatform = 'apns' | 'fcm';

/** APNs token-based auth: the .p8 key Apple hands out and the ids printed beside it. */
export interface ApnsCredentials {
  /** PKCS#8 PEM of the EC P-256 private key (the AuthKey_XXXXXXXXXX.p8 file). */
  readonly keyPem: string;
  /** 10 characters, Apple's key id. */
  readonly keyId: string;
  /** 10 characters, the Apple developer team id. */
  readonly teamId: string;
  /** The app's bundle id: the `apns-topic` of alert and background pushes. */
  readonly topic: string;
  /** api.push.apple.com when true, api.sandbox.push.apple.com when false. */
  readonly production: boolean;
}

/** An FCM service account (the JSON file downloaded from the Firebase console), as firebase-admin's `cert()` takes it. */
export interface FcmCredentials {
  readonly projectId: string;
  readonly clientEmail: string;
  /** PKCS#8 PEM of the RSA private key. */
  readonly privateKey: string;
  readonly privateKeyId: string | null;
}

/**
 * Opened credentials with a fingerprint of their content: workers keep one provider client per
 * fingerprint, so that a project whose credentials change gets a new client and nobody else does.
 */
export type ProjectCredentials =
  | { readonly platform: 'apns'; readonly fingerprint: string; readonly apns: ApnsCredentials }
  | { readonly platform: 'fcm'; readonly fingerprint: string; readonly fcm: FcmCredentials };

/**
 * Why a channel does not send: the provider refused the project's credential for the platform
 * several times in a row; its chunks wait until the credential is replaced.
 */
export const CREDENTIALS_REJECTED = 'credentials_rejected';
