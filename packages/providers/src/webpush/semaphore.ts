interface Waiter {
  readonly grant: () => void;
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

  /** Resolves true with a permit, or false (without one) if `signal` aborts first. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.#available > 0) {
      this.#available -= 1;
      return Promise.resolve(true);
    }
    return new Promise<boolean>((resolve) => {
      const onAbort = (): void => {
        if (waiter.settled) return;
        waiter.settled = true;
        resolve(false);
      };
      const waiter: Waiter = {
        settled: false,
        grant: () => {
          // Long-lived signals would otherwise collect one listener per request.
          signal?.removeEventListener('abort', onAbort);
          resolve(true);
        },
      };
      this.#queue.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  release(): void {
    while (this.#head < this.#queue.length) {
      const waiter = this.#queue[this.#head]!;
      this.#head += 1;
      if (waiter.settled) continue;
      waiter.settled = true;
      this.#compact();
      waiter.grant();
      return;
    }
    this.#compact();
    this.#available += 1;
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
