import { describe, expect, it } from 'vitest';
import { webPushPayload, type WebPushNotification } from './payload.ts';

const base: WebPushNotification = {
  id: 42,
  title: 'T',
  body: 'Hello',
  targetUrl: null,
  iconUrl: null,
  badgeUrl: null,
  imageUrl: null,
  requireInteraction: false,
  silent: false,
  customData: 'c',
  actions: [],
  ttl: 60,
  urgent: false,
};

describe('the open-tracking token in the payload', () => {
  it('comes last, as open_token, and adds the same bytes for every recipient', () => {
    const token = 'A'.repeat(32);
    const json = webPushPayload({ ...base, openToken: token });
    expect(Object.keys(JSON.parse(json) as object).at(-1)).toBe('open_token');
    expect(json).toBe(`${webPushPayload(base).slice(0, -1)},"open_token":"${token}"}`);
    const other = webPushPayload({ ...base, openToken: 'b'.repeat(32) });
    expect(Buffer.byteLength(other)).toBe(Buffer.byteLength(json));
  });

  it('is left out when there is none', () => {
    expect(JSON.parse(webPushPayload({ ...base, openToken: null }))).not.toHaveProperty('open_token');
  });
});
