import type { SendOutcome } from '@pushcast/domain';
import { generateApnsKey, startLocalApnsService, type LocalApnsService, type LocalApnsServiceOptions } from '@pushcast/local-apns-service';
import { ApnsClient, mintApnsProviderToken, type ApnsMessage, type ApnsProviderTokens, type ApnsTarget } from '@pushcast/providers';
import { afterEach, describe, expect, it } from 'vitest';
import { apnsToken } from './support/devices.ts';

// ApnsClient against the local APNs server (TLS, HTTP/2, ES256 provider tokens verified): the
// connections of one credential, taken in turn, and a connection that APNs retires (GOAWAY).

const TOPIC = 'com.example.connections';
const MESSAGE: ApnsMessage = { payload: { aps: { alert: { title: 'Hello', body: 'Over several connections' } } }, pushType: 'alert', priority: 10, expiration: 0, collapseId: undefined };

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** One token for the key, minted once: what RedisApnsTokenStore gives every worker. */
function oneToken(): ApnsProviderTokens {
  let token: string | undefined;
  return {
    current: async (key) => (token ??= mintApnsProviderToken(key, Math.floor(Date.now() / 1000))),
    rejected: async () => {
      token = undefined;
    },
  };
}

async function setup(connections: number, server: LocalApnsServiceOptions = {}): Promise<{ service: LocalApnsService; client: ApnsClient }> {
  const service = await startLocalApnsService(server);
  cleanups.push(() => service.close());
  const key = generateApnsKey();
  service.trustKey({ keyId: key.keyId, teamId: key.teamId, keyPem: key.keyPem }, [TOPIC]);
  const client = new ApnsClient({
    credentials: { keyId: key.keyId, teamId: key.teamId, keyPem: key.keyPem, topic: TOPIC, production: true },
    tokens: oneToken(),
    maxInFlight: 300,
    connections,
    url: service.origin,
    ca: service.caPem,
  });
  cleanups.push(() => client.close());
  return { service, client };
}

const targets = (label: string, n: number): ApnsTarget[] => Array.from({ length: n }, (_, i) => ({ subscriptionId: i, token: apnsToken(`${label}-${i}`) }));
const kinds = (outcomes: readonly SendOutcome[]) => outcomes.reduce<Record<string, number>>((m, o) => ({ ...m, [o.kind]: (m[o.kind] ?? 0) + 1 }), {});
const perConnection = (service: LocalApnsService): number[] => {
  const counts = new Map<number, number>();
  for (const r of service.received()) counts.set(r.connection, (counts.get(r.connection) ?? 0) + 1);
  return [...counts.keys()].sort((a, b) => a - b).map((c) => counts.get(c)!);
};

describe('ApnsClient: the connections of one credential', () => {
  it('requests take the connections in turn: 900 over three, 300 each, one provider token', async () => {
    const { service, client } = await setup(3);
    const outcomes = await client.send(targets('turns', 900), MESSAGE);
    expect(kinds(outcomes)).toEqual({ delivered: 900 });
    expect(perConnection(service)).toEqual([300, 300, 300]);
    expect(service.counters().tokensMinted).toBe(1);
  });

  it('one connection when asked for one', async () => {
    const { service, client } = await setup(1);
    expect(kinds(await client.send(targets('single', 400), MESSAGE))).toEqual({ delivered: 400 });
    expect(perConnection(service)).toEqual([400]);
  });

  it('APNs retires a connection (GOAWAY): each device answered once, what it refused unprocessed goes again on a new connection', async () => {
    // Each connection is retired after 250 streams; with 300 in flight over two, some are refused each time.
    const { service, client } = await setup(2, { maxRequestsPerSession: 250 });
    const sent = targets('goaway', 1_500);
    expect(kinds(await client.send(sent, MESSAGE))).toEqual({ delivered: 1_500 });
    const ok = service.received().filter((r) => r.status === 200).map((r) => r.token);
    expect(ok).toHaveLength(1_500);
    expect(new Set(ok)).toEqual(new Set(sent.map((t) => t.token)));
    const connections = perConnection(service);
    expect(connections.length).toBeGreaterThanOrEqual(6);
    for (const requests of connections) expect(requests).toBeLessThanOrEqual(250);
    expect(service.counters().goaways).toBeGreaterThanOrEqual(connections.length - 2);
  });
});
