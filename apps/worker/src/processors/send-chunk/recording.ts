import type { LedgerOutcome, LedgerEntry, OutcomeRecorder } from '@pushcast/queues';
import type { StepDeps } from './deps.ts';
import type { ChunkRun } from './step.ts';

/** Ledgers outlive the notification's TTL by a day, then Redis forgets them by itself. */
const LEDGER_GRACE_S = 24 * 3600;

/**
 * A run's final outcomes on their way to the ledger: each goes out as it arrives (a round of the
 * process's OutcomeBatcher every 10 ms), so a crash sends again only what was in flight and those
 * milliseconds. The run also keeps everything it recorded, to write it all again before counting:
 * if Redis lost the ledger while the chunk ran (restarted empty), the counts still cover everyone.
 */
export class RunRecording {
  readonly #deps: StepDeps;
  readonly #run: ChunkRun;
  readonly #recorder: OutcomeRecorder;
  readonly #ttlSeconds: number;
  readonly #recorded: LedgerEntry[] = [];

  constructor(deps: StepDeps, run: ChunkRun) {
    this.#deps = deps;
    this.#run = run;
    this.#ttlSeconds = Math.max(0, run.expiry - deps.now()) / 1000 + LEDGER_GRACE_S;
    this.#recorder = deps.ledger.recorder(deps.outcomes, run.notification.id, run.chunk.index, run.platform, this.#ttlSeconds);
  }

  record(...entries: LedgerEntry[]): void {
    this.#recorded.push(...entries);
    this.#deps.metrics?.recorded(this.#run.platform, entries);
    this.#recorder.add(...entries);
  }

  /** The same outcome for every one of `ids`. */
  recordAll(ids: readonly number[], outcome: LedgerOutcome): void {
    this.record(...ids.map((id) => [id, outcome] as const));
  }

  /** Resolves when everything recorded so far is in the ledger. */
  flush(): Promise<void> {
    return this.#recorder.flush();
  }

  /** Flushes, then writes the whole run again (recipients already there are skipped by the script). */
  async rewrite(): Promise<void> {
    await this.flush();
    await this.#deps.ledger.record(this.#run.notification.id, this.#run.chunk.index, this.#run.platform, this.#recorded, this.#ttlSeconds);
  }
}
