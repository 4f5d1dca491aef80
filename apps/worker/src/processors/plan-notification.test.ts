import { describe, expect, it } from 'vitest';
import { chunkCount, cutPage, DEFAULT_PLAN_OPTIONS } from './plan-notification.ts';

const spread = DEFAULT_PLAN_OPTIONS.spread;
/** The chunk sizes the planner cuts a page of `count` ids into. */
const sizes = (count: number, size: number): number[] =>
  cutPage(Array.from({ length: count }, (_, i) => i + 1), size, spread).map((run) => run.length);

describe('cutPage: how the planner cuts a page of recipients into chunks', () => {
  it('cuts a large page of devices into chunks of 4,000', () => {
    expect(sizes(80_000, 4000)).toEqual(Array(20).fill(4000));
    expect(sizes(40_001, 4000)).toHaveLength(11);
  });

  it('spreads a small broadcast over up to 8 chunks of at least 1,000, so that several run at once', () => {
    expect(sizes(6_000, 4000)).toEqual(Array(6).fill(1000));
    expect(sizes(20_000, 4000)).toEqual(Array(8).fill(2500));
    expect(sizes(31_999, 4000)).toEqual([...Array(7).fill(4000), 3999]);
    expect(sizes(1_999, 4000)).toEqual([1999]);
    expect(sizes(1, 4000)).toEqual([1]);
  });

  it('never makes a chunk larger than the size, spread or not', () => {
    for (const count of [1, 999, 1000, 7999, 8000, 8001, 32_000, 32_001, 79_999]) {
      for (const size of [500, 4000]) expect(Math.max(...sizes(count, size))).toBeLessThanOrEqual(size);
    }
  });

  it('leaves Web Push chunks of 500 as they were, and cuts full chunks without a spread', () => {
    expect(sizes(5_000, 500)).toEqual(Array(10).fill(500));
    expect(chunkCount(6_000, 4000, undefined)).toBe(2);
    expect(cutPage([], 4000, spread)).toEqual([]);
  });
});
