import type { SendOutcome } from '@pushcast/domain';
import type { BreakerKey, SliceVerdict } from '@pushcast/redis-state';
import { describe, expect, it } from 'vitest';
import type { Channel, Recipient } from '../../channels/channel.ts';
import type { ChunkBreaker } from './deps.ts';
import { fixture, type Fixture } from './fakes.ts';
import { runChunk } from './run.ts';

// What a chunk run tells beyond the ledger (issue 14): delivery records, and the credential breaker.

const job = { notificationId: 1, chunkIndex: 0, round: 0, jobId: 'apns-1-0' };
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** The fixture's fake channel, as an APNs channel (refusals name the credential as the real one does). */
function apns(f: Fixture): Channel<Recipient, 'apns'> {
  return {
    platform: 'apns',
    sliceSize: f.channel.sliceSize,
    load: () => f.channel.load(),
    prepare: () => f.channel.prepare(),
  };
}

/** The breaker's count in memory: refusals in a row, reset by a delivery, tripping at `threshold`. */
class FakeBreaker implements ChunkBreaker {
  streak = 0;
  constructor(readonly threshold = 3) {}
  async observe(_k: BreakerKey, v: SliceVerdict): Promise<boolean> {
    this.streak = v.delivered ? v.refusedSinceDelivery : this.streak + v.refused;
    return this.streak >= this.threshold;
  }
}

const refused: SendOutcome = { kind: 'refused', reason: 'apns_InvalidProviderToken', status: 403, credential: 'fp1' };

describe('delivery records', () => {
  it('records who did not get it, with the provider status and reason; deliveries only when the project records all', async () => {
    const f = fixture(6);
    f.channel.answer = (id) =>
      id === 1
        ? { kind: 'gone', status: 410, reason: 'Unregistered' }
        : id === 2
          ? { kind: 'failed', reason: 'apns_PayloadTooLarge', status: 413 }
          : { kind: 'delivered' };
    await runChunk(apns(f), f.deps, job);
    expect(f.store.records).toEqual([
      { subscriptionId: 1, outcome: 'pruned', status: 410, reason: 'Unregistered' },
      { subscriptionId: 2, outcome: 'failed', status: 413, reason: 'apns_PayloadTooLarge' },
    ]);

    const all = fixture(3);
    const project = (await all.store.findProject(1))!;
    all.store.findProject = async () => ({ ...project, recordDeliveries: 'all' });
    await runChunk(apns(all), all.deps, job);
    expect(all.store.records.map((r) => [r.subscriptionId, r.outcome])).toEqual([
      [1, 'delivered'],
      [2, 'delivered'],
      [3, 'delivered'],
    ]);
  });

  it('past the TTL while the quota holds the chunk: quota_expired; else expired', async () => {
    const held = fixture(2, { n: { ttl: 60, createdAt: new Date(0) }, quota: 0 });
    await runChunk(apns(held), held.deps, job);
    expect(held.store.records.map((r) => r.outcome)).toEqual(['quota_expired', 'quota_expired']);
    const late = fixture(2, { n: { ttl: 60, createdAt: new Date(0) } });
    await runChunk(apns(late), late.deps, job);
    expect(late.store.records.map((r) => r.outcome)).toEqual(['expired', 'expired']);
  });
});

describe('the credential breaker', () => {
  it('refusals in a row reject the credential and hold the chunk, recording nobody refused', async () => {
    const f = fixture(25);
    const breaker = new FakeBreaker();
    f.channel.answer = () => refused;
    const step = await runChunk(apns(f), { ...f.deps, breaker }, job);
    expect(step).toEqual({ kind: 'defer', delayMs: f.deps.quotaRecheckMs, why: 'credentials' });
    // The first slice was enough; nobody has a final outcome, so the run after new credentials sends everyone.
    expect(f.channel.sent).toEqual(range(1, 10));
    expect(f.ledger.ledgerOf(0).size).toBe(0);
    expect(f.store.records).toEqual([]);
    expect(f.store.rejected).toEqual([{ fingerprint: 'fp1', reason: 'apns_InvalidProviderToken' }]);
    expect(f.store.completed).toBeUndefined();
  });

  it('a refusal among deliveries is retried, not a rejection', async () => {
    const f = fixture(25);
    const breaker = new FakeBreaker();
    f.channel.answer = (id) => (id % 5 === 0 ? refused : { kind: 'delivered' });
    const step = await runChunk(apns(f), { ...f.deps, breaker }, job);
    expect(step).toMatchObject({ kind: 'retry', round: 1 });
    expect(f.store.rejected).toEqual([]);
    expect(f.ledger.ledgerOf(0).size).toBe(20);
  });

  it('a credential already rejected holds the chunk before anything is sent', async () => {
    const f = fixture(5);
    f.channel.prepareError = 'credentials_rejected';
    expect(await runChunk(apns(f), f.deps, job)).toEqual({ kind: 'defer', delayMs: f.deps.quotaRecheckMs, why: 'credentials' });
    expect(f.channel.sent).toEqual([]);
    expect(f.ledger.ledgerOf(0).size).toBe(0);
  });

  it('Web Push: 401/403 naming the VAPID credential are failures for their recipients, and count towards the breaker', async () => {
    const f = fixture(25);
    const breaker = new FakeBreaker();
    const web: Channel<Recipient, 'web'> = { ...apns(f), platform: 'web' };
    f.channel.answer = () => ({ kind: 'failed', reason: 'vapid_rejected_403', status: 403, credential: 'vapid1' });
    const step = await runChunk(web, { ...f.deps, breaker }, job);
    expect(step).toEqual({ kind: 'defer', delayMs: f.deps.quotaRecheckMs, why: 'credentials' });
    expect(f.channel.sent).toEqual(range(1, 10));
    // Final for those refused (each may be a subscription made under another key)…
    expect(f.store.records.map((r) => [r.subscriptionId, r.outcome, r.reason])).toEqual(range(1, 10).map((id) => [id, 'failed', 'vapid_rejected_403']));
    // …and the project's Web Push held with the reason.
    expect(f.store.rejected).toEqual([{ fingerprint: 'vapid1', reason: 'vapid_rejected_403' }]);
  });

  it('Web Push: a 400 is a failure the breaker does not count', async () => {
    const f = fixture(25);
    const breaker = new FakeBreaker();
    const web: Channel<Recipient, 'web'> = { ...apns(f), platform: 'web' };
    f.channel.answer = () => ({ kind: 'failed', reason: 'http_400', status: 400 });
    expect(await runChunk(web, { ...f.deps, breaker }, job)).toEqual({ kind: 'finished' });
    expect(breaker.streak).toBe(0);
    expect(f.store.rejected).toEqual([]);
    expect(f.store.records).toHaveLength(25);
  });
});
