/**
 * Device tokens of mobile subscriptions. APNs tokens are hex (32 bytes today; Apple says their
 * length may change, so up to 100 bytes are accepted) and stored lower-case, so that the same
 * device in upper case is the same subscription. FCM registration tokens are opaque; they are
 * URL-safe characters with `:` (around 160 today), bounded at 4,096.
 */

export const APNS_TOKEN_MIN_HEX = 64;
export const APNS_TOKEN_MAX_HEX = 200;
export const FCM_TOKEN_MAX_LENGTH = 4096;

const APNS_TOKEN = /^(?:[0-9a-fA-F]{2})+$/;
const FCM_TOKEN = /^[A-Za-z0-9_:.\-]+$/;

/** The token in lower case, or null when it is not even-length hex of 64–200 digits. */
export function normalizeApnsToken(token: string): string | null {
  if (token.length < APNS_TOKEN_MIN_HEX || token.length > APNS_TOKEN_MAX_HEX || !APNS_TOKEN.test(token)) return null;
  return token.toLowerCase();
}

/** 1–4,096 characters of `A-Z a-z 0-9 _ : . -`. */
export function isFcmToken(token: string): boolean {
  return token.length >= 1 && token.length <= FCM_TOKEN_MAX_LENGTH && FCM_TOKEN.test(token);
}
