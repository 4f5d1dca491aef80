import { describe, expect, it } from 'vitest';
import { browserMaySetTag, browserVisibleTags, effectiveAllowedOrigins, isBrowserTagPattern, mergeBrowserTags, normalizeOrigin } from './browser-rules.ts';

describe('origins', () => {
  it('are scheme://host[:port], normalised as browsers send them', () => {
    expect(normalizeOrigin('https://Example.COM')).toBe('https://example.com');
    expect(normalizeOrigin('https://example.com/')).toBe('https://example.com');
    expect(normalizeOrigin('https://example.com:443')).toBe('https://example.com');
    expect(normalizeOrigin('http://localhost:3000')).toBe('http://localhost:3000');
    for (const bad of ['https://example.com/path', 'https://example.com?q', 'ftp://example.com', 'example.com', 'https://u:p@example.com', 'null']) {
      expect(normalizeOrigin(bad)).toBeNull();
    }
  });

  it("default to the website's origin", () => {
    expect(effectiveAllowedOrigins(null, 'https://shop.example/home?x=1')).toEqual(['https://shop.example']);
    expect(effectiveAllowedOrigins(['https://a.example'], 'https://shop.example')).toEqual(['https://a.example']);
    expect(effectiveAllowedOrigins([], 'https://shop.example')).toEqual([]);
  });
});

describe('tags a browser may set', () => {
  const patterns = ['news', 'city:*'];

  it('are exact tags or a prefix and *', () => {
    expect(browserMaySetTag(patterns, 'news')).toBe(true);
    expect(browserMaySetTag(patterns, 'newsletter')).toBe(false);
    expect(browserMaySetTag(patterns, 'city:paris')).toBe(true);
    expect(browserMaySetTag(patterns, 'vip')).toBe(false);
    expect(browserMaySetTag(['*'], 'anything')).toBe(true);
    expect(browserMaySetTag([], 'news')).toBe(false);
    expect(['news', 'city:*', '*', 'a.b@c#'].every(isBrowserTagPattern)).toBe(true);
    expect(['', 'a b', 'a*b', '**', 'x'.repeat(166)].some(isBrowserTagPattern)).toBe(false);
  });

  it("replace what a browser may set and keep the server's tags", () => {
    expect(mergeBrowserTags(patterns, ['vip', 'news', 'city:rome'], ['city:paris'])).toEqual(['vip', 'city:paris']);
    expect(mergeBrowserTags(patterns, ['vip'], ['news', 'news'])).toEqual(['vip', 'news']);
    expect(browserVisibleTags(patterns, ['vip', 'news', 'city:rome'])).toEqual(['news', 'city:rome']);
  });
});
