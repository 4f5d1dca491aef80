import { z } from 'zod';
import type { JobsOptions } from 'bullmq';
import type { Platform } from '@pushcast/domain';

const id = z.number().int().positive();

/** A chunk job: a key range of one platform's subscription ids; the job's queue says which platform. */
const chunkData = z.object({
  notificationId: id,
  chunkIndex: z.number().int().min(0),
  firstId: id,
  lastId: id,
  /** Rounds of per-recipient retries so far (429/5xx/timeouts); drives the backoff. */
  round: z.number().int().min(0).default(0),
});
const chunkOptions = { attempts: 20, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: true, removeOnFail: true } as const;

/**
 * Every job Pushcast runs, declared once: its queue, the schema of its (small) data and its
 * options. Workers keep a handler per entry, typed over this catalogue, so a job without a
 * processor does not compile. Job data is ids and key ranges, never recipients or payloads.
 */
export const jobCatalogue = {
  /** Walks a notification's audience by keyset and enqueues its chunks. */
  'plan-notification': {
    queue: 'plan',
    schema: z.object({ notificationId: id }),
    // Removed when done or failed: the reconciler may add the same id again if PostgreSQL says so.
    options: { attempts: 20, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: true, removeOnFail: true },
  },
  /** Sends one chunk (a key range of subscription ids) of a notification over Web Push. */
  'send-web-chunk': { queue: 'web', schema: chunkData, options: chunkOptions },
  /** The same for APNs devices, on their own queue, so that a throttled APNs never stalls Web Push. */
  'send-apns-chunk': { queue: 'apns', schema: chunkData, options: chunkOptions },
  /** The same for FCM devices. */
  'send-fcm-chunk': { queue: 'fcm', schema: chunkData, options: chunkOptions },
  /**
   * Periodic (job scheduler): PostgreSQL is the truth, so unfinished and scheduled notifications
   * whose jobs Redis lost are enqueued again.
   */
  'reconcile-notifications': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /** Removes a deleted project's subscriptions in batches, then the project. */
  'purge-project': {
    queue: 'maintenance',
    schema: z.object({ projectId: id }),
    options: { attempts: 10, backoff: { type: 'exponential', delay: 5_000 }, removeOnComplete: 1000, removeOnFail: 5000 },
  },
  /** Periodic sweep for projects marked deleted whose purge job was lost with Redis. */
  'sweep-deleted-projects': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /** Periodic (job scheduler): deletes idempotency keys older than 24 hours, which the API ignores. */
  'purge-idempotency-keys': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /**
   * Periodic (job scheduler): writes today's snapshot of every project's subscriber counts per
   * platform (subscription_count_days), the figures of "subscribers over time".
   */
  'snapshot-subscriber-counts': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /**
   * Periodic (job scheduler): creates the delivery records' partitions of the next days and drops
   * those older than DELIVERY_RECORD_RETENTION_DAYS (a day at a time: no DELETE, nothing to vacuum).
   */
  'maintain-delivery-records': {
    queue: 'maintenance',
    schema: z.object({}),
    options: { removeOnComplete: 100, removeOnFail: 100 },
  },
  /**
   * Applies an accepted bulk import's staged rows to subscriptions, batch by batch. Retried from
   * where it stopped (the import row says how far it got); the reconciler adds it again if Redis
   * lost it.
   */
  'import-subscriptions': {
    queue: 'maintenance',
    schema: z.object({ importId: id }),
    options: { attempts: 20, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: true, removeOnFail: true },
  },
  /**
   * One attempt of one webhook delivery (PostgreSQL's webhook_deliveries is the truth: a job lost
   * with Redis is handed out again by a dispatcher when its claim runs out). Retries are new
   * attempts scheduled in PostgreSQL, so a job only retries itself when PostgreSQL was away.
   */
  'deliver-webhook': {
    queue: 'webhooks',
    schema: z.object({ deliveryId: id, attempt: z.number().int().min(1) }),
    options: { attempts: 5, backoff: { type: 'exponential', delay: 2_000 }, removeOnComplete: true, removeOnFail: true },
  },
} as const satisfies Record<string, { queue: string; schema: z.ZodType; options: JobsOptions }>;

export type JobName = keyof typeof jobCatalogue;
export type JobData<N extends JobName> = z.input<(typeof jobCatalogue)[N]['schema']>;
export type ParsedJobData<N extends JobName> = z.output<(typeof jobCatalogue)[N]['schema']>;
export type QueueName = (typeof jobCatalogue)[JobName]['queue'];

export const queueNames: readonly QueueName[] = [...new Set(Object.values(jobCatalogue).map((j) => j.queue))];

/** Job ids are fixed so that adding the same job twice is harmless (no `:`, never all digits). */
export const jobIds = {
  purgeProject: (projectId: number) => `purge-project-${projectId}`,
  planNotification: (notificationId: number) => `plan-${notificationId}`,
  importSubscriptions: (importId: number) => `import-${importId}`,
  chunk: (platform: Platform, notificationId: number, chunkIndex: number) => `${platform}-${notificationId}-${chunkIndex}`,
  /** One attempt of a delivery: a dispatcher handing the same attempt out twice adds it once. */
  webhookDelivery: (deliveryId: number, attempt: number) => `webhook-${deliveryId}-${attempt}`,
} as const;

/** The job that sends a chunk of each platform. */
export const chunkJobNames = {
  web: 'send-web-chunk',
  apns: 'send-apns-chunk',
  fcm: 'send-fcm-chunk',
} as const satisfies Record<Platform, JobName>;
export type ChunkJobName = (typeof chunkJobNames)[Platform];
