import { createHash } from 'node:crypto';
import { CREDENTIALS_REJECTED, err, expiresAt, ok, openToken, type SecretKeyring, type SendOutcome } from '@pushcast/domain';
import { webPushNotificationOf, type WebPushClient } from '@pushcast/providers';
import {
  findSender,
  findWebPushSigning,
  loadSenderKeys,
  loadWebRecipients,
  openTrackingKeySource,
  rejectWebPush,
  type Db,
  type Queryable,
  type WebRecipient,
} from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';

/** RFC 8292 wants a contact: the project's site if it is https, else a mailto at its host. */
export function vapidSubject(website: string): string {
  const url = new URL(website);
  return url.protocol === 'https:' ? url.origin : `mailto:webpush@${url.hostname}`;
}

/** What push services judge of a VAPID credential: the key and the subject, as one fingerprint for the breaker. */
export function vapidFingerprint(publicKey: string, subject: string): string {
  return createHash('sha256').update(`${publicKey}\n${subject}`).digest('base64url').slice(0, 22);
}

/** A 401/403 names the VAPID credential it refused, for the credential breaker (still final for the recipient). */
const namingVapid = (fingerprint: string, o: SendOutcome): SendOutcome =>
  o.kind === 'failed' && (o.status === 401 || o.status === 403) ? { ...o, credential: fingerprint } : o;

/**
 * Web Push: browser subscriptions, VAPID keys of the project's sender (its private key opened once
 * per chunk run: one row, one AES-GCM open; `vapid_key_unreadable` when this process cannot open it,
 * as `credentials_unreadable` for devices). Every message carries its
 * recipient's open-tracking token (bound to the notification and the subscription): the client
 * encodes the payload once per slice and splices each recipient's token in; the encryption is per
 * recipient anyway.
 */
export function webChannel(deps: { db: Db; webPush: WebPushClient; secretKeys: SecretKeyring }): Channel<WebRecipient, 'web'> {
  // Loaded once per process (kept sealed under PUSHCAST_SECRET_KEY, or Pushcast's own secret in PostgreSQL).
  const loadOpenKey = openTrackingKeySource(deps.db, deps.secretKeys);
  return {
    platform: 'web',
    sliceSize: 100,
    load: (db, filter, chunk) => loadWebRecipients(db, filter, chunk),
    async prepare(n, project, nowMs) {
      // The website and sender as they are now, with the hold: the run's project may have been read
      // before a new website lifted the hold, and signing with the old one would be refused again.
      const signing = await findWebPushSigning(deps.db, project.id);
      if (!signing) return err('sender_missing');
      const sender = await loadSenderKeys(deps.db, deps.secretKeys, signing.senderId);
      if (!sender.ok) return err('vapid_key_unreadable');
      if (!sender.value) return err('sender_missing');
      const key = await loadOpenKey();
      const message = webPushNotificationOf(n, ttlLeft(expiresAt(n), nowMs));
      const vapid = { ...sender.value, subject: vapidSubject(signing.website) };
      const fingerprint = vapidFingerprint(vapid.publicKeyPem, vapid.subject);
      // Held while the push services' refusal still applies (a new website or sender lifts it).
      if (signing.rejectedFingerprint === fingerprint) return err(CREDENTIALS_REJECTED);
      return ok(async (slice, onOutcome) => {
        // One send per slice: the payload is encoded once, each recipient's open token spliced in;
        // each outcome is handed on as it arrives.
        await deps.webPush.send(
          slice.map((r) => ({ subscriptionId: r.id, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth, openToken: openToken(key, n.id, r.id) })),
          message,
          vapid,
          undefined,
          (i, outcome) => onOutcome(i, namingVapid(fingerprint, outcome)),
        );
      });
    },
  };
}

/**
 * The breaker's verdict on a VAPID credential, applied only while it is still the project's: sends
 * refused in flight when a new website or sender was saved must not hold the project again on the
 * credential it has just left (nor tell its webhooks so).
 */
export async function rejectVapidIfCurrent(db: Queryable, projectId: number, fingerprint: string, reason: string): Promise<boolean> {
  const signing = await findWebPushSigning(db, projectId);
  const sender = signing && (await findSender(db, signing.senderId));
  if (!signing || !sender || vapidFingerprint(sender.vapidPublicKey, vapidSubject(signing.website)) !== fingerprint) return false;
  return rejectWebPush(db, projectId, fingerprint, reason, signing);
}
