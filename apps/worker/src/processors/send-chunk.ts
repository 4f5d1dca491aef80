import type { Platform } from '@pushcast/domain';
import type { ChunkJobName, ParsedJobData } from '@pushcast/queues';
import { OutcomeBatcher } from '@pushcast/redis-state';
import { DelayedError, type Job } from 'bullmq';
import type { Channel, Recipient } from '../channels/channel.ts';
import { chunkStore, type SendChunkDeps, type StepDeps } from './send-chunk/deps.ts';
import { runChunk } from './send-chunk/run.ts';

export type { SendChunkDeps } from './send-chunk/deps.ts';
export { MAX_RETRY_ROUNDS } from './send-chunk/finish.ts';

/** The chunk job of each platform, by name. */
type ChunkJobOf<P extends Platform> = Extract<ChunkJobName, `send-${P}-chunk`>;

/**
 * The handler of one platform's chunk job: its data typed by that job, and the platform it sends
 * to, so that the worker's handler map cannot put one platform's processor under another's job.
 */
export type ChunkHandler<P extends Platform> = ((data: ParsedJobData<ChunkJobOf<P>>, job: Job, token: string | undefined) => Promise<void>) & {
  readonly platform: P;
};

/**
 * Sends one chunk of one platform (the steps are in ./send-chunk/). Final outcomes go to the
 * ledger as they come; recipients to retry (429, 5xx, timeouts) are sent again by the same job,
 * moved to the delayed set without consuming an attempt, and the ledger makes that run (or any
 * re-run after a crash) skip everyone already done. This shell only tells BullMQ how a run ended.
 */
export function makeSendChunkProcessor<R extends Recipient, P extends Platform>(channel: Channel<R, P>, deps: SendChunkDeps): ChunkHandler<P> {
  const stepDeps: StepDeps = {
    ...deps,
    store: deps.store ?? chunkStore(deps.db),
    now: deps.now ?? Date.now,
    outcomes: deps.outcomes ?? new OutcomeBatcher(),
  };
  const handler = async (data: ParsedJobData<ChunkJobOf<P>>, job: Job, token: string | undefined): Promise<void> => {
    const step = await runChunk(channel, stepDeps, { ...data, jobId: job.id });
    switch (step.kind) {
      case 'finished':
        return;
      case 'defer':
        // Back to the delayed set without consuming an attempt; the ledger says where to resume.
        deps.logger.debug({ notificationId: data.notificationId, chunkIndex: data.chunkIndex, platform: channel.platform, jobId: job.id, delayMs: step.delayMs, why: step.why }, 'chunk deferred');
        deps.metrics?.deferred(channel.platform, step.why);
        await job.moveToDelayed(Date.now() + Math.max(0, step.delayMs), token);
        throw new DelayedError();
      case 'retry':
        await job.updateData({ ...data, round: step.round });
        // The delay was worked out on the pipeline's clock; BullMQ's delays are on the real one.
        await job.moveToDelayed(Date.now() + step.delayMs, token);
        throw new DelayedError();
      default: {
        const unknown: never = step;
        throw new Error(`unknown chunk step ${JSON.stringify(unknown)}`);
      }
    }
  };
  return Object.assign(handler, { platform: channel.platform });
}
