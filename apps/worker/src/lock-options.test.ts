import { queueNames } from '@pushcast/queues';
import { describe, expect, it } from 'vitest';
import { lockOptions, NEVER_FAIL_FOR_STALLING, stalledIntervalMs } from './lock-options.ts';

describe('lock options', () => {
  it('looks for stalled jobs ten times per lock, at most once a second', () => {
    expect(stalledIntervalMs(30_000)).toBe(3_000);
    expect(stalledIntervalMs(600_000)).toBe(60_000);
    expect(stalledIntervalMs(2_000)).toBe(1_000);
    expect(stalledIntervalMs(1_000)).toBe(1_000);
  });

  it('never fails a chunk, a plan or a webhook delivery for stalling; maintenance keeps BullMQ’s default', () => {
    for (const q of ['web', 'apns', 'fcm', 'plan', 'webhooks'] as const) expect(lockOptions(q, 30_000).maxStalledCount).toBe(NEVER_FAIL_FOR_STALLING);
    expect(lockOptions('maintenance', 30_000).maxStalledCount).toBe(1);
    // Every queue has a choice, and the lock is WORKER_LOCK_MS.
    for (const q of queueNames) expect(lockOptions(q, 5_000)).toMatchObject({ lockDuration: 5_000, stalledInterval: 1_000 });
  });
});
