import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.ts';

describe('Semaphore', () => {
  it('grants waiters in the order they came, each in the release that frees its permit', () => {
    const slots = new Semaphore(1);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    const granted: string[] = [];
    slots.wait((ok) => granted.push(`a:${ok}`));
    slots.wait((ok) => granted.push(`b:${ok}`));
    expect(granted).toEqual([]);
    slots.release();
    expect(granted).toEqual(['a:true']);
    slots.release();
    expect(granted).toEqual(['a:true', 'b:true']);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  it('a waiter whose signal aborts is told so at once and takes no permit', () => {
    const slots = new Semaphore(1);
    slots.tryAcquire();
    const controller = new AbortController();
    const granted: string[] = [];
    slots.wait((ok) => granted.push(`a:${ok}`), controller.signal);
    slots.wait((ok) => granted.push(`b:${ok}`));
    controller.abort();
    expect(granted).toEqual(['a:false']);
    slots.release();
    expect(granted).toEqual(['a:false', 'b:true']);
  });

  it('hands on the permits of waiters that give them back at once, without recursing', () => {
    const slots = new Semaphore(1);
    slots.tryAcquire();
    let granted = 0;
    let depth = 0;
    let deepest = 0;
    for (let n = 0; n < 50_000; n += 1) {
      slots.wait(() => {
        granted += 1;
        depth += 1;
        deepest = Math.max(deepest, depth);
        slots.release();
        depth -= 1;
      });
    }
    slots.release();
    expect(granted).toBe(50_000);
    expect(deepest).toBe(1);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
  });
});
