import {
  DELIVERY_RECORD_OUTCOMES,
  deliveryRecordDay,
  FAILURE_OUTCOMES,
  ruleParam,
  type DeliveryRecord,
  type Notification,
} from '@pushcast/domain';
import { listDeliveryRecords, type Db } from '@pushcast/store';
import { z } from 'zod';
import { pageQuery } from '../input/fields.ts';

/**
 * A position in a notification's records: opaque to clients (`v1.` + the last subscription id of
 * the page, base64url), so that its form may change without breaking them.
 */
const encodeCursor = (subscriptionId: number): string => Buffer.from(`v1.${subscriptionId}`).toString('base64url');

const cursor = z
  .string()
  .max(64)
  .transform((v, ctx) => {
    const m = /^v1\.([1-9][0-9]{0,15})$/.exec(/^[A-Za-z0-9_-]*$/.test(v) ? Buffer.from(v, 'base64url').toString('latin1') : '');
    const id = m ? Number(m[1]) : NaN;
    if (!Number.isSafeInteger(id)) {
      ctx.addIssue({ code: 'custom', message: 'must be a next_cursor given by a previous page', params: ruleParam('cursor') });
      return z.NEVER;
    }
    return id;
  });

const page = {
  cursor: cursor.optional(),
  per_page: pageQuery.per_page.default(100),
};

/** `GET /notifications/:id/failures?cursor&per_page&outcome&reason&uid`. */
export const failuresQuery = z.object({
  ...page,
  outcome: z.enum(FAILURE_OUTCOMES).optional(),
  reason: z.string().min(1).max(200).optional(),
  uid: z.string().min(1).max(255).optional(),
});

/** `GET /notifications/:id/deliveries?cursor&per_page&uid&outcome`. */
export const deliveriesQuery = z.object({
  ...page,
  uid: z.string().min(1).max(255).optional(),
  outcome: z.enum(DELIVERY_RECORD_OUTCOMES).optional(),
  reason: z.string().min(1).max(200).optional(),
});

export interface RecordPage {
  readonly records: DeliveryRecord[];
  /** Pass as `cursor` for the next page; null on the last. */
  readonly nextCursor: string | null;
}

/**
 * A page of a notification's delivery records in subscription order: only those who did not get it
 * (`failures`), or every record kept (`deliveries`: successes too where the project records them).
 */
export async function notificationRecords(
  db: Db,
  n: Notification,
  which: 'failures' | 'deliveries',
  q: z.output<typeof failuresQuery> | z.output<typeof deliveriesQuery>,
): Promise<RecordPage> {
  const { records, more } = await listDeliveryRecords(db, {
    notificationId: n.id,
    day: deliveryRecordDay(n),
    failuresOnly: which === 'failures',
    after: q.cursor ?? null,
    limit: q.per_page,
    outcome: q.outcome,
    reason: q.reason,
    uid: q.uid,
  });
  const last = records.at(-1);
  return { records, nextCursor: more && last ? encodeCursor(last.subscriptionId) : null };
}
