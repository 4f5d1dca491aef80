interface Batch {
  readonly count: number;
  readonly start: (index: number) => void;
  next: number;
}

/**
 * At most `permits` requests in flight on one HTTP/2 session, started in the order their batches
 * came (a large slice cannot starve one queued before it). A request starts in the call that freed
 * its permit, the previous request's answer: no promise, microtask or closure per request, where a
 * loop awaiting a semaphore paid all three (3 % of an APNs worker's CPU, docs/benchmarks.md).
 */
export class RequestWindow {
  #free: number;
  readonly #queue: Batch[] = [];
  #starting = false;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.#free = permits;
  }

  /**
   * Calls `start(i)` for i = 0 … count − 1, each when a permit is free, some of them before this
   * returns. Each started request must call `finished()` once, at once or later; `start` must not
   * throw (a request that cannot go out is an answer like any other).
   */
  enqueue(count: number, start: (index: number) => void): void {
    if (count <= 0) return;
    this.#queue.push({ count, start, next: 0 });
    this.#startWhatFits();
  }

  /** One request of an earlier `start` is over: its permit goes to the next request waiting. */
  finished(): void {
    this.#free += 1;
    this.#startWhatFits();
  }

  /** Requests waiting for a permit, over every batch. */
  get waiting(): number {
    let n = 0;
    for (const batch of this.#queue) n += batch.count - batch.next;
    return n;
  }

  #startWhatFits(): void {
    // A request that finishes inside its own `start` (refused at once) lands here again: the loop
    // already running takes its permit, instead of a recursion as deep as the queue.
    if (this.#starting) return;
    this.#starting = true;
    try {
      while (this.#free > 0 && this.#queue.length > 0) {
        const batch = this.#queue[0]!;
        const index = batch.next;
        batch.next += 1;
        if (batch.next === batch.count) this.#queue.shift();
        this.#free -= 1;
        batch.start(index);
      }
    } finally {
      this.#starting = false;
    }
  }
}
