import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { OPEN_TOKEN_LENGTH, openToken, openTrackingKey, readOpenToken } from './open-token.ts';

const key = openTrackingKey(Buffer.alloc(32, 7));

describe('open tokens', () => {
  it('are always 32 base64url characters and name their subscription', () => {
    for (const [n, s] of [[1, 1], [42, 9_000_000], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]] as const) {
      const token = openToken(key, n, s);
      expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(token).toHaveLength(OPEN_TOKEN_LENGTH);
      expect(readOpenToken(key, n, token)).toBe(s);
    }
  });

  it('are the documented bytes, so that tokens sent before an upgrade are still read after it', () => {
    for (const [n, s] of [[1, 1], [42, 9_000_000], [7, 2 ** 32 + 5], [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER]] as const) {
      const sid = Buffer.alloc(8);
      sid.writeBigUInt64BE(BigInt(s));
      const mac = createHmac('sha256', key).update(`pushcast-open:v1:${n}:${s}`).digest().subarray(0, 16);
      expect(openToken(key, n, s)).toBe(Buffer.concat([sid, mac]).toString('base64url'));
    }
  });

  it('are bound to their notification, their subscription and the key', () => {
    const token = openToken(key, 10, 20);
    expect(readOpenToken(key, 11, token)).toBeNull();
    expect(readOpenToken(openTrackingKey(Buffer.alloc(32, 8)), 10, token)).toBeNull();
    // Another subscription id in the first 8 bytes, the MAC of the old one: refused.
    const bytes = Buffer.from(token, 'base64url');
    bytes.writeBigUInt64BE(21n, 0);
    expect(readOpenToken(key, 10, bytes.toString('base64url'))).toBeNull();
    expect(readOpenToken(key, 10, token.slice(0, -1))).toBeNull();
    expect(readOpenToken(key, 10, `${token.slice(0, -1)}=`)).toBeNull();
    expect(readOpenToken(key, 10, Buffer.alloc(24).toString('base64url'))).toBeNull(); // subscription 0
  });

  it('derive their key from the secret, never use it as is', () => {
    const secret = Buffer.alloc(32, 7);
    expect(key.equals(secret)).toBe(false);
    expect(key).toHaveLength(32);
    expect(openTrackingKey(secret).equals(key)).toBe(true);
  });
});
