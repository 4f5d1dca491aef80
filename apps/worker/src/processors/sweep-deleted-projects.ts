import { jobIds, type ParsedJobData, type Queues } from '@pushcast/queues';
import { listDeletedProjectIds, type Db } from '@pushcast/store';

export function makeSweepDeletedProjectsProcessor(deps: { db: Db; queues: Queues }) {
  return async (_data: ParsedJobData<'sweep-deleted-projects'>): Promise<void> => {
    for (const projectId of await listDeletedProjectIds(deps.db, 1000)) {
      // A fixed job id: a purge already waiting or running is not added twice.
      await deps.queues.enqueue('purge-project', { projectId }, { jobId: jobIds.purgeProject(projectId) });
    }
  };
}
