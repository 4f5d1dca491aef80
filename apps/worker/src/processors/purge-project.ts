import type { ParsedJobData } from '@pushcast/queues';
import type { Job } from 'bullmq';
import { purgeDeletedProject, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

const BATCH = 5_000;

export function makePurgeProjectProcessor(deps: { db: Db; logger: Logger }) {
  return async ({ projectId }: ParsedJobData<'purge-project'>, job: Job): Promise<void> => {
    let batches = 0;
    while (!(await purgeDeletedProject(deps.db, projectId, BATCH))) batches += 1;
    deps.logger.info({ projectId, jobId: job.id, batches }, 'deleted project purged');
  };
}
