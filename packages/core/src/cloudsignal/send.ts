import { randomUUID } from 'node:crypto';
import { deliveryRecordDay, type DeliveryRecord, type Notification, type Project } from '@pushcast/domain';
import { findNotificationByExternalId, listDeliveryRecords, type NotificationCompletions } from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';
import { parseInput } from '../input/parse.ts';
import { awaitOutcomes, MAX_WAITED_AUDIENCE } from '../notifications/await-outcomes.ts';
import { checkPayloadSize } from '../notifications/content-input.ts';
import { createNotification } from '../notifications/create-notification.ts';
import { liveStats } from '../notifications/live-stats.ts';
import { cloudSignalContent, cloudSignalSendBody, targetOf } from './send-input.ts';

/** CloudSignal's request ids: `req_` and a UUID (the notification's external id). */
export const newRequestId = (): string => `req_${randomUUID().replaceAll('-', '')}`;

/** What CloudSignal answers for a send, and later for `GET /v2/push/requests/{request_id}`. */
export interface CloudSignalSendResult {
  readonly requestId: string;
  /** `completed`: every recipient has an outcome; `queued`: not yet (large, async_mode, or the wait ran out); `cancelled`. */
  readonly status: 'completed' | 'queued' | 'cancelled';
  readonly totalTargets: number;
  readonly successfulSends: number;
  readonly failedSends: number;
  /** Registrations the push service refused as gone (pruned), as strings. */
  readonly invalidRegistrations: readonly string[];
  /** The notification, for Pushcast's own API (`GET /api/v1/notifications/:id`). */
  readonly notificationId: number;
}

export type SendDeps = CoreDeps & { readonly completions: NotificationCompletions };

/**
 * `POST /v2/push/send` (and `/broadcast`, target_all set): a notification through the one core. At
 * most MAX_WAITED_AUDIENCE recipients and no async_mode: every delivery is recorded and the call
 * waits up to `waitMs` for every outcome (answering `queued` with what is known when it runs out);
 * larger sends answer `queued` at once.
 */
export async function sendCloudSignal(deps: SendDeps, project: Project, raw: unknown, opts: { readonly waitMs: number }): Promise<CloudSignalSendResult> {
  const requestId = newRequestId();
  let asynchronous = false;
  const result = await createNotification(deps, {
    project,
    keyed: { key: null, body: raw },
    route: { method: 'POST', path: '/v2/push/send' },
    draft: () => {
      const input = parseInput(cloudSignalSendBody, raw, 'body');
      const target = targetOf(input);
      asynchronous = input.async_mode === true;
      const content = cloudSignalContent(input, project);
      checkPayloadSize(content);
      return {
        content,
        externalId: requestId,
        uids: target.kind === 'uids' ? target.uids : null,
        emails: target.kind === 'emails' ? target.emails : null,
        subscriptionIds: target.kind === 'ids' ? target.ids : null,
        tagExpressions: null,
        tags: null,
        sendAt: null,
        throttleRatePerMinute: null,
        ...(asynchronous ? {} : { recordAllUpTo: MAX_WAITED_AUDIENCE }),
      };
    },
    answer: ({ scheduled, recordsAll }) => ({ status: 200, body: { scheduled, recordsAll } }),
  });
  const notificationId = result.notificationId!;
  const { scheduled, recordsAll } = result.body as { scheduled: number; recordsAll: boolean };
  if (!recordsAll) return queued(requestId, notificationId, scheduled);
  const awaited = await awaitOutcomes(deps, notificationId, opts.waitMs);
  return fromRecords(requestId, awaited.notification, awaited.records, awaited.done);
}

/** `GET /v2/push/requests/{request_id}`: the same counts later (null: no such request in the project). */
export async function cloudSignalRequest(deps: CoreDeps, project: Project, requestId: string): Promise<CloudSignalSendResult | null> {
  const n = await findNotificationByExternalId(deps.db, project.id, requestId);
  if (!n) return null;
  const done = n.status === 'sent' || n.status === 'cancelled';
  const day = deliveryRecordDay(n);
  if (n.recordDeliveries === 'all') {
    const { records } = await listDeliveryRecords(deps.db, { notificationId: n.id, day, failuresOnly: false, after: null, limit: 10 * MAX_WAITED_AUDIENCE });
    return fromRecords(requestId, n, records, done);
  }
  // A large send: counts from the statistics, the gone registrations from its failure records.
  const [stats, pruned] = await Promise.all([
    liveStats(deps.db, deps.ledger, n),
    listDeliveryRecords(deps.db, { notificationId: n.id, day, failuresOnly: true, outcome: 'pruned', after: null, limit: MAX_LISTED_INVALID }),
  ]);
  const t = stats.total;
  const failed = t.pruned + t.expired + Object.values(t.failed).reduce((a, b) => a + b, 0);
  return {
    requestId,
    notificationId: n.id,
    status: statusOf(n, done),
    totalTargets: Math.max(n.scheduledCount, t.delivered + failed),
    successfulSends: t.delivered,
    failedSends: failed,
    invalidRegistrations: pruned.records.map((r) => String(r.subscriptionId)),
  };
}

/** At most this many gone registrations are named for a large send (its failure list has them all). */
const MAX_LISTED_INVALID = 1000;

const statusOf = (n: Notification, done: boolean): CloudSignalSendResult['status'] =>
  n.status === 'cancelled' ? 'cancelled' : done ? 'completed' : 'queued';

function queued(requestId: string, notificationId: number, total: number): CloudSignalSendResult {
  return { requestId, notificationId, status: 'queued', totalTargets: total, successfulSends: 0, failedSends: 0, invalidRegistrations: [] };
}

/** Counts from a small send's records (every recipient has one once it is over). */
function fromRecords(requestId: string, n: Notification, records: readonly DeliveryRecord[], done: boolean): CloudSignalSendResult {
  const delivered = records.filter((r) => r.outcome === 'delivered').length;
  return {
    requestId,
    notificationId: n.id,
    status: statusOf(n, done),
    totalTargets: done ? records.length : Math.max(n.scheduledCount, records.length),
    successfulSends: delivered,
    failedSends: records.length - delivered,
    invalidRegistrations: records.filter((r) => r.outcome === 'pruned').map((r) => String(r.subscriptionId)),
  };
}
