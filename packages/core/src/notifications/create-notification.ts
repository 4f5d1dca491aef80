import { exactPayloadPlatforms, type Project } from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import {
  emitWebhookEvent,
  estimateAudience,
  estimateAudienceOver,
  insertNotification,
  insertNotificationCountingAudience,
  insertNotificationEmittingCreated,
  subscribedUids,
  type NewNotification,
} from '@pushcast/store';
import type { CoreDeps } from '../deps.ts';
import { holdQuotaAtCreate, holdsQuotaAtCreate } from '../quota/quota-at-create.ts';
import type { NotificationDraft } from './content-input.ts';
import { claimFor, createOnce, findReplay, type KeyedRequest, type StoredAnswer } from './idempotency.ts';

/** Above this, `scheduled` in the create answer is PostgreSQL's estimate (Pushpad: "estimated reach"). */
export const EXACT_AUDIENCE_UP_TO = 100_000;

/** What was created, for the dialect to shape its answer from. */
export interface CreatedNotification {
  readonly id: number;
  /** Recipients now (estimated above EXACT_AUDIENCE_UP_TO); 0 when scheduled (counted when it is planned). */
  readonly scheduled: number;
  /** Of the uids asked for, those with a subscription; null when no uids were given or when scheduled. */
  readonly uids: readonly string[] | null;
  readonly sendAt: Date | null;
  /** Whether every delivery is recorded too (the draft's recordAllUpTo held): its outcomes can be waited for. */
  readonly recordsAll: boolean;
}

export interface CreateNotificationRequest {
  readonly project: Project;
  /** The request as fingerprinted for idempotency: a key (or null), with the route's method and path. */
  readonly keyed: KeyedRequest;
  readonly route: { readonly method: string; readonly path: string };
  /** Parsed after the replay check, so that a repeat answers as the first did. */
  readonly draft: () => NotificationDraft;
  /** The dialect's answer; stored with the key, so that a repeat gets it byte for byte. */
  readonly answer: (created: CreatedNotification) => StoredAnswer;
  /** Refuses (before anything is stored) an audience larger than `count`: a send that will be waited for. */
  readonly maxAudience?: { readonly count: number; readonly error: (audience: number) => Error };
}

export type CreateNotificationResult = StoredAnswer & { readonly replayed: boolean; readonly notificationId: number | null };

/**
 * Creates a notification: the idempotency key claimed, the audience counted, the `reject` quota
 * held, the row inserted (all in one transaction), then its plan job enqueued. PostgreSQL has it
 * once this returns; if Redis is away the reconciler enqueues it later, so it is still created.
 */
export async function createNotification(deps: CoreDeps, request: CreateNotificationRequest): Promise<CreateNotificationResult> {
  const { db, queues } = deps;
  const { project } = request;
  const claim = claimFor(project.id, request.route.method, request.route.path, request.keyed);
  const replay = claim && (await findReplay(db, claim));
  if (replay) return { replayed: true, notificationId: null, ...replay };

  const draft = request.draft();
  // Exact payloads (a Beams publish) go only to the platforms they are for.
  const platforms = draft.content.payloads ? exactPayloadPlatforms(draft.content.payloads) : undefined;
  const filter = {
    projectId: project.id,
    uids: draft.uids ?? undefined,
    tags: draft.tags,
    platforms,
    emails: draft.emails ?? undefined,
    ids: draft.subscriptionIds ?? undefined,
  };
  const rowFor = (scheduledCount: number, recordAll: boolean): NewNotification => ({
    ...draft.content,
    projectId: project.id,
    targetUids: draft.uids ?? null,
    targetTags: draft.tagExpressions,
    sendAt: draft.sendAt,
    scheduledCount,
    throttleRatePerMinute: draft.throttleRatePerMinute,
    externalId: draft.externalId ?? null,
    targetEmails: draft.emails ?? null,
    targetSubscriptionIds: draft.subscriptionIds ?? null,
    recordDeliveries: recordAll ? 'all' : null,
  });
  /** After the commit: the plan job (the reconciler enqueues it if Redis is away). */
  const planned = async (id: number, scheduled: number, answer: StoredAnswer): Promise<CreateNotificationResult> => {
    const log = deps.logger.child({ notificationId: id, projectId: project.id });
    await queues
      .enqueue('plan-notification', { notificationId: id }, {
        jobId: jobIds.planNotification(id),
        delay: draft.sendAt ? Math.max(0, draft.sendAt.getTime() - Date.now()) : 0,
      })
      .catch((err: unknown) => log.warn({ err }, 'plan job not enqueued; the reconciler will'));
    log.info({ scheduled, sendAt: draft.sendAt }, 'notification created');
    return { replayed: false, notificationId: id, status: answer.status, body: answer.body };
  };

  // Nothing needed between the count and the insert (no idempotency key, no schedule, no uids to
  // answer with, no audience cap, no recording decision, no quota hold): the count, the insert and
  // its event in one statement, one round trip. Above EXACT_AUDIENCE_UP_TO it inserts nothing and
  // the create goes on below with the estimate, as before.
  let counted: number | null = null;
  if (
    claim === null &&
    !draft.sendAt &&
    !draft.uids &&
    request.maxAudience === undefined &&
    draft.recordAllUpTo === undefined &&
    !holdsQuotaAtCreate(deps, project)
  ) {
    const one = await insertNotificationCountingAudience(db, rowFor(0, false), filter, EXACT_AUDIENCE_UP_TO);
    if (one.id !== null) {
      return planned(one.id, one.counted, request.answer({ id: one.id, scheduled: one.counted, uids: null, sendAt: null, recordsAll: false }));
    }
    counted = one.counted;
  }

  const [audience, uids] = draft.sendAt
    ? [{ count: 0, exact: false }, null]
    : await Promise.all([
        counted !== null ? estimateAudienceOver(db, filter, counted) : estimateAudience(db, filter, EXACT_AUDIENCE_UP_TO),
        draft.uids ? subscribedUids(db, { ...filter, uids: draft.uids }) : Promise.resolve(null),
      ]);
  if (request.maxAudience !== undefined && !draft.sendAt && audience.count > request.maxAudience.count) throw request.maxAudience.error(audience.count);
  const recordAll = draft.recordAllUpTo !== undefined && !draft.sendAt && audience.count <= draft.recordAllUpTo;
  const reach = project.quota.policy === 'reject' && draft.sendAt ? (await estimateAudience(db, filter, EXACT_AUDIENCE_UP_TO)).count : audience.count;

  const row = rowFor(audience.count, recordAll);
  const answerFor = (id: number) => ({ notificationId: id, ...request.answer({ id, scheduled: audience.count, uids, sendAt: draft.sendAt, recordsAll: recordAll }) });

  let holding: number | null = null;
  const created =
    claim === null && !holdsQuotaAtCreate(deps, project)
      ? // Nothing to do between the insert and the commit (no idempotency key, no quota hold):
        // the notification and its event in one statement, one round trip instead of four.
        { replayed: false as const, ...answerFor((await insertNotificationEmittingCreated(db, row)).id) }
      : await createOnce(db, claim, async (q) => {
          const { id } = await insertNotification(q, row);
          if (await holdQuotaAtCreate(deps, project, id, reach, draft.sendAt, Date.now())) holding = id;
          // In the notification's transaction: the event exists exactly when the notification does.
          await emitWebhookEvent(
            q,
            project.id,
            'notification.created',
            { notification_id: id, project_id: project.id, scheduled: audience.count, send_at: draft.sendAt?.toISOString() ?? null },
            `notification.created:${id}`,
          );
          return answerFor(id);
        }).catch(async (err: unknown) => {
          // Held, then the transaction did not commit: the hold must not outlive the notification.
          if (holding !== null) await deps.quota.releaseHold(project.id, holding);
          throw err;
        });
  if (created.replayed) return { replayed: true, notificationId: null, status: created.status, body: created.body };

  return planned(created.notificationId, audience.count, created);
}
