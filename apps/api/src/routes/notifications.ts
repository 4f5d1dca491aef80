import { cancelNotification, createNotification, idParam, liveStats, notificationDraft, pageQuery, parseInput } from '@pushcast/core';
import { notFound, PushcastError, type Notification, type Principal } from '@pushcast/domain';
import { customMetricStats, findNotification, findProject, listNotifications, openedCountsByCustomMetric } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { notificationJson } from '../serializers.ts';
import { sendReplay, takeIdempotencyKey } from './idempotency-key.ts';

const projectParams = z.object({ projectId: idParam });
const params = z.object({ id: idParam });
const listQuery = z.object(pageQuery);

export async function notificationRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, ledger } = deps;
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
    const result = await createNotification(deps, {
      project,
      keyed,
      route: { method: 'POST', path: `/projects/${project.id}/notifications` },
      draft: () => notificationDraft(keyed.body, project, Date.now()),
      answer: ({ id, scheduled, uids, sendAt }) => ({
        status: 201,
        body: sendAt ? { id, send_at: sendAt.toISOString() } : { id, scheduled, ...(uids ? { uids } : {}) },
      }),
    });
    if (result.replayed) return sendReplay(reply, result);
    return reply.code(result.status).send(result.body);
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
    await cancelNotification(deps, await loadNotification(request.principal, request.params));
    return reply.code(204).send();
  });
}
