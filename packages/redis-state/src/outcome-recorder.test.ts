import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OutcomeBatcher, type LedgerEntry } from './outcome-recorder.ts';

const delivered = (id: number): LedgerEntry => [id, { kind: 'delivered' }];

/** A write that resolves when the test says so, keeping what it was given. */
function fakeWrites() {
  const writes: { entries: LedgerEntry[]; done: () => void; fail: (e: unknown) => void }[] = [];
  const write = (entries: LedgerEntry[]) =>
    new Promise<void>((resolve, reject) => writes.push({ entries, done: resolve, fail: reject }));
  return { writes, write };
}

describe('OutcomeRecorder', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes a batch as soon as it is full, without waiting for the write before', () => {
    const { writes, write } = fakeWrites();
    const r = new OutcomeBatcher({ maxBatch: 3, maxDelayMs: 1000 }).recorder(write);
    for (let id = 1; id <= 7; id += 1) r.add(delivered(id));
    expect(writes.map((w) => w.entries.map(([id]) => id))).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ]);
  });

  it('writes what waits once the delay after its first outcome is over', () => {
    const { writes, write } = fakeWrites();
    const r = new OutcomeBatcher({ maxBatch: 100, maxDelayMs: 5 }).recorder(write);
    r.add(delivered(1));
    vi.advanceTimersByTime(3);
    r.add(delivered(2));
    expect(writes).toHaveLength(0);
    vi.advanceTimersByTime(2);
    expect(writes.map((w) => w.entries.map(([id]) => id))).toEqual([[1, 2]]);
    r.add(delivered(3));
    vi.advanceTimersByTime(5);
    expect(writes.map((w) => w.entries.map(([id]) => id))).toEqual([[1, 2], [3]]);
  });

  it('writes every recorder of a batcher in the same round', () => {
    const a = fakeWrites();
    const b = fakeWrites();
    const batcher = new OutcomeBatcher({ maxBatch: 100, maxDelayMs: 10 });
    const ra = batcher.recorder(a.write);
    const rb = batcher.recorder(b.write);
    ra.add(delivered(1));
    vi.advanceTimersByTime(7);
    rb.add(delivered(2));
    vi.advanceTimersByTime(3);
    expect([a.writes.length, b.writes.length]).toEqual([1, 1]);
    // A recorder that wrote on its own (full batch, flush) is not written again by the round.
    rb.add(delivered(3));
    void rb.flush();
    vi.advanceTimersByTime(10);
    expect(b.writes.map((w) => w.entries.map(([id]) => id))).toEqual([[2], [3]]);
  });

  it('starts the writes of a round inside `together` (the ledger corks its connection there)', () => {
    const a = fakeWrites();
    const b = fakeWrites();
    const inside: number[] = [];
    const batcher = new OutcomeBatcher({ maxBatch: 100, maxDelayMs: 10 }, (sendAll) => {
      const before = a.writes.length + b.writes.length;
      sendAll();
      inside.push(a.writes.length + b.writes.length - before);
    });
    batcher.recorder(a.write).add(delivered(1));
    batcher.recorder(b.write).add(delivered(2));
    vi.advanceTimersByTime(10);
    expect(inside).toEqual([2]);
  });

  it('flush writes what waits and resolves only when every write is done', async () => {
    const { writes, write } = fakeWrites();
    const r = new OutcomeBatcher({ maxBatch: 4, maxDelayMs: 1000 }).recorder(write);
    for (const id of [1, 2, 3]) r.add(delivered(id));
    let flushed = false;
    const flushing = r.flush().then(() => (flushed = true));
    expect(writes.map((w) => w.entries.length)).toEqual([3]);
    r.add(delivered(4));
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    writes[0]!.done();
    // An outcome added during the flush waits for its own batch (the delay, or the next flush).
    await vi.advanceTimersByTimeAsync(0);
    expect(writes.map((w) => w.entries.length)).toEqual([3]);
    await flushing;
    expect(flushed).toBe(true);
    const again = r.flush();
    expect(writes.map((w) => w.entries.length)).toEqual([3, 1]);
    writes[1]!.done();
    await again;
  });

  it('a failed write makes the next flush reject, once, and nothing goes unhandled', async () => {
    const { writes, write } = fakeWrites();
    const r = new OutcomeBatcher({ maxBatch: 1, maxDelayMs: 1000 }).recorder(write);
    r.add(delivered(1));
    r.add(delivered(2));
    writes[0]!.fail(new Error('redis away'));
    writes[1]!.done();
    await expect(r.flush()).rejects.toThrow('redis away');
    await expect(r.flush()).resolves.toBeUndefined();
  });

  it('flush with nothing recorded writes nothing', async () => {
    const { writes, write } = fakeWrites();
    await new OutcomeBatcher().recorder(write).flush();
    expect(writes).toHaveLength(0);
  });
});
