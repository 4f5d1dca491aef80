/**
 * In-memory stand-ins for what a chunk run uses (PostgreSQL statements, the Redis ledger, quota and
 * throttle, a channel), for the steps' unit tests. The real ones are covered by test/.
 */
import {
  emptyStats,
  ok,
  type DeliveryRecordInput,
  type Platform,
  type Notification,
  type NotificationStats,
  type Project,
  type SendOutcome,
} from '@pushcast/domain';
import { OutcomeBatcher, type ChunkLedgerState, type LedgerEntry, type LedgerOutcome, type Reservation } from '@pushcast/redis-state';
import type { Chunk, DeliveryRecordBatch, Db } from '@pushcast/store';
import { pino } from 'pino';
import type { Channel, OutcomeSink, Recipient } from '../../channels/channel.ts';
import type { ChunkLedger, ChunkQuota, ChunkStore, ChunkThrottle, StepDeps } from './deps.ts';

export const NOW = Date.UTC(2026, 0, 1, 12);

export function notification(over: Partial<Notification> = {}): Notification {
  return {
    id: 1,
    projectId: 1,
    externalId: null,
    payloads: null,
    title: null,
    body: 'hello',
    targetUrl: null,
    iconUrl: null,
    badgeUrl: null,
    imageUrl: null,
    ttl: 3600,
    requireInteraction: false,
    silent: false,
    urgent: false,
    customData: null,
    actions: [],
    starred: false,
    customMetrics: [],
    topic: null,
    overrides: {},
    targetUids: null,
    targetTags: null,
    targetEmails: null,
    targetSubscriptionIds: null,
    recordDeliveries: null,
    sendAt: null,
    throttleRatePerMinute: null,
    status: 'sending',
    scheduledCount: 0,
    createdAt: new Date(NOW - 1000),
    plannedAt: new Date(NOW - 500),
    completedAt: null,
    cancelledAt: null,
    sendingAt: null,
    ...over,
  };
}

const project: Project = {
  id: 1,
  senderId: 1,
  name: 'p',
  website: 'https://example.com',
  iconUrl: null,
  badgeUrl: null,
  notificationsTtl: 3600,
  notificationsRequireInteraction: false,
  notificationsSilent: false,
  quota: { hourly: null, daily: null, policy: 'defer' },
  allowedOrigins: null,
  browserTagsAllowed: [],
  beamsInstanceId: '00000000-0000-4000-8000-000000000000',
  recordDeliveries: 'failures',
  createdAt: new Date(NOW - 10_000),
};

/** The rows of one notification, one chunk and one project, and what the run did to them. */
export class FakeStore implements ChunkStore {
  notification: Notification;
  chunkStatus = 'pending';
  readonly deleted: number[] = [];
  completed: NotificationStats | undefined;
  cancelledStats: NotificationStats | undefined;
  /** Called on every look at the notification's status (between slices): a test may cancel there. */
  onStatusRead: () => void = () => {};

  constructor(n: Notification, readonly chunk: Chunk) {
    this.notification = n;
  }
  cancel(): void {
    this.notification = { ...this.notification, status: 'cancelled' };
    if (this.chunkStatus === 'pending') this.chunkStatus = 'cancelled';
  }
  async findNotification(id: number) {
    return id === this.notification.id ? this.notification : null;
  }
  async findChunk(notificationId: number, index: number) {
    return notificationId === this.chunk.notificationId && index === this.chunk.index ? { ...this.chunk, status: this.chunkStatus } : null;
  }
  async findProject(id: number) {
    return id === project.id ? project : null;
  }
  async markNotificationSending() {}
  async notificationStatus() {
    this.onStatusRead();
    return this.notification.status;
  }
  async expireSubscriptions(_projectId: number, ids: readonly number[]) {
    this.deleted.push(...ids);
  }
  async saveCancelledChunkStats(_n: number, _i: number, stats: NotificationStats) {
    if (this.chunkStatus === 'cancelled') this.cancelledStats = stats;
  }
  /** Delivery records written, in order. */
  readonly records: DeliveryRecordInput[] = [];
  /** Credentials marked rejected: fingerprint and reason. */
  readonly rejected: { fingerprint: string; reason: string }[] = [];
  async insertDeliveryRecords(_batch: DeliveryRecordBatch, records: readonly DeliveryRecordInput[]) {
    this.records.push(...records);
  }
  /** quota.exhausted events emitted: window and reset. */
  readonly exhausted: string[] = [];
  async quotaExhausted(_projectId: number, window: string, _limit: number, resetsAt: Date) {
    this.exhausted.push(`${window}@${resetsAt.toISOString()}`);
  }
  async rejectCredentials(_projectId: number, _platform: Platform, fingerprint: string, reason: string) {
    if (this.rejected.some((r) => r.fingerprint === fingerprint)) return false;
    this.rejected.push({ fingerprint, reason });
    return true;
  }
  async completeChunk(_n: number, _i: number, stats: NotificationStats) {
    if (this.chunkStatus !== 'pending') return { chunkDone: false, notificationSent: false };
    this.chunkStatus = 'done';
    this.completed = stats;
    return { chunkDone: true, notificationSent: true };
  }
}

/** The ledger as a map per chunk; the first outcome of a recipient stays (HSETNX). */
export class FakeLedger implements ChunkLedger {
  readonly chunks = new Map<number, Map<number, LedgerOutcome>>();
  /** Every write, as the recorder made it. */
  readonly writes: number[][] = [];

  ledgerOf(chunk: number): Map<number, LedgerOutcome> {
    let m = this.chunks.get(chunk);
    if (!m) this.chunks.set(chunk, (m = new Map()));
    return m;
  }
  async record(_n: number, chunk: number, _p: string, entries: readonly LedgerEntry[]) {
    this.writes.push(entries.map(([id]) => id));
    const m = this.ledgerOf(chunk);
    let added = 0;
    for (const [id, o] of entries) {
      if (!m.has(id)) {
        m.set(id, o);
        added += 1;
      }
    }
    return added;
  }
  async finalIds(_n: number, chunk: number) {
    return new Set(this.ledgerOf(chunk).keys());
  }
  async chunkState(n: number, chunk: number): Promise<ChunkLedgerState> {
    const held = new Set(this.ledgerOf(chunk).keys());
    return { holds: (id) => held.has(id), stats: await this.chunkStats(n, chunk) };
  }
  async chunkStats(_n: number, chunk: number): Promise<NotificationStats> {
    const s = { ...emptyStats(), failed: {} as Record<string, number> };
    for (const o of this.ledgerOf(chunk).values()) {
      if (o.kind === 'failed') s.failed[o.reason] = (s.failed[o.reason] ?? 0) + 1;
      else if (o.kind === 'delivered') s.delivered += 1;
      else if (o.kind === 'pruned') s.pruned += 1;
      else s.expired += 1;
    }
    return s;
  }
  async forgetChunk(_n: number, chunk: number) {
    this.chunks.delete(chunk);
  }
}

/** A quota that grants up to `left` in all (unlimited by default) and counts what comes back. */
export class FakeQuota implements ChunkQuota {
  released = 0;
  constructor(public left = Number.POSITIVE_INFINITY) {}
  async blockedUntil() {
    return this.left > 0 ? null : NOW + 60_000;
  }
  async reserve(projectId: number, _n: number, want: number): Promise<Reservation> {
    const granted = Math.min(want, this.left);
    this.left -= granted;
    return { projectId, granted, counted: true, hour: 0, day: 0, blockedUntil: granted === 0 ? NOW + 60_000 : null };
  }
  async release(_r: Reservation, unused: number) {
    this.released += unused;
    this.left += unused;
  }
  async releaseHold() {}
}

export const openThrottle: ChunkThrottle = { take: async (_n, want) => ({ granted: want, waitMs: 0 }) };

/**
 * A channel whose provider answers each recipient with `answer(id)` (delivered by default), all of
 * a slice at once unless `beforeAnswer` holds some back; it counts what it was asked to send.
 */
export class FakeChannel implements Channel<Recipient, 'web'> {
  readonly platform = 'web' as const;
  readonly sent: number[] = [];
  readonly slices: number[][] = [];
  prepareError: string | undefined;
  answer: (id: number) => SendOutcome = () => ({ kind: 'delivered' });
  /** Runs before the i-th answer of a slice is told (the test may look at the ledger there). */
  beforeAnswer: (i: number, id: number) => Promise<void> | void = () => {};
  /** Recipients the provider never answers (a broken channel). */
  unanswered = new Set<number>();

  constructor(
    readonly recipients: Recipient[],
    readonly sliceSize = 10,
  ) {}
  async load() {
    return this.recipients;
  }
  async prepare() {
    if (this.prepareError) return { ok: false as const, error: this.prepareError };
    return ok(async (slice: readonly Recipient[], onOutcome: OutcomeSink) => {
      this.slices.push(slice.map((r) => r.id));
      for (const [i, r] of slice.entries()) {
        this.sent.push(r.id);
        await this.beforeAnswer(i, r.id);
        if (!this.unanswered.has(r.id)) onOutcome(i, this.answer(r.id));
      }
    });
  }
}

export interface Fixture {
  readonly deps: StepDeps;
  readonly store: FakeStore;
  readonly ledger: FakeLedger;
  readonly quota: FakeQuota;
  readonly channel: FakeChannel;
  readonly handBack: AbortController;
}

/** A chunk of `count` recipients (ids 1…count) of a notification, with every stand-in. */
export function fixture(count: number, opts: { n?: Partial<Notification>; sliceSize?: number; quota?: number; recorder?: { maxBatch: number; maxDelayMs: number } } = {}): Fixture {
  const chunk: Chunk = { notificationId: 1, index: 0, platform: 'web', firstId: 1, lastId: count, size: count };
  const store = new FakeStore(notification(opts.n), chunk);
  const ledger = new FakeLedger();
  const quota = new FakeQuota(opts.quota);
  const channel = new FakeChannel(
    Array.from({ length: count }, (_, i) => ({ id: i + 1 })),
    opts.sliceSize,
  );
  const handBack = new AbortController();
  const deps: StepDeps = {
    db: {} as Db,
    store,
    ledger,
    quota,
    throttle: openThrottle,
    defaultQuota: { hourly: 0, daily: 0 },
    quotaRecheckMs: 30_000,
    logger: pino({ level: 'silent' }),
    handBack: handBack.signal,
    now: () => NOW,
    outcomes: new OutcomeBatcher(opts.recorder ?? { maxBatch: 1000, maxDelayMs: 10 }),
  };
  return { deps, store, ledger, quota, channel, handBack };
}
