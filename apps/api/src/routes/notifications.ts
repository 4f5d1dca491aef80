import { addStats, emptyStats, notFound, PushcastError, type Notification, type Platform, type Principal } from '@pushcast/domain';
import { jobIds, type Ledger } from '@pushcast/queues';
import {
  cancelNotification,
  completedChunkStats,
  customMetricStats,
  estimateAudience,
  findNotification,
  findProject,
  insertNotification,
  listNotifications,
  openedCountsByCustomMetric,
  openStats,
  subscribedUids,
  type Db,
} from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { idParam, pageQuery } from '../schemas.ts';
import { notificationJson, type LiveStats, type PlatformStats } from '../serializers.ts';
import { parseInput } from '../validation.ts';
import { claimFor, createOnce, findReplay, sendReplay, takeIdempotencyKey } from './idempotency.ts';
import { holdQuotaAtCreate } from './quota.ts';
import { checkPayloadSize, parseNotificationBody, parseSendAt, parseTargetTags, resolveContent } from './notification-input.ts';

/** Above this, `scheduled` in the create answer is PostgreSQL's estimate (Pushpad: "estimated reach"). */
export const EXACT_AUDIENCE_UP_TO = 100_000;

const projectParams = z.object({ projectId: idParam });
const params = z.object({ id: idParam });
const listQuery = z.object(pageQuery);

/** Finished chunks' counts from PostgreSQL plus the running chunks' from Redis, in all and per platform. */
export async function liveStats(db: Db, ledger: Ledger, n: Notification): Promise<LiveStats> {
  const [{ byPlatform, doneIndexes }, opens] = await Promise.all([completedChunkStats(db, n.id), openStats(db, n.id)]);
  const finished = n.status === 'sent' || n.status === 'cancelled';
  const live = finished ? null : await ledger.liveStats(n.id, doneIndexes);
  const platforms = {} as Record<Platform, PlatformStats>;
  let total = emptyStats();
  for (const p of ['web', 'apns', 'fcm'] as const) {
    const stats = live ? addStats(byPlatform[p].stats, live[p]) : byPlatform[p].stats;
    platforms[p] = { planned: byPlatform[p].planned, stats };
    total = addStats(total, stats);
  }
  return { total, platforms, opens };
}

export async function notificationRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, queues, ledger } = deps;
  async function loadProject(principal: Principal, raw: unknown) {
    const { projectId } = parseInput(projectParams, raw, 'params');
    requireProject(principal, projectId);
    const project = await findProject(db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    return project;
  }

  async function loadNotification(principal: Principal, raw: unknown): Promise<Notification> {
    const { id } = parseInput(params, raw, 'params');
    const n = await findNotification(db, id);
    // As for projects, a scoped token learns nothing outside its scope: a notification that does
    // not exist and another tenant's answer the same 403.
    if (!n && principal.kind !== 'admin') {
      throw new PushcastError('forbidden', `this token has no access to notification ${id}`, { rule: 'project_scope' });
    }
    if (!n) throw notFound(`notification ${id}`);
    requireProject(principal, n.projectId);
    return n;
  }

  app.post('/projects/:projectId/notifications', async (request, reply) => {
    const project = await loadProject(request.principal, request.params);
    const keyed = takeIdempotencyKey(request.headers, request.body);
    const claim = claimFor(project.id, 'POST', `/projects/${project.id}/notifications`, keyed);
    const replay = claim && (await findReplay(db, claim));
    if (replay) return sendReplay(reply, replay);
    const input = parseNotificationBody(keyed.body);
    const content = resolveContent(input, project);
    checkPayloadSize(content);
    const tags = parseTargetTags(input.tags);
    const sendAt = input.send_at ? parseSendAt(input.send_at, Date.now()) : null;
    const filter = { projectId: project.id, uids: input.uids ?? undefined, tags };

    const [audience, uids] = sendAt
      ? [{ count: 0, exact: false }, null]
      : await Promise.all([
          estimateAudience(db, filter, EXACT_AUDIENCE_UP_TO),
          input.uids ? subscribedUids(db, { ...filter, uids: input.uids }) : Promise.resolve(null),
        ]);
    const reach = project.quota.policy === 'reject' && sendAt ? (await estimateAudience(db, filter, EXACT_AUDIENCE_UP_TO)).count : audience.count;
    const toInsert = {
      ...content,
      projectId: project.id,
      targetUids: input.uids ?? null,
      targetTags: input.tags && input.tags.length > 0 ? input.tags : null,
      sendAt,
      scheduledCount: audience.count,
      throttleRatePerMinute: input.throttle_rate_per_minute ?? null,
    };
    // The key (if any) and the notification are written in one transaction; a racing twin replays.
    let holding: number | null = null;
    const created = await createOnce(db, claim, async (q) => {
      const { id } = await insertNotification(q, toInsert);
      if (await holdQuotaAtCreate(deps, project, id, reach, sendAt, Date.now())) holding = id;
      const body = sendAt ? { id, send_at: sendAt.toISOString() } : { id, scheduled: audience.count, ...(uids ? { uids } : {}) };
      return { notificationId: id, status: 201, body };
    }).catch(async (err: unknown) => {
      // Held, then the transaction did not commit: the hold must not outlive the notification.
      if (holding !== null) await deps.quota.releaseHold(project.id, holding);
      throw err;
    });
    if (created.replayed) return sendReplay(reply, created);
    const n = { id: created.notificationId };
    // PostgreSQL has it now; if Redis is away the reconciler enqueues it, so the answer is still 201.
    await queues
      .enqueue('plan-notification', { notificationId: n.id }, {
        jobId: jobIds.planNotification(n.id),
        delay: sendAt ? Math.max(0, sendAt.getTime() - Date.now()) : 0,
      })
      .catch((err: unknown) => request.log.warn({ err, notificationId: n.id }, 'plan job not enqueued; the reconciler will'));
    request.log.info({ notificationId: n.id, projectId: project.id, scheduled: audience.count, sendAt }, 'notification created');
    return reply.code(created.status).send(created.body);
  });

  app.get('/projects/:projectId/notifications', async (request) => {
    const project = await loadProject(request.principal, request.params);
    const q = parseInput(listQuery, request.query, 'query');
    const items = await listNotifications(db, project.id, { page: q.page, perPage: q.per_page });
    return Promise.all(items.map(async (n) => notificationJson(n, await liveStats(db, ledger, n))));
  });

  // Pushpad aggregates statistics per custom metric in its dashboard; Pushcast serves them here.
  app.get('/projects/:projectId/custom_metrics', async (request) => {
    const project = await loadProject(request.principal, request.params);
    const [metrics, opened] = await Promise.all([customMetricStats(db, project.id), openedCountsByCustomMetric(db, project.id)]);
    return metrics.map((m) => ({
      name: m.name,
      notifications_count: m.notifications,
      scheduled_count: m.scheduled,
      successfully_sent_count: m.delivered,
      opened_count: opened.get(m.name) ?? 0,
      pruned_count: m.pruned,
      expired_count: m.expired,
      failed_count: m.failed,
    }));
  });

  app.get('/notifications/:id', async (request) => {
    const n = await loadNotification(request.principal, request.params);
    return notificationJson(n, await liveStats(db, ledger, n));
  });

  app.delete('/notifications/:id/cancel', async (request, reply) => {
    const n = await loadNotification(request.principal, request.params);
    if (n.status === 'sent') {
      throw new PushcastError('conflict', `notification ${n.id} is already sent`, { rule: 'already_sent' });
    }
    await cancelNotification(db, n.id);
    await deps.quota.releaseHold(n.projectId, n.id);
    await queues.remove('plan', jobIds.planNotification(n.id)).catch(() => false);
    request.log.info({ notificationId: n.id }, 'notification cancelled');
    return reply.code(204).send();
  });
}
