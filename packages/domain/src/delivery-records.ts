import type { Platform } from './model.ts';
import type { Notification } from './notification.ts';

/**
 * What a project keeps of each recipient's outcome (issue 14 §1): `failures` records everyone who
 * did not get a notification; `all` records each delivery too, so that "did user X get
 * notification Y?" has an answer.
 */
export const RECORD_DELIVERIES = ['failures', 'all'] as const;
export type RecordDeliveries = (typeof RECORD_DELIVERIES)[number];
export const DEFAULT_RECORD_DELIVERIES: RecordDeliveries = 'failures';

/** What became of one recipient, as a record says it. */
export const DELIVERY_RECORD_OUTCOMES = ['delivered', 'pruned', 'failed', 'expired', 'quota_expired'] as const;
export type DeliveryRecordOutcome = (typeof DELIVERY_RECORD_OUTCOMES)[number];
/** The outcomes of recipients who did not get the notification. */
export const FAILURE_OUTCOMES = ['pruned', 'failed', 'expired', 'quota_expired'] as const satisfies readonly DeliveryRecordOutcome[];
export type FailureOutcome = (typeof FAILURE_OUTCOMES)[number];

export interface DeliveryRecord {
  readonly subscriptionId: number;
  /** Copied when the outcome was recorded: a pruned subscription's row is deleted, its record stays. */
  readonly uid: string | null;
  readonly platform: Platform;
  readonly outcome: DeliveryRecordOutcome;
  /** The provider's HTTP status, when it answered (410, 400, 403…). */
  readonly status: number | null;
  /** The provider's reason (`Unregistered`, `BadDeviceToken`, `UNREGISTERED`), else Pushcast's code (`retries_exhausted`, `no_credentials`, `http_400`…). */
  readonly reason: string | null;
  readonly at: Date;
}

/** A recipient's outcome on its way to a record. */
export interface DeliveryRecordInput {
  readonly subscriptionId: number;
  readonly outcome: DeliveryRecordOutcome;
  readonly status: number | null;
  readonly reason: string | null;
}

/**
 * The day (UTC, `YYYY-MM-DD`) under which a notification's records are kept: the partition they
 * live in and are dropped with. Fixed for the notification's life (its send time, else its creation).
 */
export const deliveryRecordDay = (n: Pick<Notification, 'sendAt' | 'createdAt'>): string => (n.sendAt ?? n.createdAt).toISOString().slice(0, 10);
