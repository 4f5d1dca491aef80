import { z } from 'zod';
import type { JobsOptions } from 'bullmq';

/**
 * Every job Pushcast runs, declared once: its queue, the schema of its (small) data and its
 * options. Workers keep a handler per entry, typed over this catalogue, so a job without a
 * processor does not compile.
 */
export const jobCatalogue = {
  /** Removes a deleted project's subscriptions in batches, then the project. */
  'purge-project': {
    queue: 'maintenance',
    schema: z.object({ projectId: z.number().int().positive() }),
    options: { attempts: 10, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  /**
   * Periodic sweep (a job scheduler): PostgreSQL is the truth, so projects marked deleted whose
   * purge job was lost with Redis are found again here.
   */
  'sweep-deleted-projects': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
} as const satisfies Record<string, { queue: string; schema: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof jobCatalogue;
export type JobData<N extends JobName> = z.infer<(typeof jobCatalogue)[N]['schema']>;
export type QueueName = (typeof jobCatalogue)[JobName]['queue'];

export const queueNames: readonly QueueName[] = [...new Set(Object.values(jobCatalogue).map((j) => j.queue))];

/** Job ids are fixed so that adding the same job twice is harmless (no `:`, never all digits). */
export const jobIds = {
  purgeProject: (projectId: number) => `purge-project-${projectId}`,
} as const;
