import { createPrivateKey, createPublicKey, generateKeyPairSync, randomInt, sign, type KeyObject } from 'node:crypto';

/** What Apple hands out for token-based auth: a .p8 file plus the two ids printed next to it. */
export interface ApnsCredentialForTests {
  keyId: string;
  teamId: string;
  /** PKCS#8 PEM of an EC P-256 private key, the format of an AuthKey_XXXXXXXXXX.p8 file. */
  keyPem: string;
}

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Apple's key and team ids are 10 upper-case alphanumerics; tests should look like production. */
function appleStyleId(): string {
  let id = '';
  for (let i = 0; i < 10; i++) id += ID_ALPHABET[randomInt(ID_ALPHABET.length)];
  return id;
}

export function generateApnsKey(): ApnsCredentialForTests {
  const { privateKey } = generateKeyPairSync('ec', {
    namedCurve: 'prime256v1',
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { keyId: appleStyleId(), teamId: appleStyleId(), keyPem: privateKey };
}

/**
 * Accepts either half of the pair, so a test can trust the very credential it gave its sender,
 * while a benchmark in another process only ever needs to ship the public key.
 */
export function publicKeyFrom(cred: { publicKeyPem?: string; keyPem?: string }): KeyObject {
  if (cred.publicKeyPem !== undefined && cred.publicKeyPem !== '') {
    // createPublicKey also accepts a private key PEM and derives the public half.
    return assertP256(createPublicKey(cred.publicKeyPem));
  }
  if (cred.keyPem !== undefined && cred.keyPem !== '') {
    return assertP256(createPublicKey(createPrivateKey(cred.keyPem)));
  }
  throw new Error('a trusted key needs publicKeyPem (or keyPem to derive it from)');
}

function assertP256(key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('an APNs provider key is an EC P-256 key');
  }
  return key;
}

/**
 * An APNs provider token (ES256 JWT) signed the way Apple expects. For tests that talk to the service
 * without @parse/node-apn, e.g. to send a token whose iat is more than an hour old.
 */
export function signApnsProviderToken(
  cred: ApnsCredentialForTests,
  iatSeconds: number = Math.floor(Date.now() / 1000),
): string {
  const header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: cred.keyId })).toString('base64url');
  const claims = Buffer.from(JSON.stringify({ iss: cred.teamId, iat: iatSeconds })).toString('base64url');
  const signingInput = `${header}.${claims}`;
  const signature = sign('sha256', Buffer.from(signingInput, 'ascii'), {
    key: cred.keyPem,
    dsaEncoding: 'ieee-p1363',
  });
  return `${signingInput}.${signature.toString('base64url')}`;
}
