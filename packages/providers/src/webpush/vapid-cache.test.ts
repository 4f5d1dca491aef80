import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { VAPID_REFRESH_MARGIN_S, VAPID_TOKEN_LIFETIME_S, VapidCache, VapidKeyError, type VapidSender } from './vapid-cache.ts';

function newSender(subject = 'https://example.com'): VapidSender {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    privateKeyPem: privateKey.export({ format: 'pem', type: 'sec1' }).toString(),
    publicKeyPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    subject,
  };
}

function parse(header: string) {
  const match = /^vapid t=([\w-]+)\.([\w-]+)\.([\w-]+), k=([\w-]+)$/.exec(header);
  if (!match) throw new Error(`not a VAPID header: ${header}`);
  const [, h, c, s, k] = match as unknown as [string, string, string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(c, 'base64url').toString()) as { aud: string; exp: number; sub: string },
    signingInput: `${h}.${c}`,
    signature: Buffer.from(s, 'base64url'),
    k: Buffer.from(k, 'base64url'),
  };
}

describe('VapidCache', () => {
  const t0 = Date.UTC(2025, 0, 1);

  it('signs an ES256 JWT that verifies with the public key', () => {
    const sender = newSender('mailto:ops@example.com');
    const jwt = parse(new VapidCache({ now: () => t0 }).authorization('https://fcm.googleapis.com', sender));

    expect(jwt.header).toEqual({ typ: 'JWT', alg: 'ES256' });
    expect(jwt.signature).toHaveLength(64);
    const ok = verify('sha256', Buffer.from(jwt.signingInput), { key: createPublicKey(sender.publicKeyPem), dsaEncoding: 'ieee-p1363' }, jwt.signature);
    expect(ok).toBe(true);
    expect(jwt.claims).toEqual({ aud: 'https://fcm.googleapis.com', exp: t0 / 1000 + 12 * 3600, sub: 'mailto:ops@example.com' });
  });

  it('sends k as the 65-byte uncompressed public point', () => {
    const sender = newSender();
    const { k } = parse(new VapidCache({ now: () => t0 }).authorization('https://web.push.apple.com', sender));
    const jwk = createPublicKey(sender.publicKeyPem).export({ format: 'jwk' });
    expect(k).toHaveLength(65);
    expect(k[0]).toBe(4);
    expect(k.subarray(1, 33).toString('base64url')).toBe(jwk.x);
    expect(k.subarray(33).toString('base64url')).toBe(jwk.y);
  });

  it('reuses the token until less than an hour is left, then signs a new one', () => {
    let now = t0;
    const cache = new VapidCache({ now: () => now });
    const sender = newSender();
    const first = cache.authorization('https://fcm.googleapis.com', sender);

    now = t0 + (VAPID_TOKEN_LIFETIME_S - VAPID_REFRESH_MARGIN_S - 1) * 1000;
    expect(cache.authorization('https://fcm.googleapis.com', sender)).toBe(first);

    now = t0 + (VAPID_TOKEN_LIFETIME_S - VAPID_REFRESH_MARGIN_S) * 1000;
    const second = cache.authorization('https://fcm.googleapis.com', sender);
    expect(second).not.toBe(first);
    expect(parse(second).claims.exp).toBe(now / 1000 + 12 * 3600);
    expect(cache.authorization('https://fcm.googleapis.com', sender)).toBe(second);
  });

  it('keeps one token per origin and per sender key', () => {
    const cache = new VapidCache({ now: () => t0 });
    const a = newSender();
    const b = newSender();
    const fcm = cache.authorization('https://fcm.googleapis.com', a);
    const mozilla = cache.authorization('https://updates.push.services.mozilla.com', a);
    expect(parse(mozilla).claims.aud).toBe('https://updates.push.services.mozilla.com');
    expect(mozilla).not.toBe(fcm);
    expect(cache.authorization('https://fcm.googleapis.com', b)).not.toBe(fcm);
    expect(cache.authorization('https://fcm.googleapis.com', a)).toBe(fcm);
  });

  it('keeps at most maxTokens, dropping the oldest', () => {
    const cache = new VapidCache({ now: () => t0, maxTokens: 2 });
    const sender = newSender();
    const a = cache.authorization('https://a.example', sender);
    cache.authorization('https://b.example', sender);
    cache.authorization('https://c.example', sender);
    expect(cache.authorization('https://a.example', sender)).not.toBe(a);
  });

  it('refuses keys that are not PEM, not P-256 or not a pair', () => {
    const cache = new VapidCache({ now: () => t0 });
    const a = newSender();
    const b = newSender();
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
    expect(() => cache.authorization('https://x.example', { ...a, privateKeyPem: 'nope' })).toThrow(VapidKeyError);
    expect(() => cache.authorization('https://x.example', { ...a, publicKeyPem: b.publicKeyPem })).toThrow(VapidKeyError);
    expect(() =>
      cache.authorization('https://x.example', {
        ...a,
        privateKeyPem: rsa.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
        publicKeyPem: rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(),
      }),
    ).toThrow(VapidKeyError);
  });
});
