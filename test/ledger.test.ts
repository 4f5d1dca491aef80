import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis, deleteKeysWithPrefix, Ledger } from '@pushcast/redis-state';
import { TEST_REDIS_URL } from './support/server.ts';

// The ledger against a real Redis: what a chunk's completion reads to count and to find what Redis
// lost of a run's outcomes, and the live counters the API reads while a broadcast runs.

const prefix = `pushcast-test-ledger-${randomBytes(4).toString('hex')}`;
const redis = createRedis(TEST_REDIS_URL, 'worker');
const ledger = new Ledger(redis, prefix);

afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('a chunk ledger read in one go', () => {
  it('says which subscriptions it holds and counts their outcomes by kind and reason', async () => {
    const big = 2 ** 40 + 7; // ids past 2^32 are properties, not array indexes, of the reply
    await ledger.record(
      1,
      3,
      'fcm',
      [
        [10, { kind: 'delivered' }],
        [11, { kind: 'delivered' }],
        [12, { kind: 'pruned', status: 404 }],
        [13, { kind: 'expired' }],
        [14, { kind: 'failed', reason: 'messaging/invalid|argument' }],
        [big, { kind: 'failed', reason: 'messaging/invalid|argument' }],
        // The script takes each code's ids joined by ',': a reason may hold one.
        [15, { kind: 'failed', reason: 'bad,token' }],
      ],
      60,
    );
    // A second write of an id keeps the first outcome, as a re-run chunk's would.
    await ledger.record(1, 3, 'fcm', [[10, { kind: 'failed', reason: 'late' }]], 60);

    const state = await ledger.chunkState(1, 3);
    expect([10, 11, 12, 13, 14, 15, big].map((id) => state.holds(id))).toEqual([true, true, true, true, true, true, true]);
    expect([9, 16, big + 1].map((id) => state.holds(id))).toEqual([false, false, false]);
    expect(state.stats).toEqual({ delivered: 2, pruned: 1, expired: 1, failed: { 'messaging/invalid_argument': 2, 'bad,token': 1 } });
    expect(state.stats).toEqual(await ledger.chunkStats(1, 3));
    // The live counters (what the API shows while the broadcast runs) count each recipient once.
    const live = await ledger.liveStats(1, new Set());
    expect(live.fcm).toEqual(state.stats);
    expect(live.web).toEqual({ delivered: 0, pruned: 0, expired: 0, failed: {} });
  });

  it('of a chunk with nothing recorded (or lost with Redis) holds no one', async () => {
    const state = await ledger.chunkState(1, 4);
    expect(state.holds(10)).toBe(false);
    expect(state.stats).toEqual({ delivered: 0, pruned: 0, expired: 0, failed: {} });
  });
});

describe('a recording round', () => {
  it('sends the script calls it starts to Redis in one write, and each is recorded', async () => {
    await redis.ping(); // connected: `together` corks only a ready connection
    const socket = (redis as unknown as { stream: import('node:net').Socket }).stream;
    const recorded: Promise<number>[] = [];
    let heldBack = 0;
    ledger.together(() => {
      for (let chunk = 0; chunk < 5; chunk += 1) recorded.push(ledger.record(2, chunk, 'apns', [[chunk + 100, { kind: 'delivered' }]], 60));
      // Still in the socket's buffer: nothing went to the kernel yet (uncorked, each would have).
      heldBack = socket.writableLength;
    });
    expect(heldBack).toBeGreaterThan(0);
    expect(await Promise.all(recorded)).toEqual([1, 1, 1, 1, 1]);
    for (let chunk = 0; chunk < 5; chunk += 1) expect((await ledger.chunkState(2, chunk)).holds(chunk + 100)).toBe(true);
  });
});
