import type { Agent } from 'node:http';
import { expiresAt, ok } from '@pushcast/domain';
import { FCM_MAX_BATCH, FcmClient, fcmMessageOf, type ClientCache, type ProviderObserver } from '@pushcast/providers';
import { loadDeviceRecipients, type DeviceRecipient } from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';
import { credentialsFor, naming, type CredentialsSource } from './credentials.ts';

export interface FcmChannelDeps {
  readonly credentials: CredentialsSource;
  readonly clients: ClientCache<FcmClient>;
  readonly maxBatchesInFlightPerCredential: number;
  /** Routes OAuth and FCM requests to a local server (tests, demo, benchmark). */
  readonly httpAgent?: Agent | undefined;
  /** Metrics of the batches on the wire. */
  readonly observer?: ProviderObserver | undefined;
}

/** FCM: registration tokens, the project's service account, one firebase-admin app per credential. */
export function fcmChannel(deps: FcmChannelDeps): Channel<DeviceRecipient, 'fcm'> {
  return {
    platform: 'fcm',
    // One `sendEach` per slice: each call opens its own HTTP/2 session, so full batches pay off.
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
          maxBatchesInFlight: deps.maxBatchesInFlightPerCredential,
          httpAgent: deps.httpAgent,
          observer: deps.observer,
        });
      // A slice is one `sendEach` batch, whose outcomes arrive together.
      return ok(async (slice, onOutcome) => {
        const outcomes = await deps.clients.with(fingerprint, create, (client) =>
          client.send(slice.map((r) => ({ subscriptionId: r.id, token: r.token })), template),
        );
        const tell = naming(fingerprint, onOutcome);
        outcomes.forEach((o, i) => tell(i, o));
      });
    },
  };
}
