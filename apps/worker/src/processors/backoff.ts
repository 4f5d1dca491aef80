const BASE_MS = 1_000;
const CAP_MS = 5 * 60_000;

/**
 * Exponential backoff with jitter for the n-th round of retries (n ≥ 1): 1 s, 2 s, 4 s, … up to
 * 5 min, each drawn from its upper half so that thousands of chunks throttled together do not come
 * back together.
 */
export function retryDelayMs(round: number, random: () => number = Math.random): number {
  const ceiling = Math.min(CAP_MS, BASE_MS * 2 ** Math.max(0, round - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
