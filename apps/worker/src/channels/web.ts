import { err, expiresAt, ok } from '@pushcast/domain';
import { webPushNotificationOf, type WebPushClient } from '@pushcast/providers';
import { findSender, loadWebRecipients, type Db, type WebRecipient } from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';

/** RFC 8292 wants a contact: the project's site if it is https, else a mailto at its host. */
export function vapidSubject(website: string): string {
  const url = new URL(website);
  return url.protocol === 'https:' ? url.origin : `mailto:webpush@${url.hostname}`;
}

/** Web Push: browser subscriptions, VAPID keys of the project's sender. */
export function webChannel(deps: { db: Db; webPush: WebPushClient }): Channel<WebRecipient> {
  return {
    platform: 'web',
    sliceSize: 100,
    load: (db, filter, chunk) => loadWebRecipients(db, filter, chunk),
    async prepare(n, project, nowMs) {
      const sender = await findSender(deps.db, project.senderId);
      if (!sender) return err('sender_missing');
      const message = webPushNotificationOf(n, ttlLeft(expiresAt(n), nowMs));
      const vapid = { publicKeyPem: sender.vapidPublicKey, privateKeyPem: sender.vapidPrivateKey, subject: vapidSubject(project.website) };
      return ok((slice) =>
        deps.webPush.send(
          slice.map((r) => ({ subscriptionId: r.id, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth })),
          message,
          vapid,
        ),
      );
    },
  };
}
