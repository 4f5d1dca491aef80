import type { JobData } from '@pushcast/queues';
import { purgeDeletedProject, type Db } from '@pushcast/store';
import type { Logger } from 'pino';

const BATCH = 5_000;

export function makePurgeProjectProcessor(deps: { db: Db; logger: Logger }) {
  return async ({ projectId }: JobData<'purge-project'>, jobId: string | undefined): Promise<void> => {
    let batches = 0;
    while (!(await purgeDeletedProject(deps.db, projectId, BATCH))) batches += 1;
    deps.logger.info({ projectId, jobId, batches }, 'deleted project purged');
  };
}
