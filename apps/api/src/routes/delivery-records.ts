import { deliveriesQuery, failuresQuery, idParam, notificationRecords, parseInput } from '@pushcast/core';
import { notFound, PushcastError, type Notification, type Principal } from '@pushcast/domain';
import { findNotification, findProject } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { deliveriesAnswer, failuresAnswer } from '../answers.ts';
import { AUTHENTICATED, errors, json } from '../openapi/route-schemas.ts';
import { deliveryRecordJson } from '../serializers.ts';

const params = z.object({ id: idParam });

const tags = ['Notifications'];
const schemas = {
  failures: {
    tags,
    operationId: 'listNotificationFailures',
    summary: 'Who did not get a notification',
    description:
      'Every recipient that was pruned, failed, expired or expired while a quota held it, with the provider\'s status and reason, in subscription order; ' +
      'kept `DELIVERY_RECORD_RETENTION_DAYS` days. Page with `next_cursor`.',
    params,
    querystring: failuresQuery,
    response: { 200: json('A page of failures', failuresAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  deliveries: {
    tags,
    operationId: 'listNotificationDeliveries',
    summary: 'Every recorded outcome of a notification',
    description:
      'Failures, and each delivery where the project sets `record_deliveries: "all"`: `?uid=` answers whether that user got it. Page with `next_cursor`.',
    params,
    querystring: deliveriesQuery,
    response: { 200: json('A page of records', deliveriesAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

/**
 * What became of each recipient of a notification: `failures` lists those who did not get it
 * (pruned, failed, expired, quota_expired) with the provider's status and reason; `deliveries`
 * lists every record kept, successes included where the project sets `record_deliveries: "all"`.
 * Both page by an opaque cursor (`next_cursor`).
 */
export async function deliveryRecordRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  async function loadNotification(principal: Principal, raw: unknown): Promise<Notification> {
    const { id } = parseInput(params, raw, 'params');
    const n = await findNotification(db, id);
    // As for GET /notifications/:id: outside its scope, a token learns nothing (403 either way).
    if (!n && principal.kind !== 'admin') {
      throw new PushcastError('forbidden', `this token has no access to notification ${id}`, { rule: 'project_scope' });
    }
    if (!n) throw notFound(`notification ${id}`);
    requireProject(principal, n.projectId);
    return n;
  }

  app.get('/notifications/:id/failures', { schema: schemas.failures }, async (request) => {
    const n = await loadNotification(request.principal, request.params);
    const q = parseInput(failuresQuery, request.query, 'query');
    const page = await notificationRecords(db, n, 'failures', q);
    return { data: page.records.map(deliveryRecordJson), next_cursor: page.nextCursor };
  });

  app.get('/notifications/:id/deliveries', { schema: schemas.deliveries }, async (request) => {
    const n = await loadNotification(request.principal, request.params);
    const q = parseInput(deliveriesQuery, request.query, 'query');
    const [page, project] = await Promise.all([notificationRecords(db, n, 'deliveries', q), findProject(db, n.projectId)]);
    return {
      data: page.records.map(deliveryRecordJson),
      next_cursor: page.nextCursor,
      // What the project records now: with `failures`, a delivered recipient has no record.
      record_deliveries: project?.recordDeliveries ?? null,
    };
  });
}
