import { expiresAt, ok } from '@pushcast/domain';
import { ApnsClient, apnsMessageOf, type ApnsProviderTokens, type ClientCache, type ProviderObserver } from '@pushcast/providers';
import { loadDeviceRecipients, type DeviceRecipient } from '@pushcast/store';
import { ttlLeft, type Channel } from './channel.ts';
import { credentialsFor, naming, type CredentialsSource } from './credentials.ts';

export interface ApnsChannelDeps {
  readonly credentials: CredentialsSource;
  readonly clients: ClientCache<ApnsClient>;
  readonly tokens: ApnsProviderTokens;
  readonly maxInFlightPerCredential: number;
  /** HTTP/2 connections per credential, sharing its requests in flight. */
  readonly connectionsPerCredential: number;
  /** A local APNs server instead of Apple's (tests, demo, benchmark). */
  readonly url?: string | undefined;
  readonly ca?: string | undefined;
  /** Metrics of the requests on the wire. */
  readonly observer?: ProviderObserver | undefined;
}

/** APNs: device tokens, the project's .p8 credentials, one client (its HTTP/2 connections) per credential. */
export function apnsChannel(deps: ApnsChannelDeps): Channel<DeviceRecipient, 'apns'> {
  return {
    platform: 'apns',
    sliceSize: 250,
    load: (db, filter, chunk) => loadDeviceRecipients(db, filter, chunk, 'apns'),
    async prepare(n, project, nowMs) {
      const found = await credentialsFor(deps.credentials, project.id, 'apns');
      if (!found.ok) return found;
      const { apns, fingerprint } = found.value;
      const message = apnsMessageOf(n, ttlLeft(expiresAt(n), nowMs), nowMs);
      const create = () =>
        new ApnsClient({
          credentials: apns,
          tokens: deps.tokens,
          maxInFlight: deps.maxInFlightPerCredential,
          connections: deps.connectionsPerCredential,
          url: deps.url,
          ca: deps.ca,
          observer: deps.observer,
        });
      return ok(async (slice, onOutcome) => {
        await deps.clients.with(fingerprint, create, (client) =>
          client.send(slice.map((r) => ({ subscriptionId: r.id, token: r.token })), message, naming(fingerprint, onOutcome)),
        );
      });
    },
  };
}
