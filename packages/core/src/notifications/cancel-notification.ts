import { PushcastError, type Notification } from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import { cancelNotification as markCancelled } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/**
 * Cancels a notification not yet sent: its pending chunks stop at their next slice, its plan job
 * (a `send_at` waiting as a delayed job) is removed, and what it held of a `reject` quota goes back.
 */
export async function cancelNotification(deps: Pick<CoreDeps, 'db' | 'queues' | 'quota' | 'logger'>, n: Notification): Promise<void> {
  if (n.status === 'sent') {
    throw new PushcastError('conflict', `notification ${n.id} is already sent`, { rule: 'already_sent' });
  }
  await markCancelled(deps.db, n.id);
  // Redis may be away: the plan job then finds the notification cancelled and does nothing.
  await deps.queues.remove('plan', jobIds.planNotification(n.id)).catch(() => false);
  await deps.quota.releaseHold(n.projectId, n.id).catch((err: unknown) => deps.logger.warn({ err, notificationId: n.id }, 'quota hold not released; it ends with its day'));
  deps.logger.info({ notificationId: n.id }, 'notification cancelled');
}
