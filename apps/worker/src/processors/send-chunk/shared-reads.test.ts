import { describe, expect, it } from 'vitest';
import { sharedReads } from './shared-reads.ts';

describe('reads shared by the chunk runs of a process', () => {
  const counted = () => {
    let clock = 0;
    const reads: number[] = [];
    let fail = false;
    const read = sharedReads(
      async (id: number) => {
        reads.push(id);
        if (fail) throw new Error('connection lost');
        return `status of ${id} #${reads.length}`;
      },
      100,
      () => clock,
    );
    return { read, reads, tick: (ms: number) => (clock += ms), failNext: (on: boolean) => (fail = on) };
  };

  it('asks once for concurrent and recent calls of the same key, and again once the answer is stale', async () => {
    const c = counted();
    expect(await Promise.all([c.read(1), c.read(1), c.read(2)])).toEqual(['status of 1 #1', 'status of 1 #1', 'status of 2 #2']);
    c.tick(99);
    expect(await c.read(1)).toBe('status of 1 #1');
    c.tick(1);
    expect(await c.read(1)).toBe('status of 1 #3');
    expect(c.reads).toEqual([1, 2, 1]);
  });

  it('does not keep a read that failed: the next call reads again', async () => {
    const c = counted();
    c.failNext(true);
    await expect(c.read(7)).rejects.toThrow('connection lost');
    c.failNext(false);
    expect(await c.read(7)).toBe('status of 7 #2');
    expect(c.reads).toEqual([7, 7]);
  });
});
