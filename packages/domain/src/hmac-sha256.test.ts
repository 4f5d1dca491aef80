import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from './hmac-sha256.ts';

describe('hmacSha256', () => {
  it('matches RFC 4231 test case 2 and node:crypto for keys shorter than, equal to and longer than a block', () => {
    expect(hmacSha256(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?')).toString('hex')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
    for (const keyBytes of [0, 1, 16, 32, 63, 64, 65, 131]) {
      for (const messageBytes of [0, 1, 55, 56, 64, 200]) {
        const key = randomBytes(keyBytes);
        const message = randomBytes(messageBytes);
        expect(hmacSha256(key, message).toString('hex')).toBe(createHmac('sha256', key).update(message).digest('hex'));
      }
    }
  });
});

describe('hmacSha256 with its reused scratch', () => {
  it('gives each call its own result, whatever the calls before and after (lengths reused, longer than the scratch)', () => {
    const key = randomBytes(32);
    const messages = [randomBytes(32), randomBytes(144), randomBytes(32), randomBytes(2000), randomBytes(144)];
    const results = messages.map((m) => hmacSha256(key, m));
    // Nested as Web Push's key derivation nests them: the inner result is the outer call's key.
    const nested = hmacSha256(hmacSha256(key, messages[0]!), messages[1]!);
    messages.forEach((m, i) => expect(results[i]!.toString('hex')).toBe(createHmac('sha256', key).update(m).digest('hex')));
    const innerKey = createHmac('sha256', key).update(messages[0]!).digest();
    expect(nested.toString('hex')).toBe(createHmac('sha256', innerKey).update(messages[1]!).digest('hex'));
  });
});
