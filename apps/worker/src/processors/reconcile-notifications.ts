import { jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import type { QuotaCounter } from '@pushcast/redis-state';
import { completeNotificationIfDone, listUnfinishedNotifications, pendingChunks, type Db } from '@pushcast/store';
import type { Logger } from 'pino';
import { reconcileImports } from './import-subscriptions.ts';
import { enqueueChunks } from './plan-notification.ts';

const PAGE = 500;

/**
 * PostgreSQL is the truth. Every unfinished notification gets its jobs added again with their
 * fixed ids: a job that still exists is left alone, one that Redis lost (flushed, restarted empty)
 * comes back. Scheduled ones come back delayed until their `send_at`.
 */
export function makeReconcileNotificationsProcessor(deps: { db: Db; queues: Queues; quota: QuotaCounter; logger: Logger }) {
  return async (_data: ParsedJobData<'reconcile-notifications'>): Promise<void> => {
    await reconcileImports(deps);
    let after = 0;
    for (;;) {
      const batch = await listUnfinishedNotifications(deps.db, after, PAGE);
      for (const n of batch) {
        if (n.status === 'sending') {
          const pending = await pendingChunks(deps.db, n.id);
          // Nothing left to send but not marked sent (a crash between the last chunk and the mark).
          if (pending.length === 0 && (await completeNotificationIfDone(deps.db, n.id))) await deps.quota.releaseHold(n.projectId, n.id);
          await enqueueChunks(deps.queues, pending);
        } else {
          const delay = n.sendAt ? Math.max(0, n.sendAt.getTime() - Date.now()) : 0;
          await deps.queues.enqueue('plan-notification', { notificationId: n.id }, { jobId: jobIds.planNotification(n.id), delay });
        }
      }
      if (batch.length < PAGE) return;
      after = batch[batch.length - 1]!.id;
    }
  };
}
