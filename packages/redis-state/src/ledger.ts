import { readFileSync } from 'node:fs';
import { emptyStats, type NotificationStats, type Platform } from '@pushcast/domain';
import { Redis } from 'ioredis';
import type { RedisConnection } from './connection.ts';

/**
 * A final outcome as the ledger stores it (the code counted). The provider's status and reason, and
 * whether an expiry came while a quota held the chunk, travel with it to the delivery records; the
 * ledger keeps only the code.
 */
export type LedgerOutcome =
  | { kind: 'delivered' }
  | { kind: 'pruned'; status?: number | undefined; reason?: string | undefined }
  | { kind: 'expired'; quota?: boolean | undefined }
  | { kind: 'failed'; reason: string; status?: number | undefined };

const RECORD_OUTCOMES = readFileSync(new URL('./lua/record-outcomes-3.lua', import.meta.url), 'utf8');

// '|' separates the parts of a live counter's field, so it never appears in a reason.
const encode = (o: LedgerOutcome): string =>
  o.kind === 'delivered' ? 'd' : o.kind === 'pruned' ? 'p' : o.kind === 'expired' ? 'e' : `f:${o.reason.replaceAll('|', '_')}`;

/**
 * The script's arguments for `entries`: each outcome code, then its subscription ids joined by ','.
 * Nearly every entry of a round is a delivery, so the loop keeps that group aside.
 */
function idsByCode(entries: readonly (readonly [subscriptionId: number, outcome: LedgerOutcome])[]): string[] {
  let delivered = '';
  let others: Map<string, string> | undefined;
  for (const [id, o] of entries) {
    if (o.kind === 'delivered') {
      delivered = delivered === '' ? String(id) : `${delivered},${id}`;
      continue;
    }
    const code = encode(o);
    others ??= new Map();
    const ids = others.get(code);
    others.set(code, ids === undefined ? String(id) : `${ids},${id}`);
  }
  const args = delivered === '' ? [] : ['d', delivered];
  if (others !== undefined) for (const [code, ids] of others) args.push(code, ids);
  return args;
}

function tally(codes: Iterable<[string, number]>): NotificationStats {
  const s = { ...emptyStats(), failed: {} as Record<string, number> };
  for (const [code, n] of codes) {
    if (code === 'd') s.delivered += n;
    else if (code === 'p') s.pruned += n;
    else if (code === 'e') s.expired += n;
    else if (code.startsWith('f:')) s.failed[code.slice(2)] = (s.failed[code.slice(2)] ?? 0) + n;
  }
  return s;
}

/** The counts of a chunk ledger's outcome codes, one code per recipient. */
function statsOfCodes(codes: readonly string[]): NotificationStats {
  const counts = new Map<string, number>();
  for (const code of codes) counts.set(code, (counts.get(code) ?? 0) + 1);
  return tally(counts);
}

/** A chunk's ledger as read at one moment. */
export interface ChunkLedgerState {
  /** Whether the ledger has a final outcome for this subscription. */
  holds(subscriptionId: number): boolean;
  readonly stats: NotificationStats;
}

/**
 * Per-recipient ledger of final outcomes, in Redis. A chunk that runs again skips everyone with a
 * final outcome. Keys of one notification share a hash tag, so they live in one Redis Cluster slot.
 */
export class Ledger {
  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {
    redis.defineCommand('pushcastRecordOutcomes', { numberOfKeys: 2, lua: RECORD_OUTCOMES });
  }

  /**
   * Runs `issue` with this connection's socket corked, so that the commands it sends go to Redis
   * in one write: a recording round sends one script call per chunk the process runs, and a write
   * each cost the worker a system call and Redis a wake-up per chunk (docs/benchmarks.md). On a
   * Redis Cluster, or before the connection is up, the commands go as they come.
   */
  together(issue: () => void): void {
    const socket = this.redis instanceof Redis ? this.redis.stream : undefined;
    if (socket === undefined || this.redis.status !== 'ready') {
      issue();
      return;
    }
    socket.cork();
    try {
      issue();
    } finally {
      socket.uncork();
    }
  }

  private chunkKey(notificationId: number, chunk: number): string {
    return `${this.prefix}:ledger:{n${notificationId}}:${chunk}`;
  }

  private liveKey(notificationId: number): string {
    return `${this.prefix}:live:{n${notificationId}}`;
  }

  async record(
    notificationId: number,
    chunk: number,
    platform: Platform,
    entries: readonly (readonly [subscriptionId: number, outcome: LedgerOutcome])[],
    expireSeconds: number,
  ): Promise<number> {
    if (entries.length === 0) return 0;
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<number>>).pushcastRecordOutcomes!;
    return run.call(this.redis, this.chunkKey(notificationId, chunk), this.liveKey(notificationId), `${chunk}|${platform}`, Math.max(60, Math.ceil(expireSeconds)), ...idsByCode(entries));
  }

  /** Subscription ids of the chunk that already have a final outcome. */
  async finalIds(notificationId: number, chunk: number): Promise<Set<number>> {
    return new Set((await this.redis.hkeys(this.chunkKey(notificationId, chunk))).map(Number));
  }

  /** Which subscriptions the chunk's ledger holds and their counts, from one read. */
  async chunkState(notificationId: number, chunk: number): Promise<ChunkLedgerState> {
    const held = await this.redis.hgetall(this.chunkKey(notificationId, chunk));
    return { holds: (subscriptionId) => held[subscriptionId] !== undefined, stats: statsOfCodes(Object.values(held)) };
  }

  async chunkStats(notificationId: number, chunk: number): Promise<NotificationStats> {
    return statsOfCodes(await this.redis.hvals(this.chunkKey(notificationId, chunk)));
  }

  /** Counts recorded so far per platform, for chunks not in `exclude` (those already counted in PostgreSQL). */
  async liveStats(notificationId: number, exclude: ReadonlySet<number>): Promise<Record<Platform, NotificationStats>> {
    const fields = await this.redis.hgetall(this.liveKey(notificationId));
    const counts: Record<Platform, [string, number][]> = { web: [], apns: [], fcm: [] };
    for (const [field, n] of Object.entries(fields)) {
      // "<chunk>|<platform>|<code>"; "<chunk>|<code>" was written before devices existed (web).
      const [chunk, second, ...rest] = field.split('|');
      if (exclude.has(Number(chunk))) continue;
      const platform = second === 'apns' || second === 'fcm' || second === 'web' ? second : 'web';
      const code = platform === second ? rest.join('|') : [second, ...rest].join('|');
      counts[platform].push([code, Number(n)]);
    }
    return { web: tally(counts.web), apns: tally(counts.apns), fcm: tally(counts.fcm) };
  }

  /** Once a chunk is durably complete in PostgreSQL, its ledger is no longer needed. */
  async forgetChunk(notificationId: number, chunk: number): Promise<void> {
    await this.redis.unlink(this.chunkKey(notificationId, chunk));
  }

  async forgetNotification(notificationId: number): Promise<void> {
    await this.redis.unlink(this.liveKey(notificationId));
  }
}
