import { notFound, PushcastError, readOpenToken, validationError, OPEN_TOKEN_LENGTH, type Notification } from '@pushcast/domain';
import { findNotification, openTrackingKeySource, recordOpen } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { idParam, parseInput, parseJsonBody } from '@pushcast/core';
import { openAnswer } from '../../answers.ts';
import { empty, errors, json, PUBLIC } from '../../openapi/route-schemas.ts';

const params = z.object({ id: idParam });
const body = z.strictObject({
  token: z.string().max(OPEN_TOKEN_LENGTH * 2).describe("The `open_token` of the recipient's message"),
  action: z.string().max(200).nullable().optional().describe('The action clicked (its `action`, or its title), if any'),
});

const tags = ['Browser'];
const schemas = {
  preflight: {
    tags,
    operationId: 'openReportPreflight',
    summary: 'CORS preflight of an open report',
    security: PUBLIC,
    params,
    response: { 204: empty('Any origin may report'), ...errors() },
  },
  report: {
    tags,
    operationId: 'reportOpen',
    summary: 'Report a notification opened',
    description:
      "A service worker reports its notification clicked, or one of its actions, with its message's open token. " +
      'Each recipient counts once. The body may come as `text/plain` (no preflight).',
    security: PUBLIC,
    params,
    consumes: ['application/json', 'text/plain'],
    body,
    response: { 200: json('Reported', openAnswer), ...errors(403, 404, 415, 422, 429) },
  },
};

/** The key an action is counted under: its `action`, or its title when it has none (what the service worker reports). */
export function actionKeys(n: Notification): string[] {
  const web = n.overrides.web?.actions;
  return web ? web.map((a) => a.action ?? a.title) : n.actions.map((a) => a.action ?? a.title);
}

/**
 * `POST /notifications/:id/open {"token", "action"}`: a service worker reports that its notification
 * was opened (clicked, or one of its actions). The token in each message is bound to the notification
 * and the subscription, so only a recipient can report, and only for itself; each recipient counts
 * once however often it reports. Any origin may call it (the token is what is checked), and the body
 * may come as `text/plain` (the same JSON, checked as JSON bodies are), which spares the service
 * worker a CORS preflight.
 */
export async function openRoutes(app: FastifyInstance, { db, config }: ApiDeps): Promise<void> {
  const openKey = openTrackingKeySource(db, config.secretKeys);

  app.options('/notifications/:id/open', { schema: schemas.preflight }, async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-origin', '*')
      .header('access-control-allow-methods', 'POST')
      .header('access-control-allow-headers', 'Content-Type')
      .header('access-control-max-age', '600')
      .send(),
  );

  app.post('/notifications/:id/open', { schema: schemas.report }, async (request, reply) => {
    void reply.header('access-control-allow-origin', '*');
    const { id } = parseInput(schemas.report.params, request.params, 'params');
    const report = parseInput(schemas.report.body, typeof request.body === 'string' ? parseJsonBody(request.body) : request.body, 'body');
    const subscriptionId = readOpenToken(await openKey(), id, report.token);
    if (subscriptionId === null) {
      throw new PushcastError('forbidden', `token: is not an open token of notification ${id}`, { field: 'token', rule: 'open_token' });
    }
    const n = await findNotification(db, id);
    if (!n) throw notFound(`notification ${id}`);
    const action = report.action ?? null;
    if (action !== null && action !== '' && !actionKeys(n).includes(action)) {
      throw validationError('action', 'unknown_action', `is not an action of notification ${id}`);
    }
    const counted = await recordOpen(db, { notificationId: id, subscriptionId, action: action === '' ? null : action });
    return { counted };
  });
}
