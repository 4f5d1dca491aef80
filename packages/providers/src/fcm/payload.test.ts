import { describe, expect, it } from 'vitest';
import { fcmMessage, fcmPayloadBytes, type FcmSource } from './payload.ts';
import { fcmOutcome } from './response.ts';

const base: FcmSource = {
  id: 7,
  title: 'Match starts',
  body: 'Kick-off in 5 minutes',
  targetUrl: 'https://club.example/live',
  iconUrl: 'https://club.example/icon.png',
  imageUrl: null,
  silent: false,
  urgent: false,
  customData: null,
  actions: [],
  ttl: 600,
  topic: null,
  override: undefined,
};

describe('FCM message mapping', () => {
  it('maps title/body to notification, the rest to string data, urgency and ttl to android', () => {
    expect(fcmMessage(base)).toEqual({
      notification: { title: 'Match starts', body: 'Kick-off in 5 minutes' },
      data: { id: '7', target_url: 'https://club.example/live', icon: 'https://club.example/icon.png' },
      android: { priority: 'normal', ttl: 600_000 },
    });
    expect(fcmMessage({ ...base, urgent: true }).android?.priority).toBe('high');
  });

  it('silent is a data-only message carrying title and body in data', () => {
    const m = fcmMessage({ ...base, silent: true });
    expect(m.notification).toBeUndefined();
    expect(m.data).toMatchObject({ title: 'Match starts', body: 'Kick-off in 5 minutes' });
  });

  it('image, actions, custom data and the collapse key', () => {
    const m = fcmMessage({
      ...base,
      imageUrl: 'https://club.example/pitch.png',
      customData: 'x=1',
      actions: [{ title: 'Watch', action: 'watch', targetUrl: null, icon: null }],
      topic: 'match-12',
    });
    expect(m.notification).toEqual({ title: 'Match starts', body: 'Kick-off in 5 minutes', imageUrl: 'https://club.example/pitch.png' });
    expect(m.data).toMatchObject({ custom_data: 'x=1', actions: JSON.stringify([{ title: 'Watch', action: 'watch', target_url: null, icon: null }]) });
    expect(m.android?.collapseKey).toBe('match-12');
  });

  it('merges an override given in FCM wire names into firebase-admin names', () => {
    const m = fcmMessage({
      ...base,
      override: {
        notification: { title: 'GOAL' },
        data: { score: '1-0' },
        android: { priority: 'high', ttl: 60, collapse_key: 'score', notification: { channel_id: 'goals', click_action: 'OPEN', color: '#00ff00' } },
        fcm_options: { analytics_label: 'goal' },
      },
    });
    expect(m).toEqual({
      notification: { title: 'GOAL', body: 'Kick-off in 5 minutes' },
      data: { id: '7', target_url: 'https://club.example/live', icon: 'https://club.example/icon.png', score: '1-0' },
      android: { priority: 'high', ttl: 60_000, collapseKey: 'score', notification: { channelId: 'goals', clickAction: 'OPEN', color: '#00ff00' } },
      fcmOptions: { analyticsLabel: 'goal' },
    });
    expect(fcmPayloadBytes(m)).toBe(Buffer.byteLength(JSON.stringify({ notification: m.notification, data: m.data })));
  });
});

describe('FCM answers', () => {
  const now = 5_000;
  it.each([
    [{ code: 'messaging/registration-token-not-registered', message: 'Requested entity was not found.', status: 404, fcmErrorCode: 'UNREGISTERED' }, { kind: 'gone', status: 404, reason: 'UNREGISTERED' }],
    // firebase-admin maps a bare NOT_FOUND (no FcmError detail: a wrong Firebase project) the same way: not a prune.
    [{ code: 'messaging/registration-token-not-registered', message: 'Requested entity was not found.', status: 404 }, { kind: 'failed', reason: 'fcm_http_404', status: 404 }],
    [{ code: 'app/network-timeout', message: 'Error while making request: timeout of 15000ms exceeded.' }, { kind: 'retry', notBefore: now, reason: 'fcm_app_network-timeout' }],
    [{ code: 'app/network-error', message: 'Error while making request: stream reset' }, { kind: 'retry', notBefore: now, reason: 'fcm_app_network-error' }],
    [{ code: 'messaging/invalid-argument', message: 'The registration token is not a valid FCM registration token', status: 400 }, { kind: 'gone', status: 400, reason: 'INVALID_ARGUMENT' }],
    [{ code: 'messaging/invalid-argument', message: 'Invalid value at message.android.ttl', status: 400 }, { kind: 'failed', reason: 'fcm_invalid-argument', status: 400 }],
    [{ code: 'messaging/message-rate-exceeded', message: 'Sending limit exceeded', status: 429, retryAfter: '3' }, { kind: 'retry', notBefore: 8_000, reason: 'fcm_message-rate-exceeded' }],
    [{ code: 'messaging/server-unavailable', message: 'unavailable', status: 503 }, { kind: 'retry', notBefore: now, reason: 'fcm_server-unavailable' }],
    [{ code: 'messaging/internal-error', message: 'internal', status: 500 }, { kind: 'retry', notBefore: now, reason: 'fcm_internal-error' }],
    // A token of another sender: that device's failure. The same code without the detail is the account's right to send refused.
    [{ code: 'messaging/mismatched-credential', message: 'SenderId mismatch', status: 403, fcmErrorCode: 'SENDER_ID_MISMATCH' }, { kind: 'failed', reason: 'fcm_mismatched-credential', status: 403 }],
    [{ code: 'messaging/mismatched-credential', message: "Permission 'cloudmessaging.messages.create' denied", status: 403 }, { kind: 'refused', reason: 'fcm_permission-denied', status: 403 }],
    [{ code: 'messaging/third-party-auth-error', message: 'Request had invalid authentication credentials.', status: 401 }, { kind: 'refused', reason: 'fcm_unauthenticated', status: 401 }],
    [{ code: 'messaging/third-party-auth-error', message: 'APNs auth error', status: 401, fcmErrorCode: 'THIRD_PARTY_AUTH_ERROR' }, { kind: 'failed', reason: 'fcm_third-party-auth-error', status: 401 }],
    [{ code: 'app/invalid-credential', message: 'Error fetching access token: invalid_grant (Invalid JWT Signature.)' }, { kind: 'refused', reason: 'fcm_app_invalid-credential' }],
    [{ code: 'app/invalid-credential', message: 'Error fetching access token: connect ECONNREFUSED' }, { kind: 'retry', notBefore: now, reason: 'fcm_oauth_unreachable' }],
  ])('%o → %o', (failure, outcome) => {
    expect(fcmOutcome(failure, now)).toEqual(outcome);
  });
});
