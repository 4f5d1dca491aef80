import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Permits } from './permits.ts';

describe('Permits', () => {
  it('keeps at most its permits in flight and starts the next request of a batch when one is released', () => {
    const permits = new Permits(2);
    const started: number[] = [];
    permits.enqueue(5, (i) => started.push(i));
    expect(started).toEqual([0, 1]);
    permits.release();
    expect(started).toEqual([0, 1, 2]);
    permits.release();
    permits.release();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(permits.tryAcquire()).toBe(false);
    permits.release();
    expect(permits.tryAcquire()).toBe(true);
  });

  it('serves batches and waiters in the order they came, each in the release that frees its permit', () => {
    const permits = new Permits(1);
    expect(permits.tryAcquire()).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
    const started: string[] = [];
    permits.enqueue(2, (i) => started.push(`a${i}`));
    permits.wait((ok) => started.push(`b:${ok}`));
    permits.enqueue(2, (i) => started.push(`c${i}`));
    permits.wait((ok) => started.push(`d:${ok}`));
    expect(started).toEqual([]);
    permits.release();
    expect(started).toEqual(['a0']);
    for (let n = 0; n < 5; n += 1) permits.release();
    expect(started).toEqual(['a0', 'a1', 'b:true', 'c0', 'c1', 'd:true']);
    permits.release();
    expect(permits.tryAcquire()).toBe(true);
  });

  it('a waiter whose signal aborts is told so at once and takes no permit', () => {
    const permits = new Permits(1);
    permits.tryAcquire();
    const controller = new AbortController();
    const granted: string[] = [];
    permits.wait((ok) => granted.push(`a:${ok}`), controller.signal);
    permits.wait((ok) => granted.push(`b:${ok}`));
    controller.abort();
    expect(granted).toEqual(['a:false']);
    permits.release();
    expect(granted).toEqual(['a:false', 'b:true']);
  });

  it('a granted waiter stops listening to its signal', () => {
    const permits = new Permits(1);
    permits.tryAcquire();
    const controller = new AbortController();
    const granted: boolean[] = [];
    permits.wait((ok) => granted.push(ok), controller.signal);
    permits.release();
    controller.abort();
    expect(granted).toEqual([true]);
  });

  it('goes on without recursing when requests of a batch release their permit inside their own start', () => {
    const permits = new Permits(1);
    const count = 100_000;
    let started = 0;
    let depth = 0;
    let deepest = 0;
    permits.enqueue(count, () => {
      started += 1;
      depth += 1;
      deepest = Math.max(deepest, depth);
      permits.release();
      depth -= 1;
    });
    expect(started).toBe(count);
    expect(deepest).toBe(1);
    // Every permit came back: a new batch starts at once.
    const later: number[] = [];
    permits.enqueue(1, (i) => later.push(i));
    expect(later).toEqual([0]);
  });

  it('hands on the permits of waiters that give them back at once, without recursing', () => {
    const permits = new Permits(1);
    permits.tryAcquire();
    let granted = 0;
    let depth = 0;
    let deepest = 0;
    for (let n = 0; n < 50_000; n += 1) {
      permits.wait(() => {
        granted += 1;
        depth += 1;
        deepest = Math.max(deepest, depth);
        permits.release();
        depth -= 1;
      });
    }
    permits.release();
    expect(granted).toBe(50_000);
    expect(deepest).toBe(1);
    expect(permits.tryAcquire()).toBe(true);
    expect(permits.tryAcquire()).toBe(false);
  });

  it('lets go of a batch once all its requests have started, while later batches still wait', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const permits = new Permits(1);
    let slice: { readonly tokens: string[] } | undefined = { tokens: Array.from({ length: 500 }, (_, i) => `token-${i}`) };
    const gone = new WeakRef(slice);
    permits.tryAcquire();
    const started: string[] = [];
    ((s) => permits.enqueue(1, (i) => started.push(s.tokens[i]!)))(slice);
    permits.enqueue(3, (i) => started.push(`later-${i}`));
    slice = undefined;
    permits.release();
    expect(started).toEqual(['token-0']);
    // The queue still holds the later batch: the first must not be kept with it.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(gone.deref()).toBeUndefined();
  });

  it('refuses a permit count that is not a positive integer', () => {
    expect(() => new Permits(0)).toThrow(RangeError);
    expect(() => new Permits(1.5)).toThrow(RangeError);
  });
});
