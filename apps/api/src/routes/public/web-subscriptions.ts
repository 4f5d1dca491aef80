import {
  authSecret,
  browserChanges,
  browserSubscriptionStatus,
  idParam,
  p256dh,
  parseInput,
  pushEndpoint,
  subscribeBrowser,
  tagList,
  uid,
  userAgentOf,
  userEmail,
  unsubscribeBrowser,
  updateBrowserSubscription,
} from '@pushcast/core';
import { browserVisibleTags, notFound, type Project, type Subscription } from '@pushcast/domain';
import { findProject } from '@pushcast/store';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { browserSubscriptionAnswer, browserSubscriptionStatusAnswer, type BrowserSubscriptionAnswer } from '../../answers.ts';
import { empty, errors, json, PUBLIC, WITH_BODY } from '../../openapi/route-schemas.ts';
import { requireAllowedOrigin, sendPreflight } from './cors.ts';

/**
 * The browser's own endpoints, without an access token (the SDK calls them from the site's pages):
 *
 *   POST   /projects/:id/web_subscriptions         subscribe, or update the same endpoint (201 / 200)
 *   PATCH  /projects/:id/web_subscriptions         set uid and/or tags of an existing one (200, 404)
 *   DELETE /projects/:id/web_subscriptions         unsubscribe (204, also when already gone)
 *   POST   /projects/:id/web_subscriptions/status  is this browser subscribed, with which uid and tags
 *
 * A browser names its subscription by the endpoint and proves it holds it with the auth secret
 * (`keys.auth`, which only the browser and Pushcast know): nobody else can change or remove it. A uid
 * needs `uid_signature` (signature_for(uid) under a token of the project); tags are limited to the
 * project's `browser_tags_allowed`.
 */
const projectParams = z.object({ projectId: idParam });
const PATHS = ['/projects/:projectId/web_subscriptions', '/projects/:projectId/web_subscriptions/status'] as const;

/** `PushSubscription.toJSON()` carries `expirationTime`; it is accepted and not kept. */
const expirationTime = z.number().nullable().optional();
const uidSignature = z.string().max(256).nullable().optional();

/** The endpoint and its auth secret: what proves a browser holds an existing subscription. */
const proofFields = {
  endpoint: z.string().min(1).max(2048),
  expirationTime,
  keys: z.strictObject({ auth: authSecret, p256dh: z.string().max(256).optional() }),
};
const proofBody = z.strictObject(proofFields);
/** A user email, signed as a uid is (CloudSignal targets by it). */
const emailFields = { user_email: userEmail.nullable().optional(), user_email_signature: uidSignature };
const patchBody = z.strictObject({ ...proofFields, uid: uid.nullable().optional(), uid_signature: uidSignature, tags: tagList.optional(), ...emailFields });

const tags = ['Browser'];
/** From a page of the project's allowed origins (`Origin`), with the proof of holding the subscription. */
const browser = { tags, security: PUBLIC, params: projectParams };
const BROWSER_ERRORS = [403, 404, ...WITH_BODY, 429] as const;

function schemasOf(subscribeBody: z.ZodType) {
  return {
    preflight: (methods: string) => ({
      ...browser,
      operationId: methods === 'POST' ? 'subscriptionStatusPreflight' : 'webSubscriptionPreflight',
      summary: `CORS preflight (${methods})`,
      description: "Answered for pages of the project's allowed origins.",
      response: { 204: empty('Allowed'), ...errors(403, 404, 422) },
    }),
    subscribe: {
      ...browser,
      operationId: 'subscribeBrowser',
      summary: 'Subscribe this browser',
      description:
        '`PushSubscription.toJSON()`, with `uid` (and its `uid_signature`: signature_for(uid) under a token of the project), ' +
        '`user_email` (and its `user_email_signature`, the same way) and ' +
        "`tags` (within the project's `browser_tags_allowed`). The same endpoint again updates it.",
      body: subscribeBody,
      response: {
        200: json('Updated', browserSubscriptionAnswer),
        201: json('Subscribed', browserSubscriptionAnswer),
        ...errors(...BROWSER_ERRORS),
      },
    },
    update: {
      ...browser,
      operationId: 'updateBrowserSubscription',
      summary: "Set this browser's uid and tags",
      body: patchBody,
      response: { 200: json('Updated', browserSubscriptionAnswer), ...errors(...BROWSER_ERRORS) },
    },
    unsubscribe: {
      ...browser,
      operationId: 'unsubscribeBrowser',
      summary: 'Unsubscribe this browser',
      description: 'Also answered when the subscription is already gone.',
      body: proofBody,
      response: { 204: empty('Unsubscribed'), ...errors(...BROWSER_ERRORS) },
    },
    status: {
      ...browser,
      operationId: 'browserSubscriptionStatus',
      summary: 'Is this browser subscribed?',
      body: proofBody,
      response: { 200: json('`{subscribed: false}`, or the subscription', browserSubscriptionStatusAnswer), ...errors(...BROWSER_ERRORS) },
    },
  };
}

export async function webSubscriptionRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db, config } = deps;
  const subscribeBody = z.strictObject({
    endpoint: pushEndpoint(config.allowedPushHosts),
    expirationTime,
    keys: z.strictObject({ p256dh, auth: authSecret }),
    uid: uid.nullable().optional(),
    uid_signature: uidSignature,
    tags: tagList.optional(),
    ...emailFields,
  });
  const schemas = schemasOf(subscribeBody);

  async function loadProject(request: FastifyRequest, reply: FastifyReply): Promise<Project> {
    const { projectId } = parseInput(projectParams, request.params, 'params');
    const project = await findProject(db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    requireAllowedOrigin(request, reply, project);
    return project;
  }

  const answer = (project: Project, s: Subscription): BrowserSubscriptionAnswer => ({
    id: s.id,
    project_id: s.projectId,
    uid: s.uid,
    user_email: s.userEmail,
    // Only the tags a browser may set: the others belong to the site's server.
    tags: browserVisibleTags(project.browserTagsAllowed, s.tags),
    created_at: s.createdAt.toISOString(),
  });

  for (const path of PATHS) {
    const methods = path.endsWith('/status') ? ['POST'] : ['POST', 'PATCH', 'DELETE'];
    app.options(path, { schema: schemas.preflight(methods.join(', ')) }, async (request, reply) => {
      await loadProject(request, reply);
      return sendPreflight(request, reply, methods);
    });
  }

  app.post('/projects/:projectId/web_subscriptions', { schema: schemas.subscribe }, async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(subscribeBody, request.body, 'body');
    const { created, subscription } = await subscribeBrowser(deps, project, {
      endpoint: body.endpoint,
      p256dh: body.keys.p256dh,
      auth: body.keys.auth,
      // The subscribing browser's own: CloudSignal's device_info is read from it.
      userAgent: userAgentOf(request.headers['user-agent']),
      ...(await browserChanges(deps, project, body)),
    });
    return reply.code(created ? 201 : 200).send(answer(project, subscription));
  });

  app.patch('/projects/:projectId/web_subscriptions', { schema: schemas.update }, async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(schemas.update.body, request.body, 'body');
    const changes = await browserChanges(deps, project, body);
    return answer(project, await updateBrowserSubscription(deps, project, { endpoint: body.endpoint, auth: body.keys.auth }, changes));
  });

  app.delete('/projects/:projectId/web_subscriptions', { schema: schemas.unsubscribe }, async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(schemas.unsubscribe.body, request.body, 'body');
    await unsubscribeBrowser(deps, project, { endpoint: body.endpoint, auth: body.keys.auth });
    return reply.code(204).send();
  });

  app.post('/projects/:projectId/web_subscriptions/status', { schema: schemas.status }, async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(schemas.status.body, request.body, 'body');
    const existing = await browserSubscriptionStatus(deps, project, { endpoint: body.endpoint, auth: body.keys.auth });
    if (!existing) return { subscribed: false };
    return { subscribed: true, ...answer(project, existing) };
  });
}
