import { hkdfSync, timingSafeEqual } from 'node:crypto';
import { hmacSha256 } from './hmac-sha256.ts';

/**
 * Open tracking: each Web Push message carries a token bound to its notification and its
 * subscription, so that a service worker can report "opened" and nobody else can:
 *
 *     token = base64url( subscription id (8 bytes, big-endian) ‖ HMAC-SHA256(key, "pushcast-open:v1:<nid>:<sid>")[0..16] )
 *
 * 24 bytes, always 32 characters (no padding, nothing JSON escapes), so the payload's size does not
 * depend on who receives it and the API's size check can count it in advance. The notification id
 * travels beside it (in the payload and the report's URL); a token is worth nothing for another one.
 * A 128-bit truncated HMAC is what RFC 2104 §5 allows (at least half the output).
 */
export const OPEN_TOKEN_LENGTH = 32;
const SID_BYTES = 8;
const MAC_BYTES = 16;
const KEY_INFO = 'pushcast:open-tracking:v1';

/** The 32-byte HMAC key, derived (HKDF-SHA256) from a secret that is used for nothing else as is. */
export function openTrackingKey(secret: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), KEY_INFO, 32));
}

function mac(key: Uint8Array, notificationId: number, subscriptionId: number): Buffer {
  // Not createHmac: its native object per call is finalised by the garbage collector on the main
  // thread (hmac-sha256.ts), and this runs once per Web Push message.
  return hmacSha256(key, Buffer.from(`pushcast-open:v1:${notificationId}:${subscriptionId}`, 'latin1')).subarray(0, MAC_BYTES);
}

export function openToken(key: Uint8Array, notificationId: number, subscriptionId: number): string {
  // Written in place (no BigInt, no concat): one per Web Push message.
  const token = Buffer.allocUnsafe(SID_BYTES + MAC_BYTES);
  token.writeUInt32BE(Math.floor(subscriptionId / 2 ** 32), 0);
  token.writeUInt32BE(subscriptionId >>> 0, 4);
  mac(key, notificationId, subscriptionId).copy(token, SID_BYTES, 0, MAC_BYTES);
  return token.toString('base64url');
}

/** The subscription id a token vouches for with this notification, or null when it is not one of ours. */
export function readOpenToken(key: Uint8Array, notificationId: number, token: string): number | null {
  if (token.length !== OPEN_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
  const bytes = Buffer.from(token, 'base64url');
  if (bytes.length !== SID_BYTES + MAC_BYTES) return null;
  const sid = bytes.readBigUInt64BE(0);
  if (sid < 1n || sid > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const subscriptionId = Number(sid);
  return timingSafeEqual(bytes.subarray(SID_BYTES), mac(key, notificationId, subscriptionId)) ? subscriptionId : null;
}
