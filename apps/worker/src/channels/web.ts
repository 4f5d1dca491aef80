import { err, expiresAt, ok, openToken, type SecretKeyring } from '@pushcast/domain';
import { webPushNotificationOf, type WebPushClient } from '@pushcast/providers';
import { loadSenderKeys, loadWebRecipients, openTrackingKeySource, type Db, type WebRecipient } from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';

/** RFC 8292 wants a contact: the project's site if it is https, else a mailto at its host. */
export function vapidSubject(website: string): string {
  const url = new URL(website);
  return url.protocol === 'https:' ? url.origin : `mailto:webpush@${url.hostname}`;
}

/**
 * Web Push: browser subscriptions, VAPID keys of the project's sender (its private key opened once
 * per chunk run: one row, one AES-GCM open; `vapid_key_unreadable` when this process cannot open it,
 * as `credentials_unreadable` for devices). Every message carries its
 * recipient's open-tracking token (bound to the notification and the subscription), so each
 * recipient's payload is built on its own; the encryption is per recipient anyway.
 */
export function webChannel(deps: { db: Db; webPush: WebPushClient; secretKeys: SecretKeyring }): Channel<WebRecipient, 'web'> {
  // Loaded once per process (kept sealed under PUSHCAST_SECRET_KEY, or Pushcast's own secret in PostgreSQL).
  const loadOpenKey = openTrackingKeySource(deps.db, deps.secretKeys);
  return {
    platform: 'web',
    sliceSize: 100,
    load: (db, filter, chunk) => loadWebRecipients(db, filter, chunk),
    async prepare(n, project, nowMs) {
      const sender = await loadSenderKeys(deps.db, deps.secretKeys, project.senderId);
      if (!sender.ok) return err('vapid_key_unreadable');
      if (!sender.value) return err('sender_missing');
      const key = await loadOpenKey();
      const message = webPushNotificationOf(n, ttlLeft(expiresAt(n), nowMs));
      const vapid = { ...sender.value, subject: vapidSubject(project.website) };
      return ok(async (slice, onOutcome) => {
        await Promise.all(
          slice.map(async (r, i) => {
            const [outcome] = await deps.webPush.send(
              [{ subscriptionId: r.id, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth }],
              { ...message, openToken: openToken(key, n.id, r.id) },
              vapid,
            );
            onOutcome(i, outcome!);
          }),
        );
      });
    },
  };
}
