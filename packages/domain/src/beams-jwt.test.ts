import { createHmac } from 'node:crypto';
import PushNotifications from '@pusher/push-notifications-server';
import { describe, expect, it } from 'vitest';
import { beamsIssuer, verifyBeamsUserToken } from './beams-jwt.ts';

const instanceId = '25c7b7c2-cabc-4e6b-b7d0-c9ad5c787e50';
const key = 'sk_test-key';
const now = () => Math.floor(Date.now() / 1000);

function sign(header: object, claims: object, secret = key): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const signed = `${enc(header)}.${enc(claims)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

describe('Beams user tokens', () => {
  it("verify what Beams' server SDK's generateToken makes, with any of the instance's keys", () => {
    const { token } = new PushNotifications({ instanceId, secretKey: key }).generateToken('alice');
    expect(verifyBeamsUserToken(token, [key], instanceId, now())).toEqual({ ok: true, value: { userId: 'alice' } });
    expect(verifyBeamsUserToken(token, ['sk_other', key], instanceId, now())).toMatchObject({ ok: true });
    expect(verifyBeamsUserToken(token, ['sk_other'], instanceId, now())).toEqual({ ok: false, error: 'bad_signature' });
    expect(verifyBeamsUserToken(token, [], instanceId, now())).toEqual({ ok: false, error: 'bad_signature' });
    // A day ahead.
    expect(verifyBeamsUserToken(token, [key], instanceId, now() + 86_401)).toEqual({ ok: false, error: 'expired' });
  });

  it('refuse what Beams refuses', () => {
    const iss = beamsIssuer(instanceId);
    const exp = now() + 60;
    const hs = { alg: 'HS256', typ: 'JWT' };
    const check = (t: string) => verifyBeamsUserToken(t, [key], instanceId, now());
    expect(check(sign(hs, { sub: 'a', iss }))).toEqual({ ok: false, error: 'missing_exp' });
    expect(check(sign(hs, { exp, iss }))).toEqual({ ok: false, error: 'missing_sub' });
    expect(check(sign(hs, { exp, iss, sub: 'x'.repeat(165) }))).toEqual({ ok: false, error: 'bad_sub' });
    expect(check(sign(hs, { exp, iss, sub: '' }))).toEqual({ ok: false, error: 'bad_sub' });
    expect(check(sign(hs, { exp, sub: 'a' }))).toEqual({ ok: false, error: 'missing_iss' });
    expect(check(sign(hs, { exp, sub: 'a', iss: beamsIssuer('another') }))).toEqual({ ok: false, error: 'wrong_issuer' });
    expect(check(sign(hs, { exp: now() - 1, sub: 'a', iss }))).toEqual({ ok: false, error: 'expired' });
    expect(check(sign({ alg: 'none' }, { exp, sub: 'a', iss }))).toEqual({ ok: false, error: 'malformed' });
    expect(check(sign({ alg: 'HS512' }, { exp, sub: 'a', iss }))).toEqual({ ok: false, error: 'malformed' });
    expect(check('a.b')).toEqual({ ok: false, error: 'malformed' });
    expect(check('not json.at all.x')).toEqual({ ok: false, error: 'malformed' });
    expect(check(sign(hs, { exp, sub: 'a', iss }))).toEqual({ ok: true, value: { userId: 'a' } });
  });
});
