import { deliveryRecordDay, type NotificationStats } from '@pushcast/domain';
import type { LedgerOutcome, LedgerEntry, OutcomeRecorder } from '@pushcast/redis-state';
import type { StepDeps } from './deps.ts';
import { deliveryRecordsOf } from './records.ts';
import type { ChunkRun } from './step.ts';

/** Ledgers outlive the notification's TTL by a day, then Redis forgets them by itself. */
const LEDGER_GRACE_S = 24 * 3600;

/**
 * A run's final outcomes on their way to the ledger: each goes out as it arrives (a round of the
 * process's OutcomeBatcher every 10 ms), so a crash sends again only what was in flight and those
 * milliseconds. The run also keeps everything it recorded, to write again before counting what the
 * ledger lost if Redis restarted empty while the chunk ran: the counts still cover everyone.
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

  /** One recipient's final outcome: called once per answer, so no arrays beyond the entry. */
  record(subscriptionId: number, outcome: LedgerOutcome): void {
    const entry: LedgerEntry = [subscriptionId, outcome];
    this.#recorded.push(entry);
    this.#deps.metrics?.recorded(this.#run.platform, outcome);
    this.#recorder.add(entry);
  }

  /** The same outcome for every one of `ids`. */
  recordAll(ids: readonly number[], outcome: LedgerOutcome): void {
    for (const id of ids) this.record(id, outcome);
  }

  /** Resolves when everything recorded so far is in the ledger. */
  flush(): Promise<void> {
    return this.#recorder.flush();
  }

  /**
   * The chunk's counts once everything is in the ledger. It flushes, then reads the ledger once;
   * whatever of this run's outcomes the ledger no longer holds (Redis restarted empty while the
   * chunk ran) is written again and counted. Writing the whole run again every time instead cost
   * Redis a third of its commands and half the bytes it received (docs/scaling.md).
   */
  async completeStats(): Promise<NotificationStats> {
    await this.flush();
    const { ledger } = this.#deps;
    const { notification, chunk, platform } = this.#run;
    const state = await ledger.chunkState(notification.id, chunk.index);
    const lost = this.#recorded.filter(([id]) => !state.holds(id));
    if (lost.length === 0) return state.stats;
    this.#run.log.warn({ lost: lost.length }, 'the ledger lost outcomes of this run: written again');
    await ledger.record(notification.id, chunk.index, platform, lost, this.#ttlSeconds);
    return ledger.chunkStats(notification.id, chunk.index);
  }
}
