import { describe, expect, it } from 'vitest';
import { apnsMessage, apnsPayloadBytes, type ApnsSource } from './payload.ts';
import { apnsOutcome } from './response.ts';

const NOW = Date.UTC(2026, 10, 24, 12, 0, 0);
const base: ApnsSource = {
  id: 42,
  title: 'Order shipped',
  body: 'Arrives Tuesday',
  targetUrl: 'https://shop.example/orders/42',
  iconUrl: null,
  imageUrl: null,
  silent: false,
  urgent: false,
  customData: null,
  actions: [],
  ttl: 3600,
  topic: null,
  override: undefined,
};

describe('APNs payload mapping', () => {
  it('maps an alert: title and body, sound, custom keys, priority 5 unless urgent, expiration from the TTL left', () => {
    const m = apnsMessage(base, NOW);
    expect(m.payload).toEqual({
      aps: { alert: { title: 'Order shipped', body: 'Arrives Tuesday' }, sound: 'default' },
      id: 42,
      target_url: 'https://shop.example/orders/42',
    });
    expect(m.pushType).toBe('alert');
    expect(m.priority).toBe(5);
    expect(m.expiration).toBe(NOW / 1000 + 3600);
    expect(m.collapseId).toBeUndefined();
    expect(apnsMessage({ ...base, urgent: true }, NOW).priority).toBe(10);
  });

  it('an image asks for a notification service extension; actions and custom data ride along; the topic collapses', () => {
    const m = apnsMessage(
      {
        ...base,
        imageUrl: 'https://shop.example/box.png',
        customData: '{"order":42}',
        actions: [{ title: 'Track', action: 'track', targetUrl: 'https://shop.example/track', icon: null }],
        topic: 'orders',
      },
      NOW,
    );
    expect(m.payload).toMatchObject({
      aps: { 'mutable-content': 1 },
      image: 'https://shop.example/box.png',
      custom_data: '{"order":42}',
      actions: [{ title: 'Track', action: 'track', target_url: 'https://shop.example/track' }],
    });
    expect(m.collapseId).toBe('orders');
  });

  it('silent becomes a background push with priority 5 and no alert', () => {
    const m = apnsMessage({ ...base, silent: true, urgent: true }, NOW);
    expect(m.payload.aps).toEqual({ 'content-available': 1 });
    expect(m.pushType).toBe('background');
    expect(m.priority).toBe(5);
  });

  it('a TTL of 0 means now or never', () => {
    expect(apnsMessage({ ...base, ttl: 0 }, NOW).expiration).toBe(0);
  });

  it('merges an override deeply: aps keys, custom keys, null removes, headers replace', () => {
    const m = apnsMessage(
      {
        ...base,
        override: {
          aps: { alert: { subtitle: 'From the warehouse' }, badge: 3, sound: null },
          order_id: 'A-42',
          headers: { 'apns-priority': 10, 'apns-collapse-id': 'order-42' },
        },
      },
      NOW,
    );
    expect(m.payload).toEqual({
      aps: { alert: { title: 'Order shipped', body: 'Arrives Tuesday', subtitle: 'From the warehouse' }, badge: 3 },
      id: 42,
      target_url: 'https://shop.example/orders/42',
      order_id: 'A-42',
    });
    expect(m.priority).toBe(10);
    expect(m.collapseId).toBe('order-42');
    expect(apnsPayloadBytes(m)).toBe(Buffer.byteLength(JSON.stringify(m.payload)));
  });

  it('a Beams-style body (aps + data) works unchanged', () => {
    const m = apnsMessage({ ...base, override: { aps: { alert: 'Plain alert' }, data: { k: 'v' } } }, NOW);
    expect(m.payload).toMatchObject({ aps: { alert: 'Plain alert', sound: 'default' }, data: { k: 'v' } });
  });
});

describe('APNs answers', () => {
  const now = 1_000_000;
  it.each([
    [{ status: 410, response: { reason: 'Unregistered' } }, { kind: 'gone', status: 410, reason: 'Unregistered' }],
    [{ status: 400, response: { reason: 'BadDeviceToken' } }, { kind: 'gone', status: 400, reason: 'BadDeviceToken' }],
    [{ status: 400, response: { reason: 'BadTopic' } }, { kind: 'failed', reason: 'apns_BadTopic', status: 400 }],
    // A 403 other than an expired token is about the credential: refused, not this device's failure.
    [{ status: 403, response: { reason: 'InvalidProviderToken' } }, { kind: 'refused', reason: 'apns_InvalidProviderToken', status: 403 }],
    [{ status: 403, response: { reason: 'BadCertificate' } }, { kind: 'refused', reason: 'apns_BadCertificate', status: 403 }],
    [{ status: 413, response: { reason: 'PayloadTooLarge' } }, { kind: 'failed', reason: 'apns_PayloadTooLarge', status: 413 }],
    [{ status: 429, response: { reason: 'TooManyRequests' }, retryAfterHeader: '7' }, { kind: 'retry', notBefore: now + 7000, reason: 'apns_TooManyRequests' }],
    [{ status: 503, response: { reason: 'ServiceUnavailable' } }, { kind: 'retry', notBefore: now, reason: 'apns_ServiceUnavailable' }],
    [{ status: 403, response: { reason: 'ExpiredProviderToken' } }, { kind: 'retry', notBefore: now, reason: 'apns_ExpiredProviderToken' }],
    [{ error: new Error('apn write timeout') }, { kind: 'retry', notBefore: now, reason: 'apns_transport' }],
    // A connection that failed TLS verification: the socket's error, as the session reports it.
    [{ error: Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }) }, { kind: 'retry', notBefore: now, reason: 'apns_transport_DEPTH_ZERO_SELF_SIGNED_CERT' }],
    [{ error: { cause: () => Object.assign(new Error('reset'), { code: 'ECONNRESET' }) } }, { kind: 'retry', notBefore: now, reason: 'apns_transport_ECONNRESET' }],
  ])('%o → %o', (failure, outcome) => {
    expect(apnsOutcome(failure, now)).toEqual(outcome);
  });
  it('success is delivered', () => expect(apnsOutcome(undefined, now)).toEqual({ kind: 'delivered' }));
});
