import type { Notification } from '@pushcast/domain';
import { describe, expect, it } from 'vitest';
import { fixture, NOW, type Fixture } from './fakes.ts';
import { MAX_RETRY_ROUNDS, nextRound } from './finish.ts';
import { openRun, runChunk } from './run.ts';
import type { ChunkRun } from './step.ts';

const job = { notificationId: 1, chunkIndex: 0, round: 0, jobId: 'web-1-0' };
const run = (f: Fixture, round = 0) => runChunk(f.channel, f.deps, { ...job, round });
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const ledgerIds = (f: Fixture) => [...f.ledger.ledgerOf(0).keys()].sort((a, b) => a - b);

describe('a chunk run, against a fake channel', () => {
  it('sends everyone once in slices, records each outcome, prunes the gone and completes with the counts', async () => {
    const f = fixture(25);
    f.channel.answer = (id) =>
      id % 10 === 3 ? { kind: 'gone', status: 410 } : id % 10 === 4 ? { kind: 'failed', reason: 'http_400' } : { kind: 'delivered' };
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.channel.slices).toEqual([range(1, 10), range(11, 20), range(21, 25)]);
    expect(f.store.completed).toEqual({ delivered: 19, pruned: 3, expired: 0, failed: { http_400: 3 } });
    expect(f.store.deleted).toEqual([3, 13, 23]);
    // What providers did not accept went back to the quota; the chunk's ledger is dropped once counted.
    expect(f.quota.released).toBe(6);
    expect(f.ledger.chunks.has(0)).toBe(false);
  });

  it('a re-run skips everyone the ledger already has', async () => {
    const f = fixture(25);
    await f.ledger.record(1, 0, 'web', range(1, 12).map((id) => [id, { kind: 'delivered' }] as const));
    await run(f);
    expect(f.channel.sent).toEqual(range(13, 25));
    expect(f.store.completed).toMatchObject({ delivered: 25 });
  });

  it('puts each outcome in the ledger as it arrives, before the rest of its slice is answered', async () => {
    const f = fixture(25, { recorder: { maxBatch: 1, maxDelayMs: 1000 } });
    const seen: number[][] = [];
    f.channel.beforeAnswer = (i) => {
      if (i === 5) seen.push(ledgerIds(f));
    };
    await run(f);
    // The sixth answer of each full slice (the last slice has five).
    expect(seen).toEqual([range(1, 5), range(1, 15)]);
  });

  it('counts from one read of the ledger, writing nothing again when the ledger holds the whole run', async () => {
    const f = fixture(25, { recorder: { maxBatch: 5, maxDelayMs: 1000 } });
    await run(f);
    expect(f.store.completed).toMatchObject({ delivered: 25 });
    // Only the recording rounds: five outcomes each, none of them twice.
    expect(f.ledger.writes).toEqual([range(1, 5), range(6, 10), range(11, 15), range(16, 20), range(21, 25)]);
  });

  it('writes again what the ledger lost while the run went on (Redis restarted empty), and counts everyone', async () => {
    const f = fixture(25, { recorder: { maxBatch: 5, maxDelayMs: 1000 } });
    f.channel.beforeAnswer = (i, id) => {
      // Between the second and third slices Redis forgets the first 20 outcomes.
      if (i === 0 && id === 21) f.ledger.chunks.delete(0);
    };
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.store.completed).toMatchObject({ delivered: 25 });
    expect(f.ledger.writes.at(-1)).toEqual(range(1, 20));
    expect(f.channel.sent).toEqual(range(1, 25));
  });

  it('cancelled between two slices: stops after the slice it sent, which keeps its counts', async () => {
    const f = fixture(25);
    f.store.onStatusRead = () => f.store.cancel();
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.channel.sent).toEqual(range(1, 10));
    expect(f.store.cancelledStats).toMatchObject({ delivered: 10 });
    expect(f.store.completed).toBeUndefined();
  });

  it('a chunk cancelled before its run sends nothing and keeps the counts of an earlier run', async () => {
    const f = fixture(25);
    await f.ledger.record(1, 0, 'web', range(1, 3).map((id) => [id, { kind: 'delivered' }] as const));
    f.store.cancel();
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.channel.sent).toEqual([]);
    expect(f.store.cancelledStats).toMatchObject({ delivered: 3 });
  });

  it('cancelled during its last slice: completing changes nothing, and the chunk keeps the counts', async () => {
    const f = fixture(5);
    f.channel.beforeAnswer = (i) => {
      if (i === 2) f.store.cancel();
    };
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.store.completed).toBeUndefined();
    expect(f.store.cancelledStats).toMatchObject({ delivered: 5 });
  });

  it('a worker shutting down hands the rest back after the slice in flight, which is in the ledger', async () => {
    const f = fixture(25);
    f.channel.beforeAnswer = () => f.handBack.abort();
    expect(await run(f)).toEqual({ kind: 'defer', delayMs: 0, why: 'shutdown' });
    expect(f.channel.sent).toEqual(range(1, 10));
    expect(ledgerIds(f)).toEqual(range(1, 10));
  });

  it('a used-up quota defers the run before loading anyone, or after what it granted', async () => {
    const blocked = fixture(25, { quota: 0 });
    expect(await run(blocked)).toEqual({ kind: 'defer', delayMs: 30_000, why: 'quota' });
    expect(blocked.channel.sent).toEqual([]);

    const partly = fixture(25, { quota: 15 });
    expect(await run(partly)).toEqual({ kind: 'defer', delayMs: 30_000, why: 'quota' });
    expect(partly.channel.slices).toEqual([range(1, 10), range(11, 15)]);
    expect(ledgerIds(partly)).toEqual(range(1, 15));
  });

  it('recipients to retry: another round, not before their Retry-After, with the others recorded', async () => {
    const f = fixture(25);
    f.channel.answer = (id) => (id <= 3 ? { kind: 'retry', notBefore: NOW + 120_000, reason: 'http_429' } : { kind: 'delivered' });
    expect(await run(f)).toEqual({ kind: 'retry', round: 1, delayMs: 120_000 });
    expect(ledgerIds(f)).toEqual(range(4, 25));
    expect(f.store.completed).toBeUndefined();
  });

  it('recipients to retry when no round is left: expired past the TTL, failed after the last round, expired at once for ttl 0', async () => {
    const retryAll = (f: Fixture, notBefore: number) => {
      f.channel.answer = () => ({ kind: 'retry', notBefore, reason: 'http_503' });
      return f;
    };
    // The TTL ends a minute after creation: a retry two minutes later is too late.
    const late = retryAll(fixture(4, { n: { ttl: 60 } }), NOW + 120_000);
    expect(await run(late)).toEqual({ kind: 'finished' });
    expect(late.store.completed).toMatchObject({ expired: 4 });

    const exhausted = retryAll(fixture(4), NOW);
    await run(exhausted, MAX_RETRY_ROUNDS);
    expect(exhausted.store.completed).toMatchObject({ failed: { retries_exhausted: 4 } });

    const now = retryAll(fixture(4, { n: { ttl: 0 } }), NOW);
    await run(now);
    expect(now.store.completed).toMatchObject({ expired: 4 });
  });

  it('a channel that cannot send records every recipient failed with its reason, and sends nothing', async () => {
    const f = fixture(25);
    f.channel.prepareError = 'no_credentials';
    expect(await run(f)).toEqual({ kind: 'finished' });
    expect(f.channel.sent).toEqual([]);
    expect(f.store.completed).toEqual({ delivered: 0, pruned: 0, expired: 0, failed: { no_credentials: 25 } });
  });

  it('a notification past its TTL records everyone expired, and sends nothing', async () => {
    const f = fixture(25, { n: { ttl: 60, createdAt: new Date(NOW - 120_000) } });
    await run(f);
    expect(f.channel.sent).toEqual([]);
    expect(f.store.completed).toMatchObject({ expired: 25 });
  });

  it('a sender that throws or leaves recipients unanswered fails the run, with what it answered in the ledger', async () => {
    const throwing = fixture(25);
    throwing.channel.beforeAnswer = (i) => {
      if (i === 5) throw new Error('socket hang up');
    };
    await expect(run(throwing)).rejects.toThrow('socket hang up');
    expect(ledgerIds(throwing)).toEqual(range(1, 5));
    // Its reservation stays counted: what it sent is unknown.
    expect(throwing.quota.released).toBe(0);

    const silent = fixture(25);
    silent.channel.unanswered.add(4);
    await expect(run(silent)).rejects.toThrow('answered 9 of 10');
    expect(ledgerIds(silent)).toEqual([1, 2, 3, 5, 6, 7, 8, 9, 10]);
  });
});

describe('the next round for recipients to retry', () => {
  const aRun = async (round: number, n: Partial<Notification> = {}) => {
    const f = fixture(1, { n });
    const opened = await openRun(f.deps, 'web', { ...job, round });
    return opened as ChunkRun;
  };
  const tally = (notBefore: number) => ({ ids: [1], reasons: { http_429: 1 }, notBefore });

  it('backs off exponentially from 1 s, never before Retry-After', async () => {
    expect(nextRound(await aRun(0), tally(0), NOW, () => 1)).toEqual({ kind: 'retry', round: 1, at: NOW + 1_000 });
    expect(nextRound(await aRun(3), tally(0), NOW, () => 1)).toEqual({ kind: 'retry', round: 4, at: NOW + 8_000 });
    expect(nextRound(await aRun(0), tally(NOW + 42_000), NOW, () => 1)).toEqual({ kind: 'retry', round: 1, at: NOW + 42_000 });
  });
});
