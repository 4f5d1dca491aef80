import { deliveryRecordDay } from '@pushcast/domain';
import type { LedgerOutcome, LedgerEntry, OutcomeRecorder } from '@pushcast/redis-state';
import type { StepDeps } from './deps.ts';
import { deliveryRecordsOf } from './records.ts';
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
    const { notification: n, chunk, platform, project } = run;
    const batch = { projectId: n.projectId, notificationId: n.id, day: deliveryRecordDay(n), platform };
    // The delivery records of a round first (one INSERT), then the ledger: every recipient the
    // ledger calls done has its record, and a crash in between only writes the records again
    // (ON CONFLICT DO NOTHING). A round without anything to record costs nothing more.
    this.#recorder = deps.outcomes.recorder(async (entries) => {
      // A notification someone waits for records every delivery, whatever its project says.
      const records = deliveryRecordsOf(entries, n.recordDeliveries ?? project.recordDeliveries);
      if (records.length > 0) await deps.store.insertDeliveryRecords(batch, records);
      await deps.ledger.record(n.id, chunk.index, platform, entries, this.#ttlSeconds);
    });
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
