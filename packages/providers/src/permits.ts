/**
 * A place in the queue: a batch of requests (`start`), or one waiter (`granted`) that may abort.
 * One shape for both, so that the grant loop reads its fields from a single object shape.
 */
interface Entry {
  readonly count: number;
  next: number;
  readonly start: ((index: number) => void) | undefined;
  readonly granted: ((ok: boolean) => void) | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * Counts permits for requests in flight (per HTTP/2 session for APNs and FCM, per push service
 * origin for Web Push). FIFO, so that a large batch cannot starve a smaller one that queued earlier.
 *
 * A request of a batch starts in the call that freed its permit, the previous request's answer: no
 * promise, microtask or closure per request, where a loop awaiting a semaphore paid all three (3 %
 * of an APNs worker's CPU, docs/benchmarks.md); a batch is one entry however many requests it
 * holds. A waiter (Web Push, one per message that found no free permit) costs one entry and its
 * callback, and no promise either.
 */
export class Permits {
  #available: number;
  /** Entries before `#head` are done and cleared: a done batch must not keep its slice alive. */
  #queue: (Entry | undefined)[] = [];
  #head = 0;
  #granting = false;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.#available = permits;
  }

  /** A permit now if one is free (no entry can be waiting then), else false. */
  tryAcquire(): boolean {
    if (this.#available === 0) return false;
    this.#available -= 1;
    return true;
  }

  /**
   * Calls `start(i)` for i = 0 … count − 1, each with a permit, some of them before this returns.
   * Each started request must `release()` once, at once or later; `start` must not throw (a
   * request that cannot go out is an answer like any other).
   */
  enqueue(count: number, start: (index: number) => void): void {
    if (count <= 0) return;
    this.#queue.push({ count, next: 0, start, granted: undefined, signal: undefined, onAbort: undefined, settled: false });
    this.#grant();
  }

  /**
   * `granted(true)` with a permit once one is free, called by the `release()` that frees it; or
   * `granted(false)`, without one, if `signal` aborts first. Without an abort listener when there
   * is no signal: a broadcast queues most of its messages here. Call only when {@link tryAcquire}
   * said no, with a signal not yet aborted.
   */
  wait(granted: (ok: boolean) => void, signal?: AbortSignal): void {
    const entry: Entry = { count: 1, next: 0, start: undefined, granted, signal, onAbort: undefined, settled: false };
    if (signal !== undefined) {
      entry.onAbort = () => {
        if (entry.settled) return;
        entry.settled = true;
        granted(false);
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.#queue.push(entry);
  }

  release(): void {
    this.#available += 1;
    this.#grant();
  }

  #grant(): void {
    // A request that gives its permit back inside its own start (refused at once) lands here
    // again: the loop already running hands the permit on, instead of a recursion as deep as the queue.
    if (this.#granting) return;
    this.#granting = true;
    try {
      while (this.#available > 0 && this.#head < this.#queue.length) {
        const entry = this.#queue[this.#head]!;
        if (entry.settled) {
          this.#queue[this.#head] = undefined;
          this.#head += 1;
          continue;
        }
        const index = entry.next;
        entry.next += 1;
        if (entry.next === entry.count) {
          entry.settled = true;
          this.#queue[this.#head] = undefined;
          this.#head += 1;
        }
        this.#available -= 1;
        if (entry.start !== undefined) entry.start(index);
        else {
          // Long-lived signals would otherwise collect one listener per request.
          if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
          entry.granted!(true);
        }
      }
    } finally {
      this.#granting = false;
      this.#compact();
    }
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      // Emptied in place: most releases find the queue empty, and a new array each would be garbage.
      if (this.#head > 0) this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
