import type { ParsedJobData, Queues } from '@pushcast/queues';
import { jobIds } from '@pushcast/queues';
import {
  advanceNotification,
  finishPlanning,
  findNotification,
  lastChunkIndex,
  nextAudienceIds,
  pendingChunks,
  recordChunks,
  type Chunk,
  type Db,
} from '@pushcast/store';
import type { Logger } from 'pino';
import { notificationAudience } from './audience.ts';

export interface PlanOptions {
  /** Recipients per chunk job. */
  readonly chunkSize: number;
  /** Chunks planned per PostgreSQL round trip. */
  readonly chunksPerPage: number;
}

export const DEFAULT_PLAN_OPTIONS: PlanOptions = { chunkSize: 500, chunksPerPage: 20 };

const chunkJob = (c: Chunk) => ({
  data: { notificationId: c.notificationId, chunkIndex: c.index, firstId: c.firstId, lastId: c.lastId },
  opts: { jobId: jobIds.webChunk(c.notificationId, c.index) },
});

/**
 * Cuts a notification's audience into chunks of key ranges, walking it by keyset pagination, and
 * enqueues one job per chunk as it goes (sending starts before planning ends). Safe to re-run:
 * chunks are recorded with the cursor in one transaction, and job ids are fixed.
 */
export function makePlanNotificationProcessor(deps: { db: Db; queues: Queues; logger: Logger; options?: PlanOptions }) {
  const { chunkSize, chunksPerPage } = deps.options ?? DEFAULT_PLAN_OPTIONS;
  return async ({ notificationId }: ParsedJobData<'plan-notification'>): Promise<void> => {
    const n = await findNotification(deps.db, notificationId);
    if (!n || n.status === 'cancelled' || n.status === 'sent') return;
    await advanceNotification(deps.db, n.id, 'planning');
    const log = deps.logger.child({ notificationId });

    // A re-run (crash, Redis lost): chunks recorded before may never have been enqueued.
    await deps.queues.enqueueBulk('send-web-chunk', (await pendingChunks(deps.db, n.id)).map(chunkJob));

    const filter = notificationAudience(n);
    let cursor = n.plannedThroughId ?? 0;
    let index = (await lastChunkIndex(deps.db, n.id)) + 1;
    for (;;) {
      const ids = await nextAudienceIds(deps.db, filter, cursor, chunkSize * chunksPerPage);
      if (ids.length === 0) break;
      const chunks: Chunk[] = [];
      for (let i = 0; i < ids.length; i += chunkSize) {
        const slice = ids.slice(i, i + chunkSize);
        chunks.push({ notificationId: n.id, index: index++, platform: 'web', firstId: slice[0]!, lastId: slice[slice.length - 1]!, size: slice.length });
      }
      await recordChunks(deps.db, n.id, chunks);
      await deps.queues.enqueueBulk('send-web-chunk', chunks.map(chunkJob));
      cursor = ids[ids.length - 1]!;
      const current = await findNotification(deps.db, n.id);
      if (!current || current.status === 'cancelled') {
        log.info('cancelled while planning');
        return;
      }
    }
    await finishPlanning(deps.db, n.id);
    log.info({ chunks: index }, 'notification planned');
  };
}
