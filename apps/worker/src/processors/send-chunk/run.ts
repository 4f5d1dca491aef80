import { CREDENTIALS_REJECTED, effectiveQuota, expiresAt, isExpired, type Platform } from '@pushcast/domain';
import type { Channel, Recipient } from '../../channels/channel.ts';
import { notificationAudience } from '../audience.ts';
import { cancellation } from './cancellation.ts';
import type { StepDeps } from './deps.ts';
import { completeRun, nextRound, retryStep } from './finish.ts';
import { quotaDefer } from './quota-defer.ts';
import { RunRecording } from './recording.ts';
import { sendSlices } from './slices.ts';
import { FINISHED, type ChunkRun, type ChunkStep } from './step.ts';

/** What a chunk job says: its notification and chunk, and the retry rounds so far. */
export interface ChunkJob {
  readonly notificationId: number;
  readonly chunkIndex: number;
  readonly round: number;
  readonly jobId: string | undefined;
}

/**
 * One run of one chunk, step by step: open it (or find it done, cancelled, gone), wait for the
 * quota before loading anyone, load the recipients without an outcome yet, send them, decide what
 * becomes of those to retry, and complete the chunk. Returns how the run ends, for the processor
 * to tell BullMQ.
 */
export async function runChunk<R extends Recipient>(channel: Channel<R>, deps: StepDeps, job: ChunkJob): Promise<ChunkStep> {
  const opened = await openRun(deps, channel.platform, job);
  if ('kind' in opened) return opened;
  const run = opened;
  const blocked = await quotaGate(deps, run);
  if (blocked) return blocked;
  // The first chunks to get here mark the notification as sending (and emit notification.sending, once).
  if (run.notification.sendingAt === null) await deps.store.markNotificationSending(run.notification.id);
  const done = await deps.ledger.finalIds(run.notification.id, run.chunk.index);
  const recipients = await channel.load(deps.db, notificationAudience(run.notification), run.chunk);
  const todo = recipients.filter((r) => !done.has(r.id));
  const recording = new RunRecording(deps, run);
  const early = await sendTodo(channel, deps, run, todo, recording);
  if (early) return early;
  return completeRun(deps, run, recipients.length, recording);
}

/** The notification, chunk and project of a job; or the end of the run when there is nothing to send. */
export async function openRun(deps: StepDeps, platform: Platform, job: ChunkJob): Promise<ChunkRun | ChunkStep> {
  const { notificationId, chunkIndex } = job;
  const notification = await deps.store.findNotification(notificationId);
  const chunk = notification ? await deps.store.findChunk(notificationId, chunkIndex) : null;
  if (!notification || !chunk || chunk.status === 'done') return FINISHED;
  if (cancellation.atStart(notification.status, chunk.status)) return cancellation.stop(deps, notificationId, chunkIndex);
  const project = await deps.store.findProject(notification.projectId);
  if (!project) return FINISHED;
  return {
    notification,
    chunk,
    project,
    platform,
    limits: effectiveQuota(project.quota, deps.defaultQuota),
    expiry: expiresAt(notification),
    round: job.round,
    log: deps.logger.child({ notificationId, chunkIndex, platform, jobId: job.jobId }),
  };
}

/**
 * Still blocked by a full quota window: back to wait before loading a thousand recipients and
 * opening credentials for nothing (every QUOTA_RECHECK_MS, for every deferred chunk).
 */
async function quotaGate(deps: StepDeps, run: ChunkRun): Promise<ChunkStep | undefined> {
  if (isExpired(run.notification, deps.now())) return undefined;
  const blockedUntil = await deps.quota.blockedUntil(run.notification.projectId, run.limits, deps.now());
  if (blockedUntil === null) return undefined;
  return quotaDefer(deps, run, blockedUntil);
}

/**
 * Gives everyone in `todo` an outcome: expired when the TTL is over, failed with the reason when
 * the channel cannot send at all (no credentials, …), else what their providers answer. Returns a
 * step when the run ends before every outcome is final (deferred, cancelled, a retry round).
 */
async function sendTodo<R extends Recipient>(
  channel: Channel<R>,
  deps: StepDeps,
  run: ChunkRun,
  todo: readonly R[],
  recording: RunRecording,
): Promise<ChunkStep | undefined> {
  if (todo.length === 0) return undefined;
  const ids = todo.map((r) => r.id);
  if (isExpired(run.notification, deps.now())) {
    // Out of time while the project's quota held the chunk: quota_expired in the delivery records.
    const heldByQuota = (await deps.quota.blockedUntil(run.notification.projectId, run.limits, deps.now())) !== null;
    recording.recordAll(ids, { kind: 'expired', quota: heldByQuota });
    return undefined;
  }
  const prepared = await channel.prepare(run.notification, run.project, deps.now());
  if (!prepared.ok && prepared.error === CREDENTIALS_REJECTED) {
    // The provider refused these credentials: wait for new ones (or the TTL) instead of failing everyone.
    return { kind: 'defer', delayMs: deps.quotaRecheckMs, why: 'credentials' };
  }
  if (!prepared.ok) {
    run.log.warn({ reason: prepared.error, recipients: todo.length }, 'chunk not sent');
    recording.recordAll(ids, { kind: 'failed', reason: prepared.error });
    return undefined;
  }
  const sent = await sendSlices(deps, run, channel.sliceSize, prepared.value, todo, recording);
  if (sent.kind !== 'sent') return sent;
  if (sent.retry.ids.length === 0) return undefined;
  const next = nextRound(run, sent.retry, deps.now());
  if (next.kind === 'retry') {
    // Everything final is in the ledger already (each slice was flushed).
    return retryStep(deps, run, sent.retry, next.round, next.at);
  }
  recording.recordAll(sent.retry.ids, next.outcome);
  return undefined;
}
