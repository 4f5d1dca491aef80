import type { DeliveryRecordInput, Notification, NotificationStats, NotificationStatus, Platform, Project, QuotaLimits } from '@pushcast/domain';
import type { CredentialBreaker, Ledger, OutcomeBatcher, QuotaCounter, ThrottleGate } from '@pushcast/redis-state';
import {
  completeChunk,
  emitQuotaExhausted,
  insertDeliveryRecords,
  rejectProjectCredentials,
  type DeliveryRecordBatch,
  expireSubscriptionsByIds,
  findChunk,
  findNotification,
  findProject,
  markNotificationSending,
  notificationStatus,
  saveCancelledChunkStats,
  type Chunk,
  type Db,
} from '@pushcast/store';
import type { Logger } from 'pino';
import { rejectVapidIfCurrent } from '../../channels/web.ts';
import type { ChunkMetrics } from '../chunk-metrics.ts';
import { sharedReads, STATUS_FRESH_MS } from './shared-reads.ts';

/** The PostgreSQL statements a chunk run uses, bound to a database (the steps' tests give their own). */
export interface ChunkStore {
  findNotification(id: number): Promise<Notification | null>;
  findChunk(notificationId: number, index: number): Promise<(Chunk & { status: string }) | null>;
  findProject(id: number): Promise<Project | null>;
  /** The first chunk to start marks its notification sending (and emits notification.sending), once. */
  markNotificationSending(notificationId: number): Promise<void>;
  /** May be up to STATUS_FRESH_MS old: the chunk runs of a process share their reads. */
  notificationStatus(notificationId: number): Promise<NotificationStatus | null>;
  /** Those a push service said are gone: kept as expired, never targeted again. */
  expireSubscriptions(projectId: number, ids: readonly number[]): Promise<void>;
  saveCancelledChunkStats(notificationId: number, index: number, stats: NotificationStats): Promise<void>;
  completeChunk(notificationId: number, index: number, stats: NotificationStats): Promise<{ chunkDone: boolean; notificationSent: boolean }>;
  /** A batch of delivery records (one statement), each recipient once. */
  insertDeliveryRecords(batch: DeliveryRecordBatch, records: readonly DeliveryRecordInput[]): Promise<void>;
  /** Emits quota.exhausted for the window that resets at `resetsAt`, once per window. */
  quotaExhausted(projectId: number, window: 'hourly' | 'daily', limit: number, resetsAt: Date): Promise<void>;
  /** Marks the project's credential `fingerprint` (Web Push: its VAPID key and subject) rejected and emits credentials.rejected, once. */
  rejectCredentials(projectId: number, platform: Platform, fingerprint: string, reason: string): Promise<boolean>;
}

export function chunkStore(db: Db): ChunkStore {
  return {
    findNotification: (id) => findNotification(db, id),
    findChunk: (notificationId, index) => findChunk(db, notificationId, index),
    findProject: (id) => findProject(db, id),
    markNotificationSending: (notificationId) => markNotificationSending(db, notificationId),
    notificationStatus: sharedReads((notificationId: number) => notificationStatus(db, notificationId), STATUS_FRESH_MS),
    expireSubscriptions: (projectId, ids) => expireSubscriptionsByIds(db, projectId, ids),
    saveCancelledChunkStats: (notificationId, index, stats) => saveCancelledChunkStats(db, notificationId, index, stats),
    completeChunk: (notificationId, index, stats) => completeChunk(db, notificationId, index, stats),
    insertDeliveryRecords: (batch, records) => insertDeliveryRecords(db, batch, records),
    quotaExhausted: (projectId, window, limit, resetsAt) => emitQuotaExhausted(db, projectId, window, limit, resetsAt),
    rejectCredentials: (projectId, platform, fingerprint, reason) =>
      platform === 'web' ? rejectVapidIfCurrent(db, projectId, fingerprint, reason) : rejectProjectCredentials(db, projectId, platform, fingerprint, reason),
  };
}

/** What a chunk run uses of the Redis state (narrow, so that tests can give in-memory versions). */
export type ChunkLedger = Pick<Ledger, 'finalIds' | 'chunkState' | 'chunkStats' | 'record' | 'forgetChunk'>;
export type ChunkQuota = Pick<QuotaCounter, 'blockedUntil' | 'reserve' | 'release' | 'releaseHold'>;
export type ChunkThrottle = Pick<ThrottleGate, 'take'>;
export type ChunkBreaker = Pick<CredentialBreaker, 'observe'>;

export interface SendChunkDeps {
  /** Where channels load recipients from. */
  readonly db: Db;
  /** The chunk run's statements (chunkStore(db) when absent). */
  readonly store?: ChunkStore;
  readonly ledger: ChunkLedger;
  readonly quota: ChunkQuota;
  readonly throttle: ChunkThrottle;
  /** Quotas of projects that set none. */
  readonly defaultQuota: QuotaLimits;
  /** A chunk deferred by a quota looks again after this long at most (a raised quota is used soon). */
  readonly quotaRecheckMs: number;
  readonly logger: Logger;
  /** Counts outcomes, prunes, retries and deferrals (optional: tests of the pipeline alone go without). */
  readonly metrics?: ChunkMetrics;
  /** Aborted when a shutting-down worker's grace period is over: running chunks hand back what they have not sent. */
  readonly handBack?: AbortSignal;
  /** The clock of quota windows, throttling and TTLs (tests move it); BullMQ's delays stay real. */
  readonly now?: () => number;
  /** Batches outcomes on their way to the ledger, one for every chunk of the process (its own when absent). */
  readonly outcomes?: OutcomeBatcher;
  /** Counts refusals of a project's credentials in a row (absent: a refusal is only retried, never rejects). */
  readonly breaker?: ChunkBreaker;
}

/** SendChunkDeps with every default filled in, as the steps use them. */
export interface StepDeps extends Omit<SendChunkDeps, 'store' | 'now' | 'outcomes'> {
  readonly store: ChunkStore;
  readonly now: () => number;
  readonly outcomes: OutcomeBatcher;
}
