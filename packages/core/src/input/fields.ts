import {
  AUTH_SECRET_BYTES,
  isBrowserTagPattern,
  normalizeOrigin,
  checkPushEndpoint,
  decodeBase64Any,
  isFcmToken,
  isP256PublicKey,
  MAX_TAG_LENGTH,
  normalizeApnsToken,
  parseApnsCredentials,
  parseFcmCredentials,
  TAG_PATTERN,
  type CredentialProblem,
  ruleParam,
  type Result,
} from '@pushcast/domain';
import { z } from 'zod';

/** Request schemas shared by the routes. Rule names (`params.rule`) are part of the API. */

/** Marks, for API documents, an integer that may also come as a string of decimal digits. */
export const DECIMAL_STRING_TOO = 'x-decimal-string-too';

/**
 * An integer as a client may write it in a path, a query string or a body: a JSON number, or a
 * string of decimal digits without sign, leading zeros, exponent, fraction or spaces (`2`, never
 * `0x2`, `2e0`, `+2`, `02`, ` 2` or `2.0`, which Number() would all take as 2). A numeric string
 * written another way is `decimal_integer`; anything else stays zod's `invalid_type`.
 */
export function decimalInteger<T extends z.ZodType<number>>(schema: T) {
  const parsed = z.preprocess((v, ctx) => {
    if (typeof v !== 'string') return v;
    if (/^(0|[1-9][0-9]*)$/.test(v)) return Number(v);
    if (v.trim() !== '' && !Number.isNaN(Number(v))) {
      ctx.addIssue({
        code: 'custom',
        message: 'must be a decimal integer: digits only, without sign, leading zeros, exponent, fraction or spaces',
        params: ruleParam('decimal_integer'),
      });
      return z.NEVER;
    }
    return v;
  }, schema);
  return parsed.meta({ [DECIMAL_STRING_TOO]: true });
}

export const idParam = decimalInteger(z.number().int().positive().max(Number.MAX_SAFE_INTEGER));

export const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), { message: 'must be an http(s) URL', params: ruleParam('url') });

export const MAX_TAGS = 100;
export const MAX_UID_LENGTH = 255;

export const tag = z
  .string()
  .max(MAX_TAG_LENGTH)
  .refine((v) => TAG_PATTERN.test(v), {
    message: 'may contain only letters, digits and _ - . : @ # = , ;',
    params: ruleParam('tag_characters'),
  });

export const tagList = z.array(tag).max(MAX_TAGS);

export const uid = z.string().min(1).max(MAX_UID_LENGTH);

export const p256dh = z.string().refine(
  (v) => {
    const bytes = decodeBase64Any(v);
    return bytes !== null && isP256PublicKey(bytes);
  },
  { message: 'must be base64 of a 65-byte uncompressed P-256 public key', params: ruleParam('p256_point') },
);

export const authSecret = z.string().refine((v) => decodeBase64Any(v)?.length === AUTH_SECRET_BYTES, {
  message: `must be base64 of ${AUTH_SECRET_BYTES} bytes`,
  params: ruleParam('auth_secret_16_bytes'),
});

/** An APNs device token: even-length hex of 64–200 digits, answered and stored lower-case. */
export const apnsToken = z.string().transform((v, ctx) => {
  const token = normalizeApnsToken(v);
  if (token === null) {
    ctx.addIssue({ code: 'custom', message: 'must be the device token as hex (64–200 hex digits, even length)', params: ruleParam('apns_token') });
    return z.NEVER;
  }
  return token;
});

/** An FCM registration token: 1–4,096 characters of A-Z a-z 0-9 _ : . - */
export const fcmToken = z.string().refine(isFcmToken, {
  message: 'must be an FCM registration token (1–4096 characters of A-Z a-z 0-9 _ : . -)',
  params: ruleParam('fcm_token'),
});

export function pushEndpoint(allowedHosts: readonly string[]) {
  return z.string().superRefine((v, ctx) => {
    const checked = checkPushEndpoint(v, allowedHosts);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.error.message, params: { rule: checked.error.rule } });
  });
}

export const pageQuery = {
  page: decimalInteger(z.number().int().min(1).max(1_000_000)).default(1),
  per_page: decimalInteger(z.number().int().min(1).max(1000)).default(20),
};

/**
 * A credentials object checked by its domain parser. Its problems name the path inside the object
 * (`apns_credentials.key`, `fcm_credentials.service_account.private_key`) and are 422s, a missing
 * field inside included (rule `required`): the request is well-formed, the credential document in
 * it is incomplete. Messages never contain the value refused.
 */
function credentialsInput<T>(parse: (input: unknown) => Result<T, CredentialProblem>) {
  return z.unknown().transform((v, ctx) => {
    const parsed = parse(v);
    if (parsed.ok) return parsed.value;
    const { path, rule, message } = parsed.error;
    ctx.addIssue({ code: 'custom', path: path === '' ? [] : path.split('.'), message, params: { rule } });
    return z.NEVER;
  });
}

/** What the domain parsers above take, as JSON Schema for the API's documents (they check it themselves). */
const str = (description: string) => ({ type: 'string', description });
export const apnsCredentialsInput = credentialsInput(parseApnsCredentials).meta({
  description: 'APNs token-based auth: the .p8 key and the ids beside it. Stored encrypted, never answered.',
  type: 'object',
  properties: {
    key: str('PEM of the .p8 file (an EC P-256 private key)'),
    key_id: { ...str('10 of A-Z 0-9'), pattern: '^[A-Z0-9]{10}$' },
    team_id: { ...str('10 of A-Z 0-9'), pattern: '^[A-Z0-9]{10}$' },
    topic: str("The app's bundle id"),
    production: { type: 'boolean', description: 'true: api.push.apple.com, false: the sandbox (no default)' },
  },
  required: ['key', 'key_id', 'team_id', 'topic', 'production'],
  additionalProperties: false,
});
export const fcmCredentialsInput = credentialsInput(parseFcmCredentials).meta({
  description: 'An FCM service account. Stored encrypted, never answered.',
  type: 'object',
  properties: {
    service_account: {
      description: "The service-account JSON file from the Firebase console, as an object or as a string of JSON; other fields are accepted and not kept",
      anyOf: [
        {
          type: 'object',
          properties: {
            type: { const: 'service_account' },
            project_id: str('The Firebase project'),
            client_email: str("The service account's email"),
            private_key: str('PEM of its RSA private key'),
            private_key_id: str('Optional'),
          },
          required: ['type', 'project_id', 'client_email', 'private_key'],
        },
        str('The same JSON, as a string'),
      ],
    },
  },
  required: ['service_account'],
  additionalProperties: false,
});

/** `https://example.com` (or `http://…`): an origin, normalised as browsers send it in `Origin`. */
export const allowedOriginList = z
  .array(
    z.string().max(2048).transform((v, ctx) => {
      const origin = normalizeOrigin(v);
      if (origin === null) {
        ctx.addIssue({ code: 'custom', message: 'must be an origin: http(s)://host[:port], without a path', params: ruleParam('origin') });
        return z.NEVER;
      }
      return origin;
    }),
  )
  .max(100)
  .transform((origins) => [...new Set(origins)]);

/** Tags a browser may set: an exact tag, or a prefix followed by `*` (`*` alone: any tag). */
export const browserTagPatternList = z
  .array(
    z.string().refine(isBrowserTagPattern, {
      message: 'must be a tag, or a tag prefix followed by * (letters, digits and _ - . : @ # = , ;)',
      params: ruleParam('tag_pattern'),
    }),
  )
  .max(MAX_TAGS)
  .transform((patterns) => [...new Set(patterns)]);
