import {
  awaitOutcomes,
  cancelNotification,
  MAX_WAITED_AUDIENCE,
  waitQuery,
  waitRefused,
  createNotification,
  flatNotificationBody,
  IDEMPOTENCY_FIELD,
  idParam,
  liveStats,
  notificationDraft,
  pageQuery,
  parseInput,
  wrappedNotificationBody,
} from '@pushcast/core';
import { notFound, PushcastError, type Notification, type Principal } from '@pushcast/domain';
import { customMetricStats, findNotification, findProject, listNotifications, openedCountsByCustomMetric } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { createdNotificationAnswer, customMetricAnswer, notificationAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY, withHeaders } from '../openapi/route-schemas.ts';
import { notificationJson, recipientResultJson } from '../serializers.ts';
import { IDEMPOTENCY_HEADER, idempotencyKey, REPLAYED_HEADER, sendReplay, takeIdempotencyKey } from './idempotency-key.ts';

const projectParams = z.object({ projectId: idParam });
const params = z.object({ id: idParam });
const listQuery = z.object(pageQuery);

/**
 * Pushpad's create body, flat or wrapped, as parseNotificationBody reads it (after the idempotency
 * key is taken out of it): the wrapped body's `notification` holds the flat body's content.
 */
const keyField = { [IDEMPOTENCY_FIELD]: idempotencyKey.nullable().optional().describe(`Or the ${IDEMPOTENCY_HEADER} header`) };
const createBody = z.union([
  flatNotificationBody.extend(keyField),
  wrappedNotificationBody.extend({ notification: flatNotificationBody.omit({ uids: true, tags: true }), ...keyField }),
]);

const tags = ['Notifications'];
const schemas = {
  create: {
    tags,
    operationId: 'createNotification',
    summary: 'Create a notification',
    description:
      'Sends to every subscription of the project, or to those of `uids` and/or matching `tags` (expressions, OR-ed); ' +
      'scheduled with `send_at`. With an idempotency key, a repeat within 24 hours answers the first answer again ' +
      `(with \`${REPLAYED_HEADER}: true\`). A \`reject\` quota policy refuses what the day has no room for (429 \`quota_exceeded\`). ` +
      `With \`?wait=N\` (at most ${MAX_WAITED_AUDIENCE} recipients, sent now) it answers once every recipient has an outcome, or after N seconds, ` +
      'with `completed` and per-recipient `results`.',
    params: projectParams,
    querystring: waitQuery,
    headers: z.object({ [IDEMPOTENCY_HEADER.toLowerCase()]: idempotencyKey.optional() }),
    body: createBody,
    response: {
      201: withHeaders('Created: `{id, scheduled, uids}`, or `{id, send_at}` when scheduled', createdNotificationAnswer, {
        [REPLAYED_HEADER]: { type: 'string', enum: ['true'], description: 'The first answer to this idempotency key, again' },
      }),
      ...errors(...AUTHENTICATED, ...WITH_BODY, 404),
    },
  },
  list: {
    tags,
    operationId: 'listNotifications',
    summary: "List a project's notifications",
    description: 'Newest first, with live statistics.',
    params: projectParams,
    querystring: listQuery,
    response: { 200: json('A page of notifications', z.array(notificationAnswer)), ...errors(...AUTHENTICATED, 404, 422) },
  },
  customMetrics: {
    tags,
    operationId: 'listCustomMetrics',
    summary: 'Statistics per custom metric',
    params: projectParams,
    response: { 200: json('One entry per custom metric', z.array(customMetricAnswer)), ...errors(...AUTHENTICATED, 404, 422) },
  },
  get: {
    tags,
    operationId: 'getNotification',
    summary: 'Get a notification',
    description: 'With live statistics, in all and per platform.',
    params,
    response: { 200: json('The notification', notificationAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  cancel: {
    tags,
    operationId: 'cancelNotification',
    summary: 'Cancel a notification',
    description: 'Before `send_at` nothing is sent; during a broadcast the rest is not. 409 `already_sent` once sent.',
    params,
    response: { 204: empty('Cancelled'), ...errors(...AUTHENTICATED, 404, 409, 422) },
  },
};

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

  app.post('/projects/:projectId/notifications', { schema: schemas.create }, async (request, reply) => {
    const project = await loadProject(request.principal, request.params);
    const { wait } = parseInput(waitQuery, request.query, 'query');
    const keyed = takeIdempotencyKey(request.headers, request.body);
    const result = await createNotification(deps, {
      project,
      keyed,
      route: { method: 'POST', path: `/projects/${project.id}/notifications` },
      draft: () => {
        const draft = notificationDraft(keyed.body, project, Date.now());
        if (wait === undefined) return draft;
        if (draft.sendAt) throw waitRefused(null);
        // Every delivery recorded too, so that the answer can list each recipient.
        return { ...draft, recordAllUpTo: MAX_WAITED_AUDIENCE };
      },
      ...(wait === undefined ? {} : { maxAudience: { count: MAX_WAITED_AUDIENCE, error: waitRefused } }),
      answer: ({ id, scheduled, uids, sendAt }) => ({
        status: 201,
        body: sendAt ? { id, send_at: sendAt.toISOString() } : { id, scheduled, ...(uids ? { uids } : {}) },
      }),
    });
    const created = result.body as { id: number; scheduled?: number };
    // A repeat of a waited-for create waits again (for outcomes that may have come since).
    if (wait !== undefined && created.scheduled !== undefined) {
      const awaited = await awaitOutcomes(deps, created.id, wait * 1000);
      const body = { ...created, completed: awaited.done, results: awaited.records.map(recipientResultJson) };
      if (result.replayed) return sendReplay(reply, { status: result.status, body });
      return reply.code(result.status).send(body);
    }
    if (result.replayed) return sendReplay(reply, result);
    return reply.code(result.status).send(result.body);
  });

  app.get('/projects/:projectId/notifications', { schema: schemas.list }, async (request) => {
    const project = await loadProject(request.principal, request.params);
    const q = parseInput(schemas.list.querystring, request.query, 'query');
    const items = await listNotifications(db, project.id, { page: q.page, perPage: q.per_page });
    return Promise.all(items.map(async (n) => notificationJson(n, await liveStats(db, ledger, n))));
  });

  // Pushpad aggregates statistics per custom metric in its dashboard; Pushcast serves them here.
  app.get('/projects/:projectId/custom_metrics', { schema: schemas.customMetrics }, async (request) => {
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

  app.get('/notifications/:id', { schema: schemas.get }, async (request) => {
    const n = await loadNotification(request.principal, request.params);
    return notificationJson(n, await liveStats(db, ledger, n));
  });

  app.delete('/notifications/:id/cancel', { schema: schemas.cancel }, async (request, reply) => {
    await cancelNotification(deps, await loadNotification(request.principal, request.params));
    return reply.code(204).send();
  });
}
