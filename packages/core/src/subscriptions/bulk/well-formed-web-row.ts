import { checkPushEndpoint, decodeBase64Any, isP256PublicKey, MAX_TAG_LENGTH, TAG_PATTERN } from '@pushcast/domain';
import { MAX_EMAIL_LENGTH } from '../../input/email.ts';
import { MAX_TAGS, MAX_UID_LENGTH } from '../../input/fields.ts';
import type { SubscriptionInput } from '../subscription-input.ts';

/**
 * The bulk import's fast path for the row almost every upload is made of: a web subscription that
 * the single create's parser (subscriptionParser) accepts. It checks the same rules by hand,
 * without zod (most of a row's validation cost) and without decoding the auth secret, and answers
 * exactly what that parser would; for anything it is not sure of (an unknown field, another
 * platform, a key written another way, any rule broken) it answers null and the row goes through
 * the parser, which names the field and the rule. So it can only ever accept what the parser
 * accepts (a property test holds the two together: well-formed-web-row.test.ts).
 */
export function wellFormedWebRow(body: unknown, allowedPushHosts: readonly string[]): SubscriptionInput | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return null;
  const row = body as Record<string, unknown>;
  for (const key in row) {
    if (!Object.hasOwn(row, key) || !WEB_KEYS.has(key)) return null;
  }
  const { platform, endpoint, p256dh, auth, uid, tags, user_email: email } = row;
  if (platform !== undefined && platform !== 'web') return null;
  if (typeof endpoint !== 'string' || typeof p256dh !== 'string' || typeof auth !== 'string') return null;
  if (!isAuthSecret(auth) || !isP256Key(p256dh)) return null;
  if (uid !== undefined && uid !== null && (typeof uid !== 'string' || uid.length < 1 || uid.length > MAX_UID_LENGTH)) return null;
  if (tags !== undefined && !isTagList(tags)) return null;
  if (email !== undefined && email !== null && (typeof email !== 'string' || email.length > MAX_EMAIL_LENGTH || !EMAIL.test(email))) return null;
  if (!checkPushEndpoint(endpoint, allowedPushHosts).ok) return null;
  return {
    platform: 'web',
    endpoint,
    p256dh,
    auth,
    uid: (uid as string | null | undefined) ?? null,
    tags: (tags as string[] | undefined) ?? [],
    userEmail: email as string | null | undefined,
  };
}

const WEB_KEYS: ReadonlySet<string> = new Set(['platform', 'endpoint', 'p256dh', 'auth', 'uid', 'tags', 'user_email']);
/** userEmail's rule (input/email.ts). */
const EMAIL = /^[^\s@]+@[^\s@]+$/;
/** 16 bytes as browsers write them (base64url, unpadded: 22 characters), or padded standard base64. */
const AUTH_22 = /^[A-Za-z0-9+/_-]{22}(?:==)?$/;
/** 65 bytes as browsers write them: base64url, unpadded, 87 characters. */
const P256_URL = /^[A-Za-z0-9_-]{87}$/;

/** decodeBase64Any(v)?.length === 16, without decoding: 22 characters of the alphabet always are. */
function isAuthSecret(v: string): boolean {
  return AUTH_22.test(v) || decodeBase64Any(v)?.length === 16;
}

function isP256Key(v: string): boolean {
  const bytes = P256_URL.test(v) ? Buffer.from(v, 'base64url') : decodeBase64Any(v);
  return bytes !== null && isP256PublicKey(bytes);
}

function isTagList(tags: unknown): tags is string[] {
  if (!Array.isArray(tags) || tags.length > MAX_TAGS) return false;
  for (const t of tags) {
    if (typeof t !== 'string' || t.length > MAX_TAG_LENGTH || !TAG_PATTERN.test(t)) return false;
  }
  return true;
}
