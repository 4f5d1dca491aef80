import type { QueueName } from '@pushcast/queues';
import type { WorkerOptions } from 'bullmq';

/**
 * How often a worker looks for jobs whose worker stopped renewing their lock (a crash, a frozen
 * event loop): a tenth of the lock, at least a second. BullMQ needs two looks to take a job over
 * (one marks it, the next moves it back to wait if its lock is gone by then), so a dead worker's
 * jobs are taken over within WORKER_LOCK_MS + this (33 s with the default lock) rather than the
 * lock plus up to two full intervals of BullMQ's default. One look is one short Lua script per
 * queue, and only one worker of a queue runs it per interval (BullMQ's `stalled-check` key).
 */
export const stalledIntervalMs = (lockMs: number): number => Math.max(1_000, Math.round(lockMs / 10));

/**
 * "Never fail it for stalling": BullMQ compares the job's stall count with this number in Lua, so
 * it must be a finite number.
 */
export const NEVER_FAIL_FOR_STALLING = Number.MAX_SAFE_INTEGER;

/**
 * How many times a job of each queue may be taken over from a dead worker before BullMQ fails it
 * with "job stalled more than allowable limit" (its default is 1).
 */
const maxStalledCount: Record<QueueName, number> = {
  // A chunk's ledger makes a resend safe and every run resumes after what is recorded, so a
  // chunk whose workers died twice goes on at once instead of failing and waiting for the
  // reconciler (which would add it again anyway: failing buys nothing).
  web: NEVER_FAIL_FOR_STALLING,
  apns: NEVER_FAIL_FOR_STALLING,
  fcm: NEVER_FAIL_FOR_STALLING,
  // Planning resumes after each platform's cursor in PostgreSQL, and sending waits for it.
  plan: NEVER_FAIL_FOR_STALLING,
  // One attempt of one webhook delivery: receivers tell repeats apart by webhook-id, and a failed
  // job would wait for its claim in PostgreSQL to run out (2 minutes) before being handed out again.
  webhooks: NEVER_FAIL_FOR_STALLING,
  // Periodic jobs (which BullMQ never fails for stalling anyway), project purges and imports, which
  // the minutely sweep or the reconciler add again and which resume where they stopped: BullMQ's
  // default, so that one that kills its worker is tried again at that pace, not in a tight loop.
  maintenance: 1,
};

/** The lock and stall settings of a queue's BullMQ Worker. */
export function lockOptions(queue: QueueName, lockMs: number): Required<Pick<WorkerOptions, 'lockDuration' | 'stalledInterval' | 'maxStalledCount'>> {
  return { lockDuration: lockMs, stalledInterval: stalledIntervalMs(lockMs), maxStalledCount: maxStalledCount[queue] };
}
