/**
 * Google's OAuth 2.0 token endpoint for service accounts (RFC 7523 JWT bearer grant), as far as a
 * service-account credential uses it: firebase-admin's `cert(serviceAccount, httpAgent)` hands the JSON
 * to google-auth-library, whose gtoken signs an RS256 assertion with the private key and POSTs it to
 * `https://oauth2.googleapis.com/token` (node_modules/google-auth-library/build/src/gtoken/):
 *
 *   grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<header>.<claims>.<signature>
 *   header {alg: "RS256"}   claims {iss: client_email, scope: "<space-separated>", aud: token URL,
 *                                   iat, exp: iat + 3600}
 *
 * and gets `{access_token, expires_in, token_type}` back. This module checks such a grant against the
 * public keys of trusted service accounts, refusing with Google's OAuth error codes and wording (the
 * `{"error", "error_description"}` shape of RFC 6749 §5.2, not the google.rpc envelope of the APIs).
 * It also makes service accounts that look like a Firebase console download.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, randomInt, verify, type KeyObject } from 'node:crypto';

export const OAUTH_HOST = 'oauth2.googleapis.com';
export const OAUTH_TOKEN_URL = `https://${OAUTH_HOST}/token`;
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** A token that carries either of these may send FCM messages. firebase-admin asks for both (and three more). */
export const FCM_SCOPES: readonly string[] = [
  'https://www.googleapis.com/auth/firebase.messaging',
  'https://www.googleapis.com/auth/cloud-platform',
];
/** What Google answers as `expires_in` for a fresh service-account token. */
export const ACCESS_TOKEN_LIFETIME_SECONDS = 3599;
/** Google refuses assertions meant to live longer than this (exp − iat). */
const MAX_ASSERTION_LIFETIME_SECONDS = 3600;
/** How far ahead of this server's clock a client's `iat` may be. */
const CLOCK_SKEW_SECONDS = 300;

/** Google's wording (error_description) for each refusal, as its token endpoint sends them. */
export const OAUTH_ERROR_DESCRIPTIONS = {
  signature: 'Invalid JWT Signature.',
  accountNotFound: 'Invalid grant: account not found',
  noIssuer: 'Invalid email or User ID.',
  issuerNotEmail: 'Not a valid email',
  audience: 'Invalid JWT: Failed audience check.',
  timeframe:
    'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values and use a clock with skew to account for clock differences between systems.',
  noScope: 'Empty or missing scope not allowed.',
  badScope: 'Invalid OAuth scope or ID token audience provided.',
  delegation: 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.',
  noAssertion: 'Missing required parameter: assertion',
} as const;

/** A service account the local server trusts, as `LocalFcmService.trustServiceAccount` takes it. */
export interface ServiceAccountToTrust {
  /** The JWT's `iss`: `client_email` of the JSON. */
  clientEmail: string;
  /** Tokens issued to this account may send to `/v1/projects/<projectId>/messages:send` only. */
  projectId: string;
  /** SPKI or PKCS#1 PEM (or an X.509 certificate, as Google publishes them); derived from `privateKeyPem` when absent. */
  publicKeyPem?: string;
  /** `private_key` of the JSON; only its public half is kept. */
  privateKeyPem?: string;
  /** `private_key_id`: when given, an assertion whose header names another `kid` is not checked against this key. */
  privateKeyId?: string;
}

/** A service account as the Firebase console downloads it, plus its parts for tests. */
export interface GeneratedServiceAccount {
  /**
   * The JSON key file: type, project_id, private_key_id, private_key, client_email, client_id,
   * auth_uri, token_uri, auth_provider_x509_cert_url, client_x509_cert_url, universe_domain.
   */
  json: Record<string, string>;
  clientEmail: string;
  projectId: string;
  privateKeyId: string;
  /** PKCS#8 PEM, as in the JSON. */
  privateKeyPem: string;
  /** SPKI PEM. */
  publicKeyPem: string;
}

/** An RSA key pair as PEM: the private half PKCS#8, as in a service account's JSON; the public half SPKI. */
export interface RsaKeyPairPem {
  privateKey: string;
  publicKey: string;
}

/** A fresh RSA-2048 key pair, as Google makes for a service account. Takes tens to hundreds of ms. */
export function generateRsaKeyPair(): RsaKeyPairPem {
  return generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
}

/**
 * A new service account with a fresh RSA-2048 key, shaped like a console download
 * (`firebase-adminsdk-xxxxx@<project>.iam.gserviceaccount.com`). Pass it to `trustServiceAccount`
 * as is, and its `json` to firebase-admin's `cert()`. Key generation takes tens to hundreds of ms;
 * `keyPair` gives one made earlier instead.
 */
export function generateServiceAccount(projectId: string, opts: { keyPair?: RsaKeyPairPem } = {}): GeneratedServiceAccount {
  if (projectId === '') throw new Error('generateServiceAccount needs a project id');
  const { privateKey, publicKey } = opts.keyPair ?? generateRsaKeyPair();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  const suffix = Array.from({ length: 5 }, () => alphabet[randomInt(alphabet.length)]).join('');
  const clientEmail = `firebase-adminsdk-${suffix}@${projectId}.iam.gserviceaccount.com`;
  const privateKeyId = randomBytes(20).toString('hex');
  const clientId = `1${Array.from({ length: 20 }, () => randomInt(10)).join('')}`;
  const json: Record<string, string> = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: privateKeyId,
    private_key: privateKey,
    client_email: clientEmail,
    client_id: clientId,
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: OAUTH_TOKEN_URL,
    auth_provider_x509_cert_url: 'https://www.googleapis.com/oauth2/v1/certs',
    client_x509_cert_url: `https://www.googleapis.com/robot/v1/metadata/x509/${encodeURIComponent(clientEmail)}`,
    universe_domain: 'googleapis.com',
  };
  return { json, clientEmail, projectId, privateKeyId, privateKeyPem: privateKey, publicKeyPem: publicKey };
}

export interface TrustedKey {
  key: KeyObject;
  keyId: string | undefined;
  /** SPKI DER, to recognise the same key given twice. */
  fingerprint: string;
}

/** The RSA public key of a service account to trust; throws on a missing, non-RSA or mismatched key. */
export function trustedKeyOf(sa: ServiceAccountToTrust): TrustedKey {
  if (typeof sa.clientEmail !== 'string' || sa.clientEmail === '') throw new Error('clientEmail is required');
  if (typeof sa.projectId !== 'string' || sa.projectId === '') throw new Error('projectId is required');
  let key: KeyObject;
  if (sa.publicKeyPem !== undefined) {
    key = createPublicKey(sa.publicKeyPem);
    if (sa.privateKeyPem !== undefined && !sameKey(key, createPublicKey(createPrivateKey(sa.privateKeyPem)))) {
      throw new Error(`publicKeyPem and privateKeyPem of ${sa.clientEmail} are not one key pair`);
    }
  } else if (sa.privateKeyPem !== undefined) {
    key = createPublicKey(createPrivateKey(sa.privateKeyPem));
  } else {
    throw new Error(`${sa.clientEmail}: give publicKeyPem or privateKeyPem`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new Error(`${sa.clientEmail}: an RS256 key must be RSA, got ${key.asymmetricKeyType}`);
  return { key, keyId: sa.privateKeyId, fingerprint: fingerprintOf(key) };
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return fingerprintOf(a) === fingerprintOf(b);
}

function fingerprintOf(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'der' }).toString('base64');
}

export interface TrustedAccount {
  projectId: string;
  keys: TrustedKey[];
}

export type GrantOutcome =
  | { ok: true; clientEmail: string; projectId: string; scope: string }
  | {
      ok: false;
      status: number;
      error: string;
      description: string;
      /** The assertion's `iss`, when it got that far. */
      clientEmail?: string;
    };

/**
 * Checks a token request body (already form-decoded) the way Google does for a service account's
 * JWT bearer grant. Checks run in this order, the first failure answering:
 * grant_type → assertion present → JWS shape and `alg: RS256` → `iss` → account trusted → signature
 * (against the account's keys, or the one whose id is the header's `kid`) → `aud` → `iat`/`exp`
 * (exp in the future, at most 3600 s after iat, iat no more than 5 min ahead) → `sub` (no domain-wide
 * delegation here) → `scope` (one of {@link FCM_SCOPES}).
 *
 * One deliberate difference: Google issues a token for any valid scope and lets FCM refuse it later
 * (403 insufficient scopes); here a scope set without FCM's is refused at once as `invalid_scope`.
 */
export function checkJwtBearerGrant(
  form: URLSearchParams,
  lookup: (clientEmail: string) => TrustedAccount | undefined,
  nowMs: number,
): GrantOutcome {
  const refuse = (error: string, description: string, clientEmail?: string, status = 400): GrantOutcome =>
    clientEmail === undefined ? { ok: false, status, error, description } : { ok: false, status, error, description, clientEmail };
  const D = OAUTH_ERROR_DESCRIPTIONS;

  const grantType = form.get('grant_type') ?? '';
  if (grantType !== JWT_BEARER_GRANT_TYPE) return refuse('unsupported_grant_type', `Invalid grant_type: ${grantType}`);
  const assertion = form.get('assertion');
  if (assertion === null || assertion === '') return refuse('invalid_request', D.noAssertion);

  const parts = assertion.split('.');
  const [headerPart, claimsPart, signaturePart] = parts;
  if (parts.length !== 3 || headerPart === undefined || claimsPart === undefined || signaturePart === undefined) {
    return refuse('invalid_grant', D.signature);
  }
  if (![headerPart, claimsPart, signaturePart].every((p) => /^[A-Za-z0-9_-]+$/.test(p))) return refuse('invalid_grant', D.signature);
  const header = decodeJson(headerPart);
  const claims = decodeJson(claimsPart);
  if (header === undefined || claims === undefined || header['alg'] !== 'RS256') return refuse('invalid_grant', D.signature);

  const iss = claims['iss'];
  if (typeof iss !== 'string' || iss === '') return refuse('invalid_grant', D.noIssuer);
  if (!iss.includes('@')) return refuse('invalid_grant', D.issuerNotEmail, iss);
  const account = lookup(iss);
  if (account === undefined) return refuse('invalid_grant', D.accountNotFound, iss);

  const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
  const signed = Buffer.from(`${headerPart}.${claimsPart}`, 'latin1');
  const signature = Buffer.from(signaturePart, 'base64url');
  const verified = account.keys.some(
    (k) => (kid === undefined || k.keyId === undefined || k.keyId === kid) && verify('RSA-SHA256', signed, k.key, signature),
  );
  if (!verified) return refuse('invalid_grant', D.signature, iss);

  if (claims['aud'] !== OAUTH_TOKEN_URL) return refuse('invalid_grant', D.audience, iss);

  const now = Math.floor(nowMs / 1000);
  const iat = claims['iat'];
  const exp = claims['exp'];
  if (
    typeof iat !== 'number' ||
    typeof exp !== 'number' ||
    !Number.isFinite(iat) ||
    !Number.isFinite(exp) ||
    exp <= iat ||
    exp - iat > MAX_ASSERTION_LIFETIME_SECONDS ||
    exp <= now ||
    iat > now + CLOCK_SKEW_SECONDS
  ) {
    return refuse('invalid_grant', D.timeframe, iss);
  }

  const sub = claims['sub'];
  if (sub !== undefined && sub !== null && sub !== iss) return refuse('unauthorized_client', D.delegation, iss, 401);

  const scope = claims['scope'];
  if (typeof scope !== 'string' || scope.trim() === '') return refuse('invalid_scope', D.noScope, iss);
  const scopes = scope.split(/\s+/).filter((s) => s !== '');
  if (!scopes.some((s) => FCM_SCOPES.includes(s))) return refuse('invalid_scope', D.badScope, iss);

  return { ok: true, clientEmail: iss, projectId: account.projectId, scope: scopes.join(' ') };
}

/** Google's access tokens start with `ya29.`. */
export function newAccessToken(): string {
  return `ya29.${randomBytes(48).toString('base64url')}`;
}

function decodeJson(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
