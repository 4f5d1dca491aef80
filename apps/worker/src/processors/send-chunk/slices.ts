import { setTimeout as sleep } from 'node:timers/promises';
import type { SendOutcome } from '@pushcast/domain';
import type { LedgerOutcome, Reservation } from '@pushcast/redis-state';
import type { OutcomeSink, Recipient, SliceSender } from '../../channels/channel.ts';
import { cancellation } from './cancellation.ts';
import { quotaDefer } from './quota-defer.ts';
import type { StepDeps } from './deps.ts';
import type { RunRecording } from './recording.ts';
import type { ChunkRun, ChunkStep } from './step.ts';

/** A throttled chunk waits in place up to this long; longer waits go back to the delayed set. */
export const MAX_INLINE_WAIT_MS = 5_000;

/** Recipients a provider asked to try again, with why and the earliest time it allows. */
export interface RetryTally {
  readonly ids: number[];
  readonly reasons: Record<string, number>;
  notBefore: number;
}

/** Every delivery's ledger outcome: one shared object, not one per message. */
const DELIVERED: LedgerOutcome = Object.freeze({ kind: 'delivered' });

/**
 * The ledger's outcome for a provider's answer (with the provider's status and reason, for the
 * delivery records), or null for an answer to try again: a retry, or a refused credential (the
 * recipient is not at fault; the credential breaker decides what the chunk does).
 */
export function finalOutcome(o: SendOutcome): LedgerOutcome | null {
  switch (o.kind) {
    case 'delivered':
      return DELIVERED;
    case 'gone':
      return { kind: 'pruned', status: o.status, reason: o.reason };
    case 'failed':
      return { kind: 'failed', reason: o.reason, status: o.status };
    case 'retry':
    case 'refused':
      return null;
  }
}

/**
 * Sends `todo` in slices of `sliceSize` (fewer when the throttle or the quota grant fewer), so that
 * a cancel or a shutdown stops a running chunk within one slice; the ledger has every outcome of a
 * slice before the next one starts. Returns the recipients to retry, or the step that ends the run
 * early (deferred by the quota, the throttle or a shutdown; cancelled).
 */
export async function sendSlices<R extends Recipient>(
  deps: StepDeps,
  run: ChunkRun,
  sliceSize: number,
  send: SliceSender<R>,
  todo: readonly R[],
  recording: RunRecording,
): Promise<{ readonly kind: 'sent'; readonly retry: RetryTally } | ChunkStep> {
  const retry: RetryTally = { ids: [], reasons: {}, notBefore: 0 };
  let start = 0;
  while (start < todo.length) {
    const stop = await checkpoint(deps, run, start > 0);
    if (stop) return stop;
    const paced = await pace(deps, run, Math.min(sliceSize, todo.length - start));
    if (paced === 'again') continue;
    if ('kind' in paced) return paced;
    const slice = todo.slice(start, start + paced.granted);
    start += slice.length;
    const refused = await sendSlice(deps, run, send, slice, paced, recording, retry);
    if (refused) return refused;
  }
  return { kind: 'sent', retry };
}

/** Before a slice: a worker shutting down hands the rest back at once; a cancelled notification stops. */
async function checkpoint(deps: StepDeps, run: ChunkRun, afterASlice: boolean): Promise<ChunkStep | undefined> {
  // Everyone sent so far is in the ledger; another worker takes the rest and skips them.
  if (deps.handBack?.aborted) return { kind: 'defer', delayMs: 0, why: 'shutdown' };
  if (afterASlice && (await cancellation.betweenSlices(deps, run.notification.id))) {
    run.log.info('cancelled during the chunk');
    return cancellation.stop(deps, run.notification.id, run.chunk.index);
  }
  return undefined;
}

/**
 * How many of the next `want` may go now: the throttle's share (waiting in place for a short
 * wait: 'again'), then the quota's reservation; or the deferral when either says later.
 */
async function pace(deps: StepDeps, run: ChunkRun, want: number): Promise<Reservation | ChunkStep | 'again'> {
  const n = run.notification;
  if (n.throttleRatePerMinute !== null) {
    const t = await deps.throttle.take(n.id, want, n.throttleRatePerMinute, deps.now());
    if (t.granted === 0) {
      if (t.waitMs > MAX_INLINE_WAIT_MS) return { kind: 'defer', delayMs: t.waitMs, why: 'throttle' };
      await sleep(t.waitMs);
      return 'again';
    }
    want = t.granted;
  }
  const reservation = await deps.quota.reserve(n.projectId, n.id, want, run.limits, deps.now());
  if (reservation.granted === 0) return quotaDefer(deps, run, reservation.blockedUntil ?? deps.now());
  return reservation;
}

/**
 * Sends one slice. Each final outcome is recorded as it arrives; recipients to retry join `retry`.
 * Then the quota gets back what was not delivered and the subscriptions their push service calls
 * gone are deleted (after the ledger has them: a crash in between only leaves them for next time).
 * Returns the deferral when the provider's refusals of the project's credential reached the
 * breaker's threshold (the credential is then marked rejected).
 */
async function sendSlice<R extends Recipient>(
  deps: StepDeps,
  run: ChunkRun,
  send: SliceSender<R>,
  slice: readonly R[],
  reservation: Reservation,
  recording: RunRecording,
  retry: RetryTally,
): Promise<ChunkStep | undefined> {
  let answered = 0;
  let delivered = 0;
  let retrying = 0;
  const gone: number[] = [];
  const refusals = new Refusals();
  const onOutcome: OutcomeSink = (i, o) => {
    const id = slice[i]!.id;
    answered += 1;
    const final = finalOutcome(o);
    if (final) {
      recording.record(id, final);
      if (o.kind === 'delivered') delivered += 1;
      else if (o.kind === 'gone') gone.push(id);
    } else if (o.kind === 'retry' || o.kind === 'refused') {
      retrying += 1;
      retry.ids.push(id);
      retry.reasons[o.reason] = (retry.reasons[o.reason] ?? 0) + 1;
      if (o.kind === 'retry') retry.notBefore = Math.max(retry.notBefore, o.notBefore);
    }
    refusals.note(o);
  };
  // Senders answer every recipient with an outcome; if one throws anyway, what it answered still
  // reaches the ledger, and its reservation stays counted (what it sent is unknown, and a quota
  // must never be passed).
  const thrown = await send(slice, onOutcome).then(
    () => undefined,
    (error: unknown) => ({ error }),
  );
  await recording.flush();
  if (thrown) throw thrown.error;
  if (answered !== slice.length) throw new Error(`the ${run.platform} channel answered ${answered} of ${slice.length} recipients`);
  // The quota counts what providers accepted: what was pruned, failed or is to retry goes back.
  await deps.quota.release(reservation, slice.length - delivered);
  deps.metrics?.retrying(run.platform, retrying);
  await deps.store.expireSubscriptions(run.notification.projectId, gone);
  deps.metrics?.pruned(run.platform, gone.length);
  return refusals.verdict(deps, run);
}

/**
 * A slice's answers as the credential breaker counts them, in the order they came: refusals of the
 * project's credential (devices' `refused`, Web Push's 401/403 failures), and whether a delivery
 * came after them (the credential works after all).
 */
class Refusals {
  refused = 0;
  sinceDelivery = 0;
  delivered = false;
  last: { reason: string; credential: string | undefined } | undefined;

  note(o: SendOutcome): void {
    if (o.kind === 'delivered') {
      this.delivered = true;
      this.sinceDelivery = 0;
    } else if (o.kind === 'refused' || (o.kind === 'failed' && o.credential !== undefined)) {
      this.refused += 1;
      this.sinceDelivery += 1;
      this.last = { reason: o.reason, credential: o.credential };
    }
  }

  /** After the slice: the deferral that holds the chunk when the credential is now rejected. */
  async verdict(deps: StepDeps, run: ChunkRun): Promise<ChunkStep | undefined> {
    const platform = run.platform;
    const credential = this.last?.credential;
    if (!deps.breaker || (this.refused > 0 && credential === undefined)) return undefined;
    const key = { projectId: run.notification.projectId, platform, fingerprint: credential };
    const tripped = await deps.breaker.observe(key, { refused: this.refused, refusedSinceDelivery: this.sinceDelivery, delivered: this.delivered });
    if (!tripped || credential === undefined) return undefined;
    const marked = await deps.store.rejectCredentials(key.projectId, platform, credential, this.last!.reason);
    run.log.warn({ reason: this.last!.reason, marked }, 'the provider keeps refusing the project\'s credentials: its chunks wait for new ones');
    // Devices refused are not in the ledger: the run that follows new credentials sends them (Web
    // Push's refused recipients were failed: each may have been a subscription under another key).
    return { kind: 'defer', delayMs: deps.quotaRecheckMs, why: 'credentials' };
  }
}
