import type { Ledger, LedgerOutcome } from './ledger.ts';

export type LedgerEntry = readonly [subscriptionId: number, outcome: LedgerOutcome];

export interface RecorderOptions {
  /** A chunk's outcomes are written as soon as this many wait… */
  readonly maxBatch: number;
  /** …or at the latest this long after the first of them arrived. */
  readonly maxDelayMs: number;
}

/**
 * Outcomes wait at most 10 ms (or 500 of one chunk) for their write: a worker killed at any moment
 * has lost the answers of at most its last 10 ms, few next to the requests it has in flight (what a
 * crash sends again is bounded by those), and it makes at most 100 rounds of ledger writes a second
 * however many chunks it runs (bench/ledger-recording.bench.ts measures the cost per message).
 */
export const DEFAULT_RECORDER_OPTIONS: RecorderOptions = { maxBatch: 500, maxDelayMs: 10 };

/**
 * Collects the outcomes of every chunk a process runs and writes them in rounds, one timer for all:
 * the writes of a round go out together (one wake-up for their answers) however many chunks wait.
 */
export class OutcomeBatcher {
  readonly options: RecorderOptions;
  readonly #due = new Set<OutcomeRecorder>();
  readonly #together: ((sendAll: () => void) => void) | undefined;
  #timer: NodeJS.Timeout | undefined;

  /**
   * `together` runs each round's sends, e.g. {@link Ledger.together}: the writes that start
   * synchronously then reach Redis as one.
   */
  constructor(options: RecorderOptions = DEFAULT_RECORDER_OPTIONS, together?: (sendAll: () => void) => void) {
    if (!(options.maxBatch >= 1) || !(options.maxDelayMs >= 0)) throw new RangeError('maxBatch must be ≥ 1 and maxDelayMs ≥ 0');
    this.options = options;
    this.#together = together;
  }

  /** A recorder for one chunk run, whose batches `write` stores (one call per batch). */
  recorder(write: (entries: LedgerEntry[]) => Promise<unknown>): OutcomeRecorder {
    return new OutcomeRecorder(write, this);
  }

  /** @internal `recorder` has outcomes waiting: they go out with the next round. */
  schedule(recorder: OutcomeRecorder): void {
    this.#due.add(recorder);
    this.#timer ??= setTimeout(() => this.#round(), this.options.maxDelayMs);
  }

  /** @internal `recorder` wrote what it had on its own. */
  unschedule(recorder: OutcomeRecorder): void {
    this.#due.delete(recorder);
  }

  #round(): void {
    this.#timer = undefined;
    const due = [...this.#due];
    this.#due.clear();
    const sendAll = (): void => {
      for (const recorder of due) recorder.send();
    };
    if (this.#together) this.#together(sendAll);
    else sendAll();
  }
}

/**
 * One chunk run's final outcomes on their way to the ledger: `add` as they arrive; they are written
 * with the batcher's next round (or at once when `maxBatch` wait), without waiting for earlier
 * writes. `flush()` writes what waits and resolves when every write so far is done, or rejects with
 * the first write that failed; a chunk flushes before anything that relies on the ledger (counting,
 * deferring, completing).
 */
export class OutcomeRecorder {
  readonly #write: (entries: LedgerEntry[]) => Promise<unknown>;
  readonly #batcher: OutcomeBatcher;
  #buffer: LedgerEntry[] = [];
  readonly #writes = new Set<Promise<void>>();
  #failure: { error: unknown } | undefined;

  constructor(write: (entries: LedgerEntry[]) => Promise<unknown>, batcher: OutcomeBatcher) {
    this.#write = write;
    this.#batcher = batcher;
  }

  /** An outcome, written or waiting to be (one per call: no rest array per answer). */
  add(entry: LedgerEntry): void {
    this.#buffer.push(entry);
    if (this.#buffer.length >= this.#batcher.options.maxBatch) this.send();
    else this.#batcher.schedule(this);
  }

  /** Writes what waits; resolves when every write so far has been done. */
  async flush(): Promise<void> {
    this.send();
    while (this.#writes.size > 0) await Promise.all(this.#writes);
    if (this.#failure) {
      const { error } = this.#failure;
      this.#failure = undefined;
      throw error;
    }
  }

  /** @internal Writes what waits now. */
  send(): void {
    this.#batcher.unschedule(this);
    if (this.#buffer.length === 0) return;
    const entries = this.#buffer;
    this.#buffer = [];
    const write: Promise<void> = this.#write(entries).then(
      () => {
        this.#writes.delete(write);
      },
      (error: unknown) => {
        this.#writes.delete(write);
        this.#failure ??= { error };
      },
    );
    this.#writes.add(write);
  }
}
