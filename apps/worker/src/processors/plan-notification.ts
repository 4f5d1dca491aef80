import type { Platform } from '@pushcast/domain';
import { chunkJobNames, jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import type { QuotaCounter } from '@pushcast/redis-state';
import {
  advanceNotification,
  finishPlanning,
  findNotification,
  lastChunkIndex,
  nextAudienceIds,
  pendingChunks,
  plannedThrough,
  recordChunks,
  type Chunk,
  type Db,
} from '@pushcast/store';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { notificationAudience } from './audience.ts';

export const PLATFORMS: readonly Platform[] = ['web', 'apns', 'fcm'];

export interface PlanOptions {
  /** The most recipients per chunk job, per platform: a number applies to all. */
  readonly chunkSize: number | Readonly<Record<Platform, number>>;
  /**
   * A page of recipients too small to fill `chunks` chunks of `chunkSize` is cut into up to
   * `chunks` smaller ones, none under `minSize` (see chunkCount). Without it, chunks are full.
   */
  readonly spread?: { readonly chunks: number; readonly minSize: number };
  /** Chunks planned per PostgreSQL round trip (at their largest size). */
  readonly chunksPerPage: number;
}

/**
 * Web Push chunks of 500 (a slice of 100 is sent between cancel checks). APNs and FCM chunks of up
 * to 4,000 (slices of 250 and 500): a chunk's fixed cost (its job, its PostgreSQL reads and
 * statistics, its ledger) spread over four times the devices made the worker's CPU per message
 * 0.94× (APNs) and 0.86× (FCM), its msg/s 1.07× and 1.11×, against chunks of 1,000 (medians of
 * same-run rounds, docs/benchmarks.md); a newcomer's chunks wait longer for a slot (architecture.md).
 * A broadcast too small for 8 such chunks still gets up to 8 (of at least 1,000 devices each), so
 * that its slices fill the request windows of several chunks, or of several workers, at once.
 */
export const DEFAULT_PLAN_OPTIONS: PlanOptions = {
  chunkSize: { web: 500, apns: 4000, fcm: 4000 },
  spread: { chunks: 8, minSize: 1000 },
  chunksPerPage: 20,
};

const chunkSizeOf = (o: PlanOptions, p: Platform): number => (typeof o.chunkSize === 'number' ? o.chunkSize : o.chunkSize[p]);

/**
 * Chunks for a page of `count` recipients: as few as `size` allows, or more, up to
 * `spread.chunks`, as long as each keeps at least `spread.minSize`.
 */
export function chunkCount(count: number, size: number, spread: PlanOptions['spread']): number {
  const fewest = Math.ceil(count / size);
  if (spread === undefined) return fewest;
  return Math.max(fewest, Math.min(spread.chunks, Math.floor(count / spread.minSize)));
}

/** A page's ids cut into {@link chunkCount} runs, all of one length but the last. */
export function cutPage<T>(ids: readonly T[], size: number, spread: PlanOptions['spread']): T[][] {
  if (ids.length === 0) return [];
  const step = Math.ceil(ids.length / chunkCount(ids.length, size, spread));
  const runs: T[][] = [];
  for (let i = 0; i < ids.length; i += step) runs.push(ids.slice(i, i + step));
  return runs;
}

/** BullMQ's lowest priority. */
const LOWEST_PRIORITY = 2_097_152;

/**
 * Enqueues chunks on their platform's queue, under fixed ids. A chunk's priority is its place in
 * its notification (1 for the first): a new notification's first chunks go before the thousandth
 * chunk of a broadcast already running, so a project's 10-recipient notification does not wait
 * for another project's million to finish.
 */
export async function enqueueChunks(queues: Queues, chunks: readonly Chunk[]): Promise<void> {
  for (const platform of PLATFORMS) {
    const mine = chunks.filter((c) => c.platform === platform);
    await queues.enqueueBulk(
      chunkJobNames[platform],
      mine.map((c) => ({
        data: { notificationId: c.notificationId, chunkIndex: c.index, firstId: c.firstId, lastId: c.lastId },
        opts: { jobId: jobIds.chunk(platform, c.notificationId, c.index), priority: Math.min(c.index + 1, LOWEST_PRIORITY) },
      })),
    );
  }
}

/**
 * Cuts a notification's audience into chunks of key ranges, per platform, walking each platform's
 * audience by keyset pagination, a page of each in turn (so that devices do not wait for a million
 * browsers to be planned), and enqueues the chunks as it goes (sending starts before planning
 * ends). Safe to re-run: a page's chunks are recorded in one transaction, each platform resumes
 * after its last planned id, and job ids are fixed.
 */
export function makePlanNotificationProcessor(deps: {
  db: Db;
  queues: Queues;
  quota: QuotaCounter;
  logger: Logger;
  options?: PlanOptions;
  /** Aborted when a shutting-down worker's grace period is over: planning stops and resumes elsewhere. */
  handBack?: AbortSignal;
}) {
  const options = deps.options ?? DEFAULT_PLAN_OPTIONS;
  return async ({ notificationId }: ParsedJobData<'plan-notification'>, job: Job, token: string | undefined): Promise<void> => {
    const n = await findNotification(deps.db, notificationId);
    // Only what is still to plan: a late re-run (the reconciler re-adding a job that just finished)
    // must not plan subscribers who arrived after planning ended.
    if (!n || !['queued', 'scheduled', 'planning'].includes(n.status)) return;
    await advanceNotification(deps.db, n.id, 'planning');
    const log = deps.logger.child({ notificationId });

    // A re-run (crash, Redis lost): chunks recorded before may never have been enqueued.
    await enqueueChunks(deps.queues, await pendingChunks(deps.db, n.id));

    const filter = notificationAudience(n);
    const cursors = await plannedThrough(deps.db, n.id);
    const open = new Set(PLATFORMS);
    let index = (await lastChunkIndex(deps.db, n.id)) + 1;
    while (open.size > 0) {
      const chunks: Chunk[] = [];
      for (const platform of [...open]) {
        const size = chunkSizeOf(options, platform);
        const page = size * options.chunksPerPage;
        const ids = await nextAudienceIds(deps.db, filter, platform, cursors[platform], page);
        if (ids.length < page) open.delete(platform);
        if (ids.length === 0) continue;
        for (const slice of cutPage(ids, size, options.spread)) {
          chunks.push({ notificationId: n.id, index: index++, platform, firstId: slice[0]!, lastId: slice[slice.length - 1]!, size: slice.length });
        }
        cursors[platform] = ids[ids.length - 1]!;
      }
      if (!(await recordChunks(deps.db, n.id, chunks))) {
        // Cancelled meanwhile, or another run of this plan (a stalled job taken over) recorded some
        // of them first: that run goes on, this one stops.
        log.warn('chunks not recorded (cancelled, or another planner run is ahead); this run stops');
        return;
      }
      await enqueueChunks(deps.queues, chunks);
      const current = await findNotification(deps.db, n.id);
      if (!current || current.status === 'cancelled') {
        log.info('cancelled while planning');
        return;
      }
      if (deps.handBack?.aborted && open.size > 0) {
        // Chunks and cursors are recorded: another worker resumes after them.
        await job.moveToDelayed(Date.now(), token);
        throw new DelayedError();
      }
    }
    const { notificationSent } = await finishPlanning(deps.db, n.id);
    // Nothing to send after all: what a `reject` project held for it goes back.
    if (notificationSent) await deps.quota.releaseHold(n.projectId, n.id);
    log.info({ chunks: index }, 'notification planned');
  };
}
