import type { Config } from '@pushcast/config';
import { createQueues, createRedis, jobCatalogue, queueNames, type JobData, type JobName } from '@pushcast/queues';
import type { Db } from '@pushcast/store';
import { Worker } from 'bullmq';
import type { Logger } from 'pino';
import { makePurgeProjectProcessor } from './processors/purge-project.ts';
import { makeSweepDeletedProjectsProcessor } from './processors/sweep-deleted-projects.ts';

type Handlers = { [N in JobName]: (data: JobData<N>, jobId: string | undefined) => Promise<void> };

export interface RunningWorker {
  close(): Promise<void>;
}

export const SWEEP_EVERY_MS = 60_000;

export interface WorkerOptions {
  /** How often PostgreSQL is swept for work whose jobs Redis lost. */
  readonly sweepEveryMs?: number;
}

export async function startWorker(
  { config, db, logger }: { config: Config; db: Db; logger: Logger },
  { sweepEveryMs = SWEEP_EVERY_MS }: WorkerOptions = {},
): Promise<RunningWorker> {
  const producer = createRedis(config.redisUrl, 'worker');
  const queues = createQueues(producer, config.queuePrefix);
  const handlers: Handlers = {
    'purge-project': makePurgeProjectProcessor({ db, logger }),
    'sweep-deleted-projects': makeSweepDeletedProjectsProcessor({ db, queues }),
  };

  await queues
    .queue('maintenance')
    .upsertJobScheduler('sweep-deleted-projects', { every: sweepEveryMs }, { name: 'sweep-deleted-projects', data: {} });

  const connections = queueNames.map(() => createRedis(config.redisUrl, 'worker'));
  const workers = queueNames.map(
    (queueName, i) =>
      new Worker(
        queueName,
        async (job) => {
          const name = job.name as JobName;
          const entry = jobCatalogue[name];
          if (!entry) throw new Error(`no processor for job ${job.name}`);
          const data = entry.schema.parse(job.data);
          await (handlers[name] as (d: typeof data, id: string | undefined) => Promise<void>)(data, job.id);
        },
        { connection: connections[i]!, prefix: config.queuePrefix, concurrency: 4 },
      ),
  );
  for (const w of workers) {
    w.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'job failed'));
    w.on('error', (err) => logger.error({ err }, 'worker error'));
  }
  logger.info({ queues: queueNames }, 'worker started');

  return {
    async close() {
      await Promise.all(workers.map((w) => w.close()));
      await queues.close();
      for (const c of [producer, ...connections]) c.disconnect();
    },
  };
}
