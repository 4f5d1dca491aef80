import type { DeliveryRecordInput, RecordDeliveries } from '@pushcast/domain';
import type { LedgerEntry } from '@pushcast/redis-state';

/**
 * The delivery records of a batch of final outcomes: every recipient who did not get the
 * notification, and the delivered ones too when the project records `all`.
 */
export function deliveryRecordsOf(entries: readonly LedgerEntry[], mode: RecordDeliveries): DeliveryRecordInput[] {
  const records: DeliveryRecordInput[] = [];
  for (const [subscriptionId, o] of entries) {
    switch (o.kind) {
      case 'delivered':
        if (mode === 'all') records.push({ subscriptionId, outcome: 'delivered', status: null, reason: null });
        break;
      case 'pruned':
        records.push({ subscriptionId, outcome: 'pruned', status: o.status ?? null, reason: o.reason ?? null });
        break;
      case 'failed':
        records.push({ subscriptionId, outcome: 'failed', status: o.status ?? null, reason: o.reason });
        break;
      case 'expired':
        records.push({ subscriptionId, outcome: o.quota === true ? 'quota_expired' : 'expired', status: null, reason: null });
        break;
      default: {
        const unknown: never = o;
        throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
      }
    }
  }
  return records;
}
