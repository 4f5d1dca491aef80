import { describe, expect, it } from 'vitest';
import { MAX_WEB_PUSH_PLAINTEXT, fitsWebPushRecord, webPushHeaders, webPushPayload, type WebPushNotification } from './payload.ts';

const base: WebPushNotification = {
  id: 42,
  title: null,
  body: 'Hello',
  targetUrl: null,
  iconUrl: null,
  badgeUrl: null,
  imageUrl: null,
  requireInteraction: false,
  silent: false,
  customData: null,
  actions: [],
  ttl: 3600,
  urgent: false,
};

describe('webPushPayload', () => {
  it('omits null fields and keeps the booleans and an empty actions array', () => {
    expect(webPushPayload(base)).toBe('{"id":42,"body":"Hello","actions":[],"require_interaction":false,"silent":false}');
  });

  it('writes every field in snake_case, in a fixed order', () => {
    const full: WebPushNotification = {
      ...base,
      title: 'Title',
      targetUrl: 'https://example.com/t',
      iconUrl: 'https://example.com/i.png',
      badgeUrl: 'https://example.com/b.png',
      imageUrl: 'https://example.com/im.png',
      requireInteraction: true,
      silent: true,
      customData: '{"a":1}',
      actions: [
        { title: 'A', targetUrl: 'https://example.com/a', icon: 'https://example.com/a.png', action: 'act_a' },
        { title: 'B', targetUrl: null, icon: null, action: null },
        { title: 'C' },
      ],
    };
    const json = webPushPayload(full);
    expect(Object.keys(JSON.parse(json) as object)).toEqual([
      'id',
      'title',
      'body',
      'icon',
      'badge',
      'image',
      'target_url',
      'actions',
      'require_interaction',
      'silent',
      'custom_data',
    ]);
    expect(JSON.parse(json)).toEqual({
      id: 42,
      title: 'Title',
      body: 'Hello',
      icon: 'https://example.com/i.png',
      badge: 'https://example.com/b.png',
      image: 'https://example.com/im.png',
      target_url: 'https://example.com/t',
      actions: [
        { title: 'A', target_url: 'https://example.com/a', icon: 'https://example.com/a.png', action: 'act_a' },
        { title: 'B' },
        { title: 'C' },
      ],
      require_interaction: true,
      silent: true,
      custom_data: '{"a":1}',
    });
  });

  it('is deterministic whatever order the input object was built in', () => {
    const reordered = Object.fromEntries(Object.entries({ ...base, title: 'T', iconUrl: 'i' }).reverse()) as unknown as WebPushNotification;
    expect(webPushPayload(reordered)).toBe(webPushPayload({ ...base, title: 'T', iconUrl: 'i' }));
  });
});

describe('the one-record limit', () => {
  it('is 4096 minus the 86-byte header, the 16-byte tag and the padding delimiter', () => {
    expect(MAX_WEB_PUSH_PLAINTEXT).toBe(4096 - (16 + 4 + 1 + 65) - 16 - 1);
  });

  it('counts UTF-8 bytes of the JSON, escapes included', () => {
    const overhead = Buffer.byteLength(webPushPayload({ ...base, body: '' }));
    const atLimit = webPushPayload({ ...base, body: 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead) });
    expect(Buffer.byteLength(atLimit)).toBe(MAX_WEB_PUSH_PLAINTEXT);
    expect(fitsWebPushRecord(atLimit)).toBe(true);

    const oneOver = webPushPayload({ ...base, body: 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead + 1) });
    expect(fitsWebPushRecord(oneOver)).toBe(false);

    // 'é' is 2 bytes: the same number of characters no longer fits.
    const accented = webPushPayload({ ...base, body: 'é' + 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead - 1) });
    expect(accented.length).toBe(MAX_WEB_PUSH_PLAINTEXT);
    expect(fitsWebPushRecord(accented)).toBe(false);

    // A quote is escaped to two bytes in JSON.
    const quoted = webPushPayload({ ...base, body: '"' + 'x'.repeat(MAX_WEB_PUSH_PLAINTEXT - overhead - 1) });
    expect(Buffer.byteLength(quoted)).toBe(MAX_WEB_PUSH_PLAINTEXT + 1);
    expect(fitsWebPushRecord(quoted)).toBe(false);
  });
});

describe('webPushHeaders', () => {
  it('maps urgent to high and anything else to normal', () => {
    expect(webPushHeaders({ ...base, urgent: true })).toEqual({ TTL: '3600', Urgency: 'high' });
    expect(webPushHeaders(base)).toEqual({ TTL: '3600', Urgency: 'normal' });
  });

  it('sends TTL as whole seconds, zero included', () => {
    expect(webPushHeaders({ ...base, ttl: 0 }).TTL).toBe('0');
    expect(webPushHeaders({ ...base, ttl: 59.9 }).TTL).toBe('59');
  });

  it('refuses a negative or non-finite TTL as a programmer error', () => {
    expect(() => webPushHeaders({ ...base, ttl: -1 })).toThrow(RangeError);
    expect(() => webPushHeaders({ ...base, ttl: Number.NaN })).toThrow(RangeError);
  });

  it('adds Topic only when it is at most 32 URL-safe base64 characters', () => {
    expect(webPushHeaders({ ...base, topic: 'news_update-2' }).Topic).toBe('news_update-2');
    expect(webPushHeaders({ ...base, topic: 'a'.repeat(32) }).Topic).toBe('a'.repeat(32));
    expect(webPushHeaders({ ...base, topic: 'a'.repeat(33) })).not.toHaveProperty('Topic');
    expect(webPushHeaders({ ...base, topic: 'has space' })).not.toHaveProperty('Topic');
    expect(webPushHeaders({ ...base, topic: 'plus+slash/' })).not.toHaveProperty('Topic');
    expect(webPushHeaders({ ...base, topic: '' })).not.toHaveProperty('Topic');
    expect(webPushHeaders({ ...base, topic: null })).not.toHaveProperty('Topic');
  });
});

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
