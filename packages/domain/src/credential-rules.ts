import type { Rule } from './rules.ts';
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import type { ApnsCredentials, DevicePlatform, FcmCredentials } from './credentials.ts';
import { err, ok, type Result } from './result.ts';

/**
 * Provider credentials as a project's owner hands them in (APNs: a .p8 key and Apple's ids; FCM: a
 * service-account JSON), checked and brought into one canonical form. Pure: no I/O, and no error
 * message ever contains the value it refuses (keys must not end up in answers or logs).
 */

/** Credentials of one platform, before they are sealed or after they are opened. */
export type DeviceCredentials =
  | { readonly platform: 'apns'; readonly apns: ApnsCredentials }
  | { readonly platform: 'fcm'; readonly fcm: FcmCredentials };

/** What may be shown of APNs credentials: everything but the key. */
export interface ApnsCredentialsSummary {
  readonly keyId: string;
  readonly teamId: string;
  readonly topic: string;
  readonly production: boolean;
}

/** What may be shown of an FCM service account: everything but the private key. */
export interface FcmCredentialsSummary {
  readonly projectId: string;
  readonly clientEmail: string;
  readonly privateKeyId: string | null;
}

/**
 * A broken rule inside a credentials object. `path` is relative to that object (`key`,
 * `service_account.private_key`, or `''` for the object itself); the API prefixes its field name.
 */
export interface CredentialProblem {
  readonly path: string;
  readonly rule: Rule;
  readonly message: string;
}

const MAX_PEM_LENGTH = 16_384;
const MAX_SERVICE_ACCOUNT_LENGTH = 65_536;
const APPLE_ID = /^[A-Z0-9]{10}$/;
const BUNDLE_ID = /^[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$/;
// Google Cloud project ids (6–30 of a-z 0-9 -), legacy `domain.com:project` ones too; they become
// part of the FCM URL path, so nothing else is allowed.
const GOOGLE_PROJECT_ID = /^[A-Za-z0-9][A-Za-z0-9.:\-]{0,127}$/;
const EMAIL = /^[^@\s]{1,200}@[^@\s]{1,255}$/;

const problem = (path: string, rule: Rule, message: string): Result<never, CredentialProblem> =>
  err({ path, rule, message });

type Fields = Record<string, unknown>;

function asObject(input: unknown, path: string): Result<Fields, CredentialProblem> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return problem(path, 'invalid_type', 'must be an object');
  return ok(input as Fields);
}

const join = (prefix: string, key: string) => (prefix === '' ? key : `${prefix}.${key}`);

function requiredString(o: Fields, key: string, prefix: string, max: number): Result<string, CredentialProblem> {
  const v = o[key];
  const path = join(prefix, key);
  if (v === undefined || v === null) return problem(path, 'required', 'is required');
  if (typeof v !== 'string') return problem(path, 'invalid_type', 'must be a string');
  if (v.length > max) return problem(path, 'max_length', `must be at most ${max} characters`);
  return ok(v);
}

function unknownField(o: Fields, known: readonly string[], prefix: string): Result<never, CredentialProblem> | null {
  const extra = Object.keys(o).find((k) => !known.includes(k));
  return extra === undefined ? null : problem(join(prefix, extra), 'unknown_field', 'is not a known field');
}

/** A PEM pasted from an environment variable or a JSON string often carries `\n` as two characters. */
function unescapePem(pem: string): string {
  return pem.includes('\n') ? pem : pem.replaceAll('\\n', '\n');
}

function privateKeyOf(pem: string): KeyObject | null {
  try {
    return createPrivateKey({ key: unescapePem(pem), format: 'pem' });
  } catch {
    return null;
  }
}

const pkcs8Pem = (key: KeyObject) => key.export({ type: 'pkcs8', format: 'pem' }).toString();

/**
 * `{key, key_id, team_id, topic, production}`, all required. `production` has no default on
 * purpose: a sandbox token sent to production is answered BadDeviceToken, which prunes it.
 * The key comes back as PKCS#8 PEM whatever PEM form it came in.
 */
export function parseApnsCredentials(input: unknown): Result<ApnsCredentials, CredentialProblem> {
  const obj = asObject(input, '');
  if (!obj.ok) return obj;
  const o = obj.value;
  // An unknown field first: a misspelt name (`keyId`) is better reported as itself than as a missing `key_id`.
  const extra = unknownField(o, ['key', 'key_id', 'team_id', 'topic', 'production'], '');
  if (extra) return extra;

  const keyText = requiredString(o, 'key', '', MAX_PEM_LENGTH);
  if (!keyText.ok) return keyText;
  const key = privateKeyOf(keyText.value);
  if (!key || key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    return problem('key', 'p8', 'must be the PEM of an EC P-256 private key (the AuthKey_<key id>.p8 file)');
  }

  const ids: Record<'key_id' | 'team_id', string> = { key_id: '', team_id: '' };
  for (const name of ['key_id', 'team_id'] as const) {
    const id = requiredString(o, name, '', Number.MAX_SAFE_INTEGER);
    if (!id.ok) return id;
    if (!APPLE_ID.test(id.value)) return problem(name, 'apple_id', 'must be 10 characters of A-Z 0-9');
    ids[name] = id.value;
  }

  const topic = requiredString(o, 'topic', '', 255);
  if (!topic.ok) return topic;
  if (!BUNDLE_ID.test(topic.value)) return problem('topic', 'bundle_id', 'must be a bundle id such as com.example.app');

  const production = o.production;
  if (production === undefined || production === null) {
    return problem('production', 'required', 'is required (true: api.push.apple.com, false: the sandbox)');
  }
  if (typeof production !== 'boolean') return problem('production', 'invalid_type', 'must be true or false');

  return ok({ keyPem: pkcs8Pem(key), keyId: ids.key_id, teamId: ids.team_id, topic: topic.value, production });
}

/**
 * `{service_account}`: the service-account JSON file as an object, or as a string of JSON. Inside,
 * `type` ("service_account"), `project_id`, `client_email` and `private_key` (RSA) are required,
 * `private_key_id` optional; the file's other fields are accepted and not kept.
 */
export function parseFcmCredentials(input: unknown): Result<FcmCredentials, CredentialProblem> {
  const obj = asObject(input, '');
  if (!obj.ok) return obj;
  const extra = unknownField(obj.value, ['service_account'], '');
  if (extra) return extra;

  const prefix = 'service_account';
  let raw = obj.value.service_account;
  if (raw === undefined || raw === null) return problem(prefix, 'required', 'is required (the service-account JSON file)');
  if (typeof raw === 'string') {
    if (raw.length > MAX_SERVICE_ACCOUNT_LENGTH) return problem(prefix, 'max_length', `must be at most ${MAX_SERVICE_ACCOUNT_LENGTH} characters`);
    try {
      raw = JSON.parse(raw) as unknown;
    } catch {
      return problem(prefix, 'json', 'is a string but not JSON');
    }
  }
  const sa = asObject(raw, prefix);
  if (!sa.ok) return problem(prefix, 'invalid_type', 'must be the service-account JSON (an object or a string of JSON)');
  const s = sa.value;

  const type = requiredString(s, 'type', prefix, 64);
  if (!type.ok) return type;
  if (type.value !== 'service_account') {
    return problem(`${prefix}.type`, 'service_account_type', 'must be "service_account" (a service-account key file)');
  }
  const projectId = requiredString(s, 'project_id', prefix, 128);
  if (!projectId.ok) return projectId;
  if (!GOOGLE_PROJECT_ID.test(projectId.value)) {
    return problem(`${prefix}.project_id`, 'project_id', 'must be a Google Cloud project id (letters, digits, - . :)');
  }
  const clientEmail = requiredString(s, 'client_email', prefix, 320);
  if (!clientEmail.ok) return clientEmail;
  if (!EMAIL.test(clientEmail.value)) return problem(`${prefix}.client_email`, 'email', 'must be an email address');

  const keyText = requiredString(s, 'private_key', prefix, MAX_PEM_LENGTH);
  if (!keyText.ok) return keyText;
  const key = privateKeyOf(keyText.value);
  if (!key || key.asymmetricKeyType !== 'rsa') {
    return problem(`${prefix}.private_key`, 'pem', 'must be the PEM of an RSA private key');
  }

  let privateKeyId: string | null = null;
  if (s.private_key_id !== undefined && s.private_key_id !== null) {
    const id = requiredString(s, 'private_key_id', prefix, 256);
    if (!id.ok) return id;
    privateKeyId = id.value;
  }

  return ok({ projectId: projectId.value, clientEmail: clientEmail.value, privateKey: pkcs8Pem(key), privateKeyId });
}

export function summarizeCredentials(c: { platform: 'apns'; apns: ApnsCredentials }): ApnsCredentialsSummary;
export function summarizeCredentials(c: { platform: 'fcm'; fcm: FcmCredentials }): FcmCredentialsSummary;
export function summarizeCredentials(c: DeviceCredentials): ApnsCredentialsSummary | FcmCredentialsSummary;
export function summarizeCredentials(c: DeviceCredentials): ApnsCredentialsSummary | FcmCredentialsSummary {
  if (c.platform === 'apns') {
    const { keyId, teamId, topic, production } = c.apns;
    return { keyId, teamId, topic, production };
  }
  const { projectId, clientEmail, privateKeyId } = c.fcm;
  return { projectId, clientEmail, privateKeyId };
}

/**
 * The one text that is sealed: JSON with a fixed key order, so that equal credentials give equal
 * text and therefore an equal fingerprint.
 */
export function credentialsPlaintext(c: DeviceCredentials): string {
  if (c.platform === 'apns') {
    const a = c.apns;
    return JSON.stringify({ v: 1, platform: 'apns', key_id: a.keyId, team_id: a.teamId, topic: a.topic, production: a.production, key: a.keyPem });
  }
  const f = c.fcm;
  return JSON.stringify({
    v: 1,
    platform: 'fcm',
    project_id: f.projectId,
    client_email: f.clientEmail,
    private_key_id: f.privateKeyId,
    private_key: f.privateKey,
  });
}

/** Reads back what `credentialsPlaintext` wrote; `malformed` when it is not that (never expected once opened). */
export function credentialsFromPlaintext(platform: DevicePlatform, text: string): Result<DeviceCredentials, 'malformed'> {
  let v: Record<string, unknown>;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed === null || typeof parsed !== 'object') return err('malformed');
    v = parsed as Record<string, unknown>;
  } catch {
    return err('malformed');
  }
  const str = (k: string) => (typeof v[k] === 'string' ? (v[k] as string) : null);
  if (v.v !== 1 || v.platform !== platform) return err('malformed');
  if (platform === 'apns') {
    const [keyPem, keyId, teamId, topic] = [str('key'), str('key_id'), str('team_id'), str('topic')];
    if (keyPem === null || keyId === null || teamId === null || topic === null || typeof v.production !== 'boolean') return err('malformed');
    return ok({ platform, apns: { keyPem, keyId, teamId, topic, production: v.production } });
  }
  const [projectId, clientEmail, privateKey] = [str('project_id'), str('client_email'), str('private_key')];
  if (projectId === null || clientEmail === null || privateKey === null) return err('malformed');
  if (v.private_key_id !== null && typeof v.private_key_id !== 'string') return err('malformed');
  return ok({ platform, fcm: { projectId, clientEmail, privateKey, privateKeyId: v.private_key_id } });
}

/** 16 hex digits of SHA-256 of the canonical plaintext: equal credentials, equal fingerprint. */
export function credentialsFingerprint(plaintext: string): string {
  return createHash('sha256').update(plaintext, 'utf8').digest('hex').slice(0, 16);
}

/** The AAD that binds sealed credentials to their project and platform. */
export function credentialsAad(projectId: number, platform: DevicePlatform): string {
  return `pushcast:credentials:${projectId}:${platform}`;
}

/** What the API shows of a project's credentials: a summary per platform, or null when none are set. */
export interface ProjectCredentialsSummary {
  readonly apns: (ApnsCredentialsSummary & CredentialsState) | null;
  readonly fcm: (FcmCredentialsSummary & CredentialsState) | null;
  /** Web Push sends with the sender's VAPID key, always there; only its state is the project's. */
  readonly web: Omit<CredentialsState, 'updatedAt'>;
}

/**
 * Whether the provider takes a credential: `rejected` once it refused it several times in a row
 * (the project's chunks on that platform then wait), `active` otherwise; setting the credentials
 * again makes them `active`.
 */
export interface CredentialsState {
  readonly updatedAt: Date;
  readonly status: 'active' | 'rejected';
  /** Why the provider refused it (`apns_InvalidProviderToken`, `fcm_app_invalid-credential`…), when rejected. */
  readonly rejectedReason: string | null;
  readonly rejectedAt: Date | null;
}

export const NO_CREDENTIALS: ProjectCredentialsSummary = Object.freeze({
  apns: null,
  fcm: null,
  web: Object.freeze({ status: 'active', rejectedReason: null, rejectedAt: null }),
});
