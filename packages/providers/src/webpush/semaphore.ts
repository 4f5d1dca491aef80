interface Waiter {
  readonly granted: (ok: boolean) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  settled: boolean;
}

/**
 * Counts permits for requests in flight. FIFO, so that a large batch cannot starve a smaller one
 * that queued earlier; a waiter whose signal aborts leaves the queue without taking a permit.
 */
export class Semaphore {
  #available: number;
  #queue: Waiter[] = [];
  #head = 0;
  #granting = false;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) throw new RangeError(`permits must be a positive integer, got ${permits}`);
    this.#available = permits;
  }

  /** A permit now if one is free (no waiter can be ahead then), else false. */
  tryAcquire(): boolean {
    if (this.#available === 0) return false;
    this.#available -= 1;
    return true;
  }

  /**
   * `granted(true)` with a permit once one is free, called by the `release()` that frees it; or
   * `granted(false)`, without one, if `signal` aborts first. Without a promise per waiter, and
   * without an abort listener when there is no signal: a broadcast queues most of its messages
   * here. Call only when {@link tryAcquire} said no, with a signal not yet aborted.
   */
  wait(granted: (ok: boolean) => void, signal?: AbortSignal): void {
    const waiter: Waiter = { granted, signal, onAbort: undefined, settled: false };
    if (signal !== undefined) {
      waiter.onAbort = () => {
        if (waiter.settled) return;
        waiter.settled = true;
        granted(false);
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
    }
    this.#queue.push(waiter);
  }

  release(): void {
    this.#available += 1;
    // A waiter that gives its permit back at once (a request that could not go out) lands here
    // again: the loop already running hands it on, instead of a recursion as deep as the queue.
    if (this.#granting) return;
    this.#granting = true;
    try {
      while (this.#available > 0 && this.#head < this.#queue.length) {
        const waiter = this.#queue[this.#head]!;
        this.#head += 1;
        if (waiter.settled) continue;
        waiter.settled = true;
        this.#available -= 1;
        // Long-lived signals would otherwise collect one listener per request.
        if (waiter.onAbort !== undefined) waiter.signal?.removeEventListener('abort', waiter.onAbort);
        waiter.granted(true);
      }
    } finally {
      this.#granting = false;
      this.#compact();
    }
  }

  #compact(): void {
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }
}
