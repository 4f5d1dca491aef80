import { expiresAt, type Notification, type NotificationStats } from '@pushcast/domain';
import type { WebPushClient, WebPushNotification } from '@pushcast/providers';
import type { Ledger, LedgerOutcome, ParsedJobData } from '@pushcast/queues';
import {
  completeChunk,
  deleteSubscriptionsByIds,
  findChunk,
  findNotification,
  findProject,
  findSender,
  loadWebRecipients,
  notificationStatus,
  saveCancelledChunkStats,
  type Db,
} from '@pushcast/store';
import { DelayedError, type Job } from 'bullmq';
import type { Logger } from 'pino';
import { notificationAudience } from './audience.ts';
import { retryDelayMs } from './backoff.ts';

/** Ledgers outlive the notification's TTL by a day, then Redis forgets them by itself. */
const LEDGER_GRACE_S = 24 * 3600;
export const MAX_RETRY_ROUNDS = 50;
/** Recipients sent between two looks at whether the notification was cancelled. */
const SLICE = 100;

export interface SendWebChunkDeps {
  readonly db: Db;
  readonly ledger: Ledger;
  readonly webPush: WebPushClient;
  readonly logger: Logger;
  readonly now?: () => number;
}

const outcomeCount = (s: NotificationStats): number =>
  s.delivered + s.pruned + s.expired + Object.values(s.failed).reduce((a, b) => a + b, 0);

/** RFC 8292 wants a contact: the project's site if it is https, else a mailto at its host. */
export function vapidSubject(website: string): string {
  const url = new URL(website);
  return url.protocol === 'https:' ? url.origin : `mailto:webpush@${url.hostname}`;
}

/** The message as it leaves now: TTL is what is left of the notification's, not its whole. */
export const toWebPushNotification = (n: Notification, now: number): WebPushNotification => ({
  id: n.id,
  title: n.title,
  body: n.body,
  targetUrl: n.targetUrl,
  iconUrl: n.iconUrl,
  badgeUrl: n.badgeUrl,
  imageUrl: n.imageUrl,
  requireInteraction: n.requireInteraction,
  silent: n.silent,
  customData: n.customData,
  actions: n.actions,
  ttl: Math.max(0, Math.floor((expiresAt(n) - now) / 1000)),
  urgent: n.urgent,
  topic: n.topic,
});

/**
 * Sends one chunk. Final outcomes go to the ledger as they come; recipients to retry (429, 5xx,
 * timeouts) are sent again by the same job, moved to the delayed set without consuming an
 * attempt, and the ledger makes that run (or any re-run after a crash) skip everyone already done.
 */
export function makeSendWebChunkProcessor(deps: SendWebChunkDeps) {
  const now = deps.now ?? Date.now;
  return async (data: ParsedJobData<'send-web-chunk'>, job: Job, token: string | undefined): Promise<void> => {
    const { notificationId, chunkIndex } = data;
    const log = deps.logger.child({ notificationId, chunkIndex, jobId: job.id });
    const n = await findNotification(deps.db, notificationId);
    const chunk = n ? await findChunk(deps.db, notificationId, chunkIndex) : null;
    if (!n || !chunk || chunk.status !== 'pending' || n.status === 'cancelled') return;
    const project = await findProject(deps.db, n.projectId);
    const sender = project ? await findSender(deps.db, project.senderId) : null;
    if (!project || !sender) return;

    const expiry = expiresAt(n);
    const ledgerTtl = (expiry - now()) / 1000 + LEDGER_GRACE_S;
    const done = await deps.ledger.finalIds(notificationId, chunkIndex);
    const recipients = await loadWebRecipients(deps.db, notificationAudience(n), chunk);
    const todo = recipients.filter((r) => !done.has(r.id));

    // Everything this run recorded, so that it can be written again before counting: if Redis lost
    // the ledger while the chunk ran (restarted empty), the counts still cover every recipient.
    const recorded: (readonly [number, LedgerOutcome])[] = [];
    const record = (entries: (readonly [number, LedgerOutcome])[]) => {
      recorded.push(...entries);
      return deps.ledger.record(notificationId, chunkIndex, entries, ledgerTtl);
    };

    if (todo.length > 0 && now() >= expiry) {
      await record(todo.map((r) => [r.id, { kind: 'expired' }] as const));
    } else if (todo.length > 0) {
      const message = toWebPushNotification(n, now());
      const vapid = { publicKeyPem: sender.vapidPublicKey, privateKeyPem: sender.vapidPrivateKey, subject: vapidSubject(project.website) };
      const retry: number[] = [];
      let notBefore = 0;
      // Slices, so that a cancel stops a running chunk within one slice.
      for (let start = 0; start < todo.length; start += SLICE) {
        if (start > 0 && (await notificationStatus(deps.db, notificationId)) === 'cancelled') {
          await saveCancelledChunkStats(deps.db, notificationId, chunkIndex, await deps.ledger.chunkStats(notificationId, chunkIndex));
          log.info('cancelled during the chunk');
          return;
        }
        const slice = todo.slice(start, start + SLICE);
        const outcomes = await deps.webPush.send(
          slice.map((r) => ({ subscriptionId: r.id, endpoint: r.endpoint, p256dh: r.p256dh, auth: r.auth })),
          message,
          vapid,
        );
        const final: (readonly [number, LedgerOutcome])[] = [];
        const gone: number[] = [];
        outcomes.forEach((o, i) => {
          const id = slice[i]!.id;
          if (o.kind === 'delivered') final.push([id, { kind: 'delivered' }]);
          else if (o.kind === 'gone') {
            final.push([id, { kind: 'pruned' }]);
            gone.push(id);
          } else if (o.kind === 'failed') final.push([id, { kind: 'failed', reason: o.reason }]);
          else {
            retry.push(id);
            notBefore = Math.max(notBefore, o.notBefore);
          }
        });
        // The ledger first: if the process dies right after, the re-run skips these recipients.
        await record(final);
        await deleteSubscriptionsByIds(deps.db, n.projectId, gone);
      }

      if (retry.length > 0) {
        const round = data.round + 1;
        const at = Math.max(now() + retryDelayMs(round), notBefore);
        if (at < expiry && round <= MAX_RETRY_ROUNDS) {
          log.debug({ retry: retry.length, round, at }, 'retrying part of the chunk later');
          await job.updateData({ ...data, round });
          await job.moveToDelayed(at, token);
          throw new DelayedError();
        }
        const outcome: LedgerOutcome = at >= expiry ? { kind: 'expired' } : { kind: 'failed', reason: 'retries_exhausted' };
        await record(retry.map((id) => [id, outcome] as const));
      }
    }

    await deps.ledger.record(notificationId, chunkIndex, recorded, ledgerTtl);
    const stats = await deps.ledger.chunkStats(notificationId, chunkIndex);
    if (outcomeCount(stats) < recipients.length) {
      // Redis lost outcomes this run did not record itself (emptied while another run of the chunk
      // had recorded them): run the chunk again rather than count too few. Those recipients may
      // receive the message twice; a count that is wrong forever is worse.
      throw new Error(`chunk ${notificationId}/${chunkIndex}: the ledger lost outcomes; the chunk runs again`);
    }
    if (await completeChunk(deps.db, notificationId, chunkIndex, stats)) {
      await deps.ledger.forgetChunk(notificationId, chunkIndex);
      log.debug({ stats }, 'chunk done');
    }
  };
}
