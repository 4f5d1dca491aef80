import { describe, expect, it } from 'vitest';
import { RequestWindow } from './request-window.ts';

describe('RequestWindow', () => {
  it('keeps at most its permits in flight and starts the next request when one finishes', () => {
    const window = new RequestWindow(2);
    const started: number[] = [];
    window.enqueue(5, (i) => started.push(i));
    expect(started).toEqual([0, 1]);
    expect(window.waiting).toBe(3);
    window.finished();
    expect(started).toEqual([0, 1, 2]);
    window.finished();
    window.finished();
    expect(started).toEqual([0, 1, 2, 3, 4]);
    expect(window.waiting).toBe(0);
  });

  it('serves batches in the order they came', () => {
    const window = new RequestWindow(1);
    const started: string[] = [];
    window.enqueue(2, (i) => started.push(`a${i}`));
    window.enqueue(1, (i) => started.push(`b${i}`));
    window.enqueue(2, (i) => started.push(`c${i}`));
    for (let n = 0; n < 4; n += 1) window.finished();
    expect(started).toEqual(['a0', 'a1', 'b0', 'c0', 'c1']);
  });

  it('goes on without recursing when requests finish inside their own start', () => {
    const window = new RequestWindow(1);
    const count = 100_000;
    let started = 0;
    let depth = 0;
    let deepest = 0;
    window.enqueue(count, () => {
      started += 1;
      depth += 1;
      deepest = Math.max(deepest, depth);
      window.finished();
      depth -= 1;
    });
    expect(started).toBe(count);
    expect(deepest).toBe(1);
    // Every permit came back: a new batch starts at once.
    const later: number[] = [];
    window.enqueue(1, (i) => later.push(i));
    expect(later).toEqual([0]);
  });

  it('refuses a permit count that is not a positive integer', () => {
    expect(() => new RequestWindow(0)).toThrow(RangeError);
    expect(() => new RequestWindow(1.5)).toThrow(RangeError);
  });
});
