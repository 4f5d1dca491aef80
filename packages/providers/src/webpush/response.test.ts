import { describe, expect, it } from 'vitest';
import { outcomeForError, outcomeForStatus, retryAfterTime } from './response.ts';

const NOW = Date.UTC(2025, 0, 1);

describe('retryAfterTime', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(retryAfterTime('7', NOW)).toBe(NOW + 7000);
    expect(retryAfterTime(' 0 ', NOW)).toBe(NOW);
    expect(retryAfterTime('Wed, 01 Jan 2025 00:01:00 GMT', NOW)).toBe(NOW + 60_000);
    expect(retryAfterTime(['3', '9'], NOW)).toBe(NOW + 3000);
  });

  it('falls back to now when absent, malformed or past', () => {
    expect(retryAfterTime(undefined, NOW)).toBe(NOW);
    expect(retryAfterTime('soon', NOW)).toBe(NOW);
    expect(retryAfterTime('-5', NOW)).toBe(NOW);
    expect(retryAfterTime('Tue, 31 Dec 2024 23:00:00 GMT', NOW)).toBe(NOW);
  });
});

describe('outcomeForStatus', () => {
  it('treats any 2xx as delivered and 3xx as a final failure', () => {
    expect(outcomeForStatus(204, undefined, NOW)).toEqual({ kind: 'delivered' });
    expect(outcomeForStatus(301, undefined, NOW)).toEqual({ kind: 'failed', reason: 'http_301', status: 301 });
  });

  it('retries 429 and every 5xx', () => {
    expect(outcomeForStatus(429, undefined, NOW)).toEqual({ kind: 'retry', notBefore: NOW, reason: 'http_429' });
    expect(outcomeForStatus(502, '2', NOW)).toEqual({ kind: 'retry', notBefore: NOW + 2000, reason: 'http_502' });
  });
});

describe('outcomeForError', () => {
  it('names timeouts and prefers the socket error under undici’s wrapper', () => {
    const timeout = Object.assign(new Error('headers timeout'), { code: 'UND_ERR_HEADERS_TIMEOUT' });
    expect(outcomeForError(timeout, NOW)).toEqual({ kind: 'retry', notBefore: NOW, reason: 'timeout' });
    const reset = Object.assign(new Error('other side closed', { cause: Object.assign(new Error('read'), { code: 'ECONNRESET' }) }), {
      code: 'UND_ERR_SOCKET',
    });
    expect(outcomeForError(reset, NOW)).toEqual({ kind: 'retry', notBefore: NOW, reason: 'network_ECONNRESET' });
    expect(outcomeForError(new Error('?'), NOW)).toEqual({ kind: 'retry', notBefore: NOW, reason: 'network_unknown' });
  });
});
