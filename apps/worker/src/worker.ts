import type { Config } from '@pushcast/config';
import type { Platform } from '@pushcast/domain';
import { ClientCache, localFcmTransport, WebPushClient, type ApnsClient, type FcmClient } from '@pushcast/providers';
import { createQueues, jobCatalogue, queueNames, type JobName, type ParsedJobData, type QueueName } from '@pushcast/queues';
import { createRedis, Ledger, OutcomeBatcher, QuotaCounter, RedisApnsTokenStore, ThrottleGate, CredentialBreaker } from '@pushcast/redis-state';
import { loadProjectCredentials, type Db } from '@pushcast/store';
import { Worker, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { makePlanNotificationProcessor, type PlanOptions } from './processors/plan-notification.ts';
import { makeImportSubscriptionsProcessor } from './processors/import-subscriptions.ts';
import { makePurgeProjectProcessor } from './processors/purge-project.ts';
import { makeReconcileNotificationsProcessor } from './processors/reconcile-notifications.ts';
import { apnsChannel } from './channels/apns.ts';
import type { CredentialsSource } from './channels/credentials.ts';
import { fcmChannel } from './channels/fcm.ts';
import { webChannel } from './channels/web.ts';
import { makeSendChunkProcessor, type ChunkHandler } from './processors/send-chunk.ts';
import { chunkStore } from './processors/send-chunk/deps.ts';
import { makeSweepDeletedProjectsProcessor } from './processors/sweep-deleted-projects.ts';
import { makePurgeIdempotencyKeysProcessor } from './processors/purge-idempotency-keys.ts';
import { makeMaintainDeliveryRecordsProcessor } from './processors/maintain-delivery-records.ts';
import { makeSnapshotSubscriberCountsProcessor } from './processors/snapshot-subscriber-counts.ts';
import { startWorkerObservability } from './observability.ts';
import { makeDeliverWebhookProcessor } from './processors/deliver-webhook.ts';
import { startWebhookDispatcher, type WebhookDispatcherOptions } from './webhooks/dispatcher.ts';
import { createWebhookTransport } from './webhooks/transport.ts';
import { lockOptions } from './lock-options.ts';
import { closeWorkers } from './close-workers.ts';

type Handler<N extends JobName> = (data: ParsedJobData<N>, job: Job, token: string | undefined) => Promise<void>;
/** A processor per job; a chunk job's must send to that job's platform. */
type Handlers = { [N in JobName]: N extends `send-${infer P extends Platform}-chunk` ? ChunkHandler<P> : Handler<N> };

export interface RunningWorker {
  /** Where /metrics, /healthz and /readyz are served (METRICS_PORT, or the port 0 picked). */
  readonly metricsPort: number;
  /**
   * Stops taking jobs, lets running ones go on for `graceMs` (default SHUTDOWN_GRACE_MS), then has
   * them hand back what they have not sent, and closes every connection once they have returned.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
}

export const SWEEP_EVERY_MS = 60_000;
export const PURGE_IDEMPOTENCY_KEYS_EVERY_MS = 3_600_000;
export const MAINTAIN_DELIVERY_RECORDS_EVERY_MS = 3_600_000;
export const SNAPSHOT_SUBSCRIBER_COUNTS_EVERY_MS = 3_600_000;
export const RECONCILE_EVERY_MS = 30_000;
/** Webhook requests a worker process makes at once (I/O: most of their time is the receiver's). */
export const WEBHOOK_CONCURRENCY = 32;
/** What closing the queue workers may take beyond the grace period (running jobs hand back at its end, within a slice). */
const CLOSE_MARGIN_MS = 10_000;

export interface WorkerOptions {
  /** How often PostgreSQL is swept for deleted projects whose purge Redis lost. */
  readonly sweepEveryMs?: number;
  /** How often PostgreSQL is read for unfinished notifications whose jobs Redis lost. */
  readonly reconcileEveryMs?: number;
  readonly plan?: PlanOptions;
  /** Extra CA for push services (tests; processes use NODE_EXTRA_CA_CERTS). */
  readonly pushCa?: string;
  /** The CA of the local APNs server that PUSHCAST_APNS_URL points to (tests). */
  readonly apnsCa?: string;
  /** The CA of the local FCM server that PUSHCAST_FCM_URL points to (tests). */
  readonly fcmCa?: string;
  /** The clock of quota windows, throttling and TTLs (tests move it). */
  readonly now?: () => number;
  /** Extra CA for webhook receivers (tests' local HTTPS receiver; processes use NODE_EXTRA_CA_CERTS). */
  readonly webhookCa?: string;
  /** Waits before a webhook's 2nd, 3rd, … attempt (tests shorten them). */
  readonly webhookRetryDelaysMs?: readonly number[];
  /** The same for webhooks of format `beams` (tests shorten Beams' schedule). */
  readonly beamsWebhookRetryDelaysMs?: readonly number[];
  readonly webhookDispatch?: WebhookDispatcherOptions;
}

export async function startWorker(
  { config, db, logger }: { config: Config; db: Db; logger: Logger },
  options: WorkerOptions = {},
): Promise<RunningWorker> {
  // First: a METRICS_PORT already taken stops the start before anything else is opened.
  const observability = await startWorkerObservability(config, db, logger);
  const producer = createRedis(config.redisUrl, 'worker', config.redisCluster);
  const queues = createQueues(producer, config.bullPrefix);
  const ledger = new Ledger(producer, config.redisStatePrefix);
  const webPush = new WebPushClient({
    allowedHosts: config.allowedPushHosts,
    maxInFlightPerOrigin: config.pushMaxInFlightPerOrigin,
    observer: observability.metrics.providerObserver('web'),
    ...(options.pushCa ? { ca: options.pushCa } : {}),
  });
  // Read per chunk run (one row, one AES-GCM open): a key changed through the API is used by the next chunk.
  const credentials: CredentialsSource = (projectId, platform) => loadProjectCredentials(db, config.secretKeys, projectId, platform);
  const apnsClients = new ClientCache<ApnsClient>();
  const fcmClients = new ClientCache<FcmClient>();
  const fcmTransport = config.fcmUrl ? localFcmTransport(config.fcmUrl, options.fcmCa) : undefined;
  // Aborted when a closing worker's grace period is over: chunks and plans hand back their rest.
  const handBack = new AbortController();
  const quota = new QuotaCounter(producer, config.redisStatePrefix);
  const chunkDeps = {
    db,
    // One for every platform's chunks, so that their reads of a notification's status are shared.
    store: chunkStore(db),
    ledger,
    // One round of ledger writes every 10 ms for all the chunks the process runs.
    outcomes: new OutcomeBatcher(undefined, (sendAll) => ledger.together(sendAll)),
    handBack: handBack.signal,
    quota,
    throttle: new ThrottleGate(producer, config.redisStatePrefix),
    // Refusals of a project's credentials in a row, shared by every worker: a few reject the credential.
    breaker: new CredentialBreaker(producer, config.redisStatePrefix),
    defaultQuota: config.defaultQuota,
    quotaRecheckMs: config.quotaRecheckMs,
    logger,
    metrics: observability.metrics,
    ...(options.now ? { now: options.now } : {}),
  };
  const webhookTransport = createWebhookTransport({
    allowedHosts: config.allowedPushHosts,
    ...(options.webhookCa ? { ca: options.webhookCa } : {}),
  });
  const handlers: Handlers = {
    'plan-notification': makePlanNotificationProcessor({
      db,
      queues,
      quota,
      logger,
      handBack: handBack.signal,
      ...(options.plan ? { options: options.plan } : {}),
    }),
    'send-web-chunk': makeSendChunkProcessor(webChannel({ db, webPush, secretKeys: config.secretKeys }), chunkDeps),
    'send-apns-chunk': makeSendChunkProcessor(
      apnsChannel({
        credentials,
        clients: apnsClients,
        tokens: new RedisApnsTokenStore(producer, config.redisStatePrefix),
        maxInFlightPerCredential: config.apnsMaxInFlightPerCredential,
        connectionsPerCredential: config.apnsConnectionsPerCredential,
        url: config.apnsUrl,
        ca: options.apnsCa,
        observer: observability.metrics.providerObserver('apns'),
      }),
      chunkDeps,
    ),
    'send-fcm-chunk': makeSendChunkProcessor(
      fcmChannel({
        credentials,
        clients: fcmClients,
        maxInFlightPerCredential: config.fcmMaxInFlightPerCredential,
        httpAgent: fcmTransport?.httpAgent,
        observer: observability.metrics.providerObserver('fcm'),
      }),
      chunkDeps,
    ),
    'reconcile-notifications': makeReconcileNotificationsProcessor({ db, queues, quota, logger }),
    'purge-project': makePurgeProjectProcessor({ db, logger }),
    'sweep-deleted-projects': makeSweepDeletedProjectsProcessor({ db, queues }),
    'purge-idempotency-keys': makePurgeIdempotencyKeysProcessor({ db, logger }),
    'maintain-delivery-records': makeMaintainDeliveryRecordsProcessor({
      db,
      logger,
      retentionDays: config.deliveryRecordRetentionDays,
      ...(options.now ? { now: options.now } : {}),
    }),
    'snapshot-subscriber-counts': makeSnapshotSubscriberCountsProcessor({ db }),
    'import-subscriptions': makeImportSubscriptionsProcessor({ db, logger, handBack: handBack.signal }),
    'deliver-webhook': makeDeliverWebhookProcessor({
      db,
      secretKeys: config.secretKeys,
      post: webhookTransport.post,
      logger,
      metrics: observability.webhookMetrics,
      ...(options.webhookRetryDelaysMs ? { retryDelaysMs: options.webhookRetryDelaysMs } : {}),
      ...(options.beamsWebhookRetryDelaysMs ? { beamsRetryDelaysMs: options.beamsWebhookRetryDelaysMs } : {}),
    }),
  };

  const maintenance = queues.queue('maintenance');
  const schedulers = [
    { id: 'sweep-deleted-projects', every: options.sweepEveryMs ?? SWEEP_EVERY_MS },
    { id: 'purge-idempotency-keys', every: PURGE_IDEMPOTENCY_KEYS_EVERY_MS },
    { id: 'maintain-delivery-records', every: MAINTAIN_DELIVERY_RECORDS_EVERY_MS },
    { id: 'snapshot-subscriber-counts', every: SNAPSHOT_SUBSCRIBER_COUNTS_EVERY_MS },
    { id: 'reconcile-notifications', every: options.reconcileEveryMs ?? RECONCILE_EVERY_MS },
  ] as const;
  // The schedulers live in Redis: a Redis restarted empty loses them, and with them the very
  // reconciliation that recovers lost work. Every worker checks for them and puts back what is missing.
  const ensureSchedulers = async () => {
    for (const s of schedulers) {
      if (!(await maintenance.getJobScheduler(s.id))) {
        await maintenance.upsertJobScheduler(s.id, { every: s.every }, { name: s.id, data: {} });
      }
    }
  };
  await ensureSchedulers();
  const watchdog = setInterval(() => {
    ensureSchedulers().catch((err: unknown) => logger.warn({ err }, 'job schedulers not checked'));
  }, Math.min(...schedulers.map((s) => s.every)));
  watchdog.unref();

  const concurrency: Record<QueueName, number> = {
    plan: 2,
    web: config.workerConcurrency,
    apns: config.workerConcurrency,
    fcm: config.workerConcurrency,
    maintenance: 2,
    webhooks: WEBHOOK_CONCURRENCY,
  };
  const connections = queueNames.map(() => createRedis(config.redisUrl, 'worker', config.redisCluster));
  const workers = queueNames.map(
    (queueName, i) =>
      new Worker(
        queueName,
        async (job, token) => {
          const name = job.name as JobName;
          const entry = jobCatalogue[name];
          if (!entry) throw new Error(`no processor for job ${job.name}`);
          const handler = handlers[name] as (d: unknown, j: Job, t: string | undefined) => Promise<void>;
          // A job whose workers keep dying while they run it may be what kills them.
          if (job.stalledCounter >= 3) logger.warn({ jobId: job.id, job: job.name, takenOver: job.stalledCounter }, 'job taken over from dead workers again');
          await handler(entry.schema.parse(job.data), job, token);
        },
        {
          connection: connections[i]!,
          prefix: config.bullPrefix,
          concurrency: concurrency[queueName],
          ...lockOptions(queueName, config.workerLockMs),
        },
      ),
  );
  for (const w of workers) {
    w.on('failed', (job, err) => logger.warn({ err, jobId: job?.id, job: job?.name }, 'job failed'));
    w.on('stalled', (jobId) => logger.warn({ jobId, queue: w.name }, 'job taken over: its worker stopped renewing the lock (crash or frozen event loop)'));
    w.on('error', (err) => logger.error({ err }, 'worker error'));
  }
  // After the workers: a dispatcher hands the outbox's due deliveries to the webhooks queue.
  const dispatcher = startWebhookDispatcher({ db, databaseUrl: config.databaseUrl, queues, logger }, options.webhookDispatch);
  logger.info({ queues: queueNames }, 'worker started');

  return {
    metricsPort: observability.port,
    async close({ graceMs = config.shutdownGraceMs } = {}) {
      clearInterval(watchdog);
      await dispatcher.close();
      const graceOver = setTimeout(() => handBack.abort(), graceMs);
      // BullMQ's close stops fetching at once and resolves when the running jobs have returned
      // (bounded: it can hang on a connection that Redis dropped, see closeWorkers).
      await closeWorkers(workers, [producer, ...connections], { deadlineMs: graceMs + CLOSE_MARGIN_MS, logger });
      clearTimeout(graceOver);
      await queues.close();
      await Promise.all([webPush.close(), apnsClients.close(), fcmClients.close()]);
      fcmTransport?.close();
      webhookTransport.close();
      for (const c of [producer, ...connections]) c.disconnect();
      await observability.close();
    },
  };
}
