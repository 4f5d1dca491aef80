import { deliveryRecordDay, type DeliveryRecord, type Notification } from '@pushcast/domain';
import { findNotification, listDeliveryRecords, type NotificationCompletions } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';

/** How long a synchronous send waits at most, in seconds (CloudSignal's small sends; Pushpad's `?wait=`). */
export const MAX_WAIT_SECONDS = 10;
/** The largest audience a request may wait for: every recipient's outcome is then listed in the answer. */
export const MAX_WAITED_AUDIENCE = 100;
/**
 * Between two looks at the notification when no notice comes (LISTEN connection lost, or not up):
 * the notice is what ends a wait early, this only bounds what a lost notice costs.
 */
const POLL_MS = 250;

export interface AwaitedOutcomes {
  /** Every recipient has an outcome (the notification is sent, or cancelled). */
  readonly done: boolean;
  readonly notification: Notification;
  /** The recipients' records so far, in subscription order (every one of them when done and all were recorded). */
  readonly records: readonly DeliveryRecord[];
}

/**
 * Waits until notification `id` is over or `timeoutMs` has passed, then reads its recipients'
 * records. The send itself goes through the same queues, quotas and workers as any other: this
 * only watches (a PostgreSQL notice when its last chunk completes, polling as a fallback).
 */
export async function awaitOutcomes(
  deps: Pick<CoreDeps, 'db'> & { readonly completions: NotificationCompletions },
  id: number,
  timeoutMs: number,
): Promise<AwaitedOutcomes> {
  const deadline = Date.now() + timeoutMs;
  const watch = await deps.completions.watch(id);
  let notification: Notification | null;
  try {
    for (;;) {
      notification = await findNotification(deps.db, id);
      if (!notification) throw new Error(`notification ${id} vanished while awaited`);
      if (notification.status === 'sent' || notification.status === 'cancelled') break;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await watch.next(Math.min(left, POLL_MS));
    }
  } finally {
    watch.close();
  }
  const done = notification.status === 'sent' || notification.status === 'cancelled';
  const { records } = await listDeliveryRecords(deps.db, {
    notificationId: id,
    day: deliveryRecordDay(notification),
    failuresOnly: false,
    after: null,
    limit: MAX_WAITED_AUDIENCE * 10,
  });
  return { done, notification, records };
}
