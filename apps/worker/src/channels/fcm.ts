import type { Agent } from 'node:http';
import { expiresAt, ok } from '@pushcast/domain';
import { FCM_MAX_BATCH, FcmClient, fcmMessageOf, type ClientCache, type ProviderObserver } from '@pushcast/providers';
import { loadDeviceRecipients, type DeviceRecipient } from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';
import { credentialsFor, naming, type CredentialsSource } from './credentials.ts';

export interface FcmChannelDeps {
  readonly credentials: CredentialsSource;
  readonly clients: ClientCache<FcmClient>;
  /** HTTP/2 streams in flight per credential (one session each). */
  readonly maxInFlightPerCredential: number;
  /** Routes OAuth and FCM requests to a local server (tests, demo, benchmark). */
  readonly httpAgent?: Agent | undefined;
  /** Metrics of the batches on the wire. */
  readonly observer?: ProviderObserver | undefined;
}

/** FCM: registration tokens, the project's service account, one client (firebase-admin app and HTTP/2 session) per credential. */
export function fcmChannel(deps: FcmChannelDeps): Channel<DeviceRecipient, 'fcm'> {
  return {
    platform: 'fcm',
    // Between two looks at whether the notification was cancelled; the wire sends one message per stream.
    sliceSize: FCM_MAX_BATCH,
    load: (db, filter, chunk) => loadDeviceRecipients(db, filter, chunk, 'fcm'),
    async prepare(n, project, nowMs) {
      const found = await credentialsFor(deps.credentials, project.id, 'fcm');
      if (!found.ok) return found;
      const { fcm, fingerprint } = found.value;
      const template = fcmMessageOf(n, ttlLeft(expiresAt(n), nowMs));
      const create = () =>
        new FcmClient({
          credentials: fcm,
          maxInFlight: deps.maxInFlightPerCredential,
          httpAgent: deps.httpAgent,
          observer: deps.observer,
        });
      return ok(async (slice, onOutcome) => {
        await deps.clients.with(fingerprint, create, (client) =>
          client.send(slice.map((r) => ({ subscriptionId: r.id, token: r.token })), template, naming(fingerprint, onOutcome)),
        );
      });
    },
  };
}
