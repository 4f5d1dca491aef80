import { createECDH, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { subscriptionParser } from '../subscription-input.ts';
import { wellFormedWebRow } from './well-formed-web-row.ts';

const HOSTS = ['push.example', '*.allowed.example:8443'];
const parse = subscriptionParser(HOSTS);

const keyPair = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { point: ecdh.getPublicKey(), auth: randomBytes(16) };
};
const KEYS = Array.from({ length: 8 }, keyPair);

/** What the single create's parser makes of a body: the input, or the field and rule it refused. */
function parsed(body: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: parse(body) };
  } catch {
    return { ok: false };
  }
}

const pick = <T>(values: readonly T[]) => fc.constantFrom(...values);

// Values of each field, well-formed or not, written every way a client might: the fast path must
// accept only what the parser accepts, and answer the same input when it does.
const point = fc.nat(KEYS.length - 1).chain((i) => {
  const p = KEYS[i]!.point;
  const offCurve = Buffer.from(p);
  offCurve[64] = offCurve[64]! ^ 1;
  const compressed = Buffer.concat([Buffer.from([2]), p.subarray(1, 33)]);
  return pick<unknown>([
    p.toString('base64url'),
    p.toString('base64'),
    p.toString('base64').replace(/=+$/, ''),
    `${p.toString('base64url')}=`,
    p.toString('base64url').slice(1),
    `${p.toString('base64url')}A`,
    offCurve.toString('base64url'),
    compressed.toString('base64url'),
    p.toString('hex'),
    `${p.toString('base64url').slice(0, 40)}*${p.toString('base64url').slice(41)}`,
    '',
    null,
    42,
  ]);
});
const auth = fc.nat(KEYS.length - 1).chain((i) => {
  const a = KEYS[i]!.auth;
  return pick<unknown>([
    a.toString('base64url'),
    a.toString('base64'),
    `${a.toString('base64url')}=`,
    `${a.toString('base64url')}==`,
    `${a.toString('base64url')}===`,
    a.toString('base64url').slice(1),
    `${a.toString('base64url')}A`,
    `${a.toString('base64url')}AA`,
    randomBytes(15).toString('base64url'),
    randomBytes(17).toString('base64url'),
    `${a.toString('base64url').slice(0, 10)}.${a.toString('base64url').slice(11)}`,
    '',
    null,
    [],
  ]);
});
const endpoint = pick<unknown>([
  'https://push.example/send/1',
  'http://push.example/send/2',
  'https://PUSH.example/send/3',
  'https://a.allowed.example:8443/x',
  'https://a.allowed.example/x',
  'https://fcm.googleapis.com/fcm/send/abc',
  'https://fcm.googleapis.com:444/fcm/send/abc',
  'https://evil.example/send',
  'https://127.0.0.1/send',
  'https://user:pw@push.example/send',
  'ftp://push.example/send',
  'not a url',
  `https://push.example/${'x'.repeat(2100)}`,
  'https://push.example/nul\u0000',
  'https://push.example/\ud800',
  '',
  7,
]);
const uid = pick<unknown>([undefined, null, 'u1', '', 'x'.repeat(255), 'x'.repeat(256), 'é'.repeat(200), 'a\u0000b', 'a\ud800', 5, ['u']]);
const tag = pick<unknown>(['a', 'g1', 'x:y@z#=,;.-_', '', 'has space', 'ü', 't'.repeat(164), 't'.repeat(165), 3, null]);
const tags = fc.oneof(
  fc.constant<unknown>(undefined),
  fc.array(tag, { maxLength: 4 }),
  fc.constant<unknown>(Array.from({ length: 100 }, (_, i) => `t${i}`)),
  fc.constant<unknown>(Array.from({ length: 101 }, (_, i) => `t${i}`)),
  pick<unknown>(['a', null, {}]),
);
const email = pick<unknown>([undefined, null, 'a@b.example', 'A@B', 'no-at', 'a@b@c', 'a b@c', '', `${'a'.repeat(310)}@b.example`, 'a@\u0000', 1]);
const platform = pick<unknown>([undefined, 'web', 'WEB', 'fcm', 'apns', null, '']);
const extra = pick<Record<string, unknown>>([{}, {}, {}, { token: 'abc' }, { unknown: 1 }, JSON.parse('{"__proto__": {}}') as Record<string, unknown>, { user_agent: 'x' }]);

/** Mostly the first (a well-formed value), so that a good share of bodies are well-formed whole. */
const mostly = <T>(good: fc.Arbitrary<T>, any: fc.Arbitrary<T>) => fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: any, weight: 1 });
const goodPoint = fc.nat(KEYS.length - 1).map((i) => KEYS[i]!.point.toString('base64url') as unknown);
const goodAuth = fc.nat(KEYS.length - 1).map((i) => KEYS[i]!.auth.toString('base64url') as unknown);

const body = fc
  .record(
    {
      platform: mostly(pick<unknown>([undefined, 'web']), platform),
      endpoint: mostly(pick<unknown>(['https://push.example/send/1']), endpoint),
      p256dh: mostly(goodPoint, point),
      auth: mostly(goodAuth, auth),
      uid: mostly(pick<unknown>([undefined, 'u1']), uid),
      tags: mostly(pick<unknown>([undefined, ['a', 'b']]), tags),
      user_email: mostly(pick<unknown>([undefined, 'a@b']), email),
      extra: mostly(fc.constant({}), extra),
    },
  )
  .map(({ extra: more, ...fields }) => {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
    return JSON.parse(JSON.stringify({ ...out, ...more })) as unknown;
  });

describe('the bulk import fast path for well-formed web rows', () => {
  it('accepts only what the single create accepts, as the same input', () => {
    let accepted = 0;
    fc.assert(
      fc.property(body, (b) => {
        const fast = wellFormedWebRow(b, HOSTS);
        if (fast === null) return;
        accepted += 1;
        const slow = parsed(b);
        expect(slow).toEqual({ ok: true, value: fast });
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(1000);
  });

  it('takes the rows browsers and exports write (base64url keys, uid, tags, email or none)', () => {
    const k = KEYS[0]!;
    const rows: unknown[] = [
      { endpoint: 'https://push.example/s/1', p256dh: k.point.toString('base64url'), auth: k.auth.toString('base64url') },
      { platform: 'web', endpoint: 'https://push.example/s/2', p256dh: k.point.toString('base64url'), auth: k.auth.toString('base64url'), uid: 'u', tags: ['a', 'b'], user_email: 'a@b' },
      { endpoint: 'https://fcm.googleapis.com/fcm/send/x', p256dh: k.point.toString('base64'), auth: k.auth.toString('base64'), uid: null, user_email: null, tags: [] },
    ];
    for (const row of rows) {
      const fast = wellFormedWebRow(row, HOSTS);
      expect(fast).not.toBeNull();
      expect(fast).toEqual(parse(row));
    }
  });

  it('leaves every other row to the parser', () => {
    const k = KEYS[0]!;
    const good = { endpoint: 'https://push.example/s/1', p256dh: k.point.toString('base64url'), auth: k.auth.toString('base64url') };
    for (const row of [null, [], 'x', { ...good, token: 't' }, { ...good, platform: 'fcm' }, { ...good, auth: 'short' }, { ...good, tags: ['no space'] }]) {
      expect(wellFormedWebRow(row, HOSTS)).toBeNull();
    }
  });
});
