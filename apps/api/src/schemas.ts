import {
  AUTH_SECRET_BYTES,
  checkPushEndpoint,
  decodeBase64Any,
  isP256PublicKey,
  MAX_TAG_LENGTH,
  TAG_PATTERN,
} from '@pushcast/domain';
import { z } from 'zod';

/** Request schemas shared by the routes. Rule names (`params.rule`) are part of the API. */

export const idParam = z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER);

export const httpUrl = z
  .string()
  .max(2048)
  .refine((v) => /^https?:\/\//i.test(v) && URL.canParse(v), { message: 'must be an http(s) URL', params: { rule: 'url' } });

export const MAX_TAGS = 100;
export const MAX_UID_LENGTH = 255;

export const tag = z
  .string()
  .max(MAX_TAG_LENGTH)
  .refine((v) => TAG_PATTERN.test(v), {
    message: 'may contain only letters, digits and _ - . : @ #',
    params: { rule: 'tag_characters' },
  });

export const tagList = z.array(tag).max(MAX_TAGS);

export const uid = z.string().min(1).max(MAX_UID_LENGTH);

export const p256dh = z.string().refine(
  (v) => {
    const bytes = decodeBase64Any(v);
    return bytes !== null && isP256PublicKey(bytes);
  },
  { message: 'must be base64 of a 65-byte uncompressed P-256 public key', params: { rule: 'p256_point' } },
);

export const authSecret = z.string().refine((v) => decodeBase64Any(v)?.length === AUTH_SECRET_BYTES, {
  message: `must be base64 of ${AUTH_SECRET_BYTES} bytes`,
  params: { rule: 'auth_secret_16_bytes' },
});

export function pushEndpoint(allowedHosts: readonly string[]) {
  return z.string().superRefine((v, ctx) => {
    const checked = checkPushEndpoint(v, allowedHosts);
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: checked.error.message, params: { rule: checked.error.rule } });
  });
}

export const pageQuery = {
  page: z.coerce.number().int().min(1).max(1_000_000).default(1),
  per_page: z.coerce.number().int().min(1).max(1000).default(20),
};
