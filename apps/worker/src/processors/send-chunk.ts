import { setTimeout as sleep } from 'node:timers/promises';
import { deliverNowOrDrop, effectiveQuota, expiresAt, isExpired, type NotificationStats, type QuotaLimits } from '@pushcast/domain';
import { OutcomeBatcher, type Ledger, type LedgerOutcome, type ParsedJobData, type QuotaCounter, type ThrottleGate } from '@pushcast/queues';
import {
  completeChunk,
  deleteSubscriptionsByIds,
  findChunk,
  findNotification,
  findProject,
  markNotificationSending,
  notificationStatus,
  saveCancelledChunkStats,
  type Db,
} from '@pushcast/store';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import type { Channel, OutcomeSink, Recipient } from '../channels/channel.ts';
import { notificationAudience } from './audience.ts';
import { retryDelayMs } from './backoff.ts';
import type { ChunkMetrics } from './chunk-metrics.ts';

/** Ledgers outlive the notification's TTL by a day, then Redis forgets them by itself. */
const LEDGER_GRACE_S = 24 * 3600;
export const MAX_RETRY_ROUNDS = 50;
/** A throttled chunk waits in place up to this long; longer waits go back to the delayed set. */
const MAX_INLINE_WAIT_MS = 5_000;

export interface SendChunkDeps {
  readonly db: Db;
  readonly ledger: Ledger;
  readonly quota: QuotaCounter;
  readonly throttle: ThrottleGate;
  /** Quotas of projects that set none. */
  readonly defaultQuota: QuotaLimits;
  /** A chunk deferred by a quota looks again after this long at most (a raised quota is used soon). */
  readonly quotaRecheckMs: number;
  readonly logger: Logger;
  /** Counts outcomes, prunes, retries and deferrals (optional: tests of the pipeline alone go without). */
  readonly metrics?: ChunkMetrics;
  /** Aborted when a shutting-down worker's grace period is over: running chunks hand back what they have not sent. */
  readonly handBack?: AbortSignal;
  /** The clock of quota windows, throttling and TTLs (tests move it); BullMQ's delays stay real. */
  readonly now?: () => number;
  /** Batches outcomes on their way to the ledger, one for every chunk of the process (its own when absent). */
  readonly outcomes?: OutcomeBatcher;
}

const outcomeCount = (s: NotificationStats): number =>
  s.delivered + s.pruned + s.expired + Object.values(s.failed).reduce((a, b) => a + b, 0);

type Entry = readonly [subscriptionId: number, outcome: LedgerOutcome];

/**
 * Sends one chunk of one platform. Final outcomes go to the ledger as they come; recipients to
 * retry (429, 5xx, timeouts) are sent again by the same job, moved to the delayed set without
 * consuming an attempt, and the ledger makes that run (or any re-run after a crash) skip everyone
 * already done.
 */
export function makeSendChunkProcessor<R extends Recipient>(channel: Channel<R>, deps: SendChunkDeps) {
  const now = deps.now ?? Date.now;
  const outcomes = deps.outcomes ?? new OutcomeBatcher();
  const { platform } = channel;
  return async (data: ParsedJobData<'send-web-chunk'>, job: Job, token: string | undefined): Promise<void> => {
    const { notificationId, chunkIndex } = data;
    const log = deps.logger.child({ notificationId, chunkIndex, platform, jobId: job.id });
    const n = await findNotification(deps.db, notificationId);
    const chunk = n ? await findChunk(deps.db, notificationId, chunkIndex) : null;
    if (!n || !chunk || chunk.status === 'done') return;
    if (chunk.status === 'cancelled') {
      // Cancelled while it waited (retry, quota, throttle, shutdown) or while another run sent:
      // what the ledger holds was sent, and counts.
      await saveCancelledChunkStats(deps.db, notificationId, chunkIndex, await deps.ledger.chunkStats(notificationId, chunkIndex));
      return;
    }
    if (n.status === 'cancelled') return;
    const project = await findProject(deps.db, n.projectId);
    if (!project) return;

    /** Back to the delayed set for `delayMs` (real time), without consuming an attempt; the ledger says where to resume. */
    const defer = async (delayMs: number, why: string): Promise<never> => {
      log.debug({ delayMs, why }, 'chunk deferred');
      deps.metrics?.deferred(platform, why);
      await job.moveToDelayed(Date.now() + Math.max(0, delayMs), token);
      throw new DelayedError();
    };
    const limits = effectiveQuota(project.quota, deps.defaultQuota);
    const expiry = expiresAt(n);
    if (!isExpired(n, now())) {
      // Still blocked by a full window: back to wait before loading a thousand recipients and
      // opening credentials for nothing (every QUOTA_RECHECK_MS, for every deferred chunk).
      const blockedUntil = await deps.quota.blockedUntil(n.projectId, limits, now());
      if (blockedUntil !== null) await defer(Math.min(blockedUntil - now(), deps.quotaRecheckMs), 'quota');
    }
    // The first chunks to get here mark the notification as sending (and emit notification.sending, once).
    if (n.sendingAt === null) await markNotificationSending(deps.db, notificationId);
    const ledgerTtl = Math.max(0, expiry - now()) / 1000 + LEDGER_GRACE_S;
    const done = await deps.ledger.finalIds(notificationId, chunkIndex);
    const recipients = await channel.load(deps.db, notificationAudience(n), chunk);
    const todo = recipients.filter((r) => !done.has(r.id));

    // Everything this run recorded, so that it can be written again before counting: if Redis lost
    // the ledger while the chunk ran (restarted empty), the counts still cover every recipient.
    const recorded: Entry[] = [];
    // Outcomes go to the ledger as they arrive, 10 ms' worth at a time: a crash sends again only
    // what was in flight (and those milliseconds), never a whole slice.
    const recorder = deps.ledger.recorder(outcomes, notificationId, chunkIndex, platform, ledgerTtl);
    const record = (...entries: Entry[]) => {
      recorded.push(...entries);
      deps.metrics?.recorded(platform, entries);
      recorder.add(...entries);
    };

    const expired = isExpired(n, now());
    const prepared = todo.length > 0 && !expired ? await channel.prepare(n, project, now()) : null;
    if (todo.length > 0 && expired) {
      record(...todo.map((r) => [r.id, { kind: 'expired' }] as const));
    } else if (prepared && !prepared.ok) {
      log.warn({ reason: prepared.error, recipients: todo.length }, 'chunk not sent');
      record(...todo.map((r) => [r.id, { kind: 'failed', reason: prepared.error }] as const));
    } else if (prepared?.ok) {
      const send = prepared.value;
      const retry: number[] = [];
      const retryReasons: Record<string, number> = {};
      let notBefore = 0;
      // Slices, so that a cancel stops a running chunk within one slice. The ledger has every
      // outcome of a slice before the next one starts.
      let start = 0;
      while (start < todo.length) {
        // Shutting down: everyone sent so far is in the ledger; the rest goes back to the queue at
        // once, for another worker, which skips the recorded ones.
        if (deps.handBack?.aborted) await defer(0, 'shutdown');
        if (start > 0 && (await notificationStatus(deps.db, notificationId)) === 'cancelled') {
          await saveCancelledChunkStats(deps.db, notificationId, chunkIndex, await deps.ledger.chunkStats(notificationId, chunkIndex));
          log.info('cancelled during the chunk');
          return;
        }
        let want = Math.min(channel.sliceSize, todo.length - start);
        if (n.throttleRatePerMinute !== null) {
          const t = await deps.throttle.take(n.id, want, n.throttleRatePerMinute, now());
          if (t.granted === 0) {
            if (t.waitMs > MAX_INLINE_WAIT_MS) await defer(t.waitMs, 'throttle');
            await sleep(t.waitMs);
            continue;
          }
          want = t.granted;
        }
        const reservation = await deps.quota.reserve(n.projectId, n.id, want, limits, now());
        if (reservation.granted === 0) {
          await defer(Math.min((reservation.blockedUntil ?? now()) - now(), deps.quotaRecheckMs), 'quota');
        }
        const slice = todo.slice(start, start + reservation.granted);
        start += slice.length;
        let answered = 0;
        let delivered = 0;
        let retrying = 0;
        const gone: number[] = [];
        const onOutcome: OutcomeSink = (i, o) => {
          const id = slice[i]!.id;
          answered += 1;
          if (o.kind === 'delivered') {
            delivered += 1;
            record([id, { kind: 'delivered' }]);
          } else if (o.kind === 'gone') {
            gone.push(id);
            record([id, { kind: 'pruned' }]);
          } else if (o.kind === 'failed') record([id, { kind: 'failed', reason: o.reason }]);
          else {
            retrying += 1;
            retry.push(id);
            retryReasons[o.reason] = (retryReasons[o.reason] ?? 0) + 1;
            notBefore = Math.max(notBefore, o.notBefore);
          }
        };
        // Senders answer every recipient with an outcome; if one throws anyway, what it answered
        // still reaches the ledger, and its reservation stays counted (what it sent is unknown, and
        // a quota must never be passed).
        const thrown = await send(slice, onOutcome).then(
          () => undefined,
          (error: unknown) => ({ error }),
        );
        await recorder.flush();
        if (thrown) throw thrown.error;
        if (answered !== slice.length) throw new Error(`the ${platform} channel answered ${answered} of ${slice.length} recipients`);
        // The quota counts what providers accepted: what was pruned, failed or is to retry goes back.
        await deps.quota.release(reservation, slice.length - delivered);
        deps.metrics?.retrying(platform, retrying);
        // After the ledger: if the process dies in between, the re-run skips these recipients.
        await deleteSubscriptionsByIds(deps.db, n.projectId, gone);
        deps.metrics?.pruned(platform, gone.length);
      }

      if (retry.length > 0) {
        const round = data.round + 1;
        const at = Math.max(now() + retryDelayMs(round), notBefore);
        if (!deliverNowOrDrop(n) && at < expiry && round <= MAX_RETRY_ROUNDS) {
          // A few rounds are weather (429s, a restart); more look like a problem someone should see.
          const level = round >= 3 ? 'warn' : 'debug';
          log[level]({ retry: retry.length, reasons: retryReasons, round, at }, 'retrying part of the chunk later');
          deps.metrics?.retryRound(platform);
          await job.updateData({ ...data, round });
          // `at` is on the pipeline's clock; BullMQ's delays are on the real one.
          await job.moveToDelayed(Date.now() + (at - now()), token);
          throw new DelayedError();
        }
        const outcome: LedgerOutcome = deliverNowOrDrop(n) || at >= expiry ? { kind: 'expired' } : { kind: 'failed', reason: 'retries_exhausted' };
        record(...retry.map((id) => [id, outcome] as const));
      }
    }

    await recorder.flush();
    await deps.ledger.record(notificationId, chunkIndex, platform, recorded, ledgerTtl);
    const stats = await deps.ledger.chunkStats(notificationId, chunkIndex);
    if (outcomeCount(stats) < recipients.length) {
      // Redis lost outcomes this run did not record itself (emptied while another run of the chunk
      // had recorded them): run the chunk again rather than count too few. Those recipients may
      // receive the message twice; a count that is wrong forever is worse.
      throw new Error(`chunk ${notificationId}/${chunkIndex}: the ledger lost outcomes; the chunk runs again`);
    }
    const completed = await completeChunk(deps.db, notificationId, chunkIndex, stats);
    if (completed.notificationSent) await deps.quota.releaseHold(n.projectId, notificationId);
    if (completed.chunkDone) {
      await deps.ledger.forgetChunk(notificationId, chunkIndex);
      log.debug({ stats }, 'chunk done');
    } else if ((await findChunk(deps.db, notificationId, chunkIndex))?.status === 'cancelled') {
      // Cancelled during its last slice: it keeps the counts of what it sent.
      await saveCancelledChunkStats(deps.db, notificationId, chunkIndex, stats);
    }
  };
}
