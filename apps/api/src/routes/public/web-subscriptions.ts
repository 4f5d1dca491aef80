import { timingSafeEqual } from 'node:crypto';
import {
  browserMaySetTag,
  browserVisibleTags,
  decodeBase64Any,
  mergeBrowserTags,
  notFound,
  PushcastError,
  validationError,
  verifyUidSignature,
  type Project,
  type Subscription,
} from '@pushcast/domain';
import {
  deleteSubscription,
  findProject,
  findWebSubscriptionByEndpoint,
  inTransaction,
  insertBrowserSubscription,
  listUidSigningStates,
  updateSubscription,
  type Queryable,
} from '@pushcast/store';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../../deps.ts';
import { MAX_TAGS, authSecret, idParam, p256dh, pushEndpoint, tagList, uid } from '../../schemas.ts';
import { parseInput } from '../../validation.ts';
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
const patchBody = z.strictObject({ ...proofFields, uid: uid.nullable().optional(), uid_signature: uidSignature, tags: tagList.optional() });

interface Changes {
  /** undefined = keep, null = clear. */
  readonly uid: string | null | undefined;
  /** undefined = keep; else the browser-settable tags, replacing the ones the browser may set. */
  readonly tags: readonly string[] | undefined;
}

export async function webSubscriptionRoutes(app: FastifyInstance, { db, config }: ApiDeps): Promise<void> {
  const subscribeBody = z.strictObject({
    endpoint: pushEndpoint(config.allowedPushHosts),
    expirationTime,
    keys: z.strictObject({ p256dh, auth: authSecret }),
    uid: uid.nullable().optional(),
    uid_signature: uidSignature,
    tags: tagList.optional(),
  });

  async function loadProject(request: FastifyRequest, reply: FastifyReply): Promise<Project> {
    const { projectId } = parseInput(projectParams, request.params, 'params');
    const project = await findProject(db, projectId);
    if (!project) throw notFound(`project ${projectId}`);
    requireAllowedOrigin(request, reply, project);
    return project;
  }

  /** The uid to store: undefined and null pass as they are; a uid must carry a valid signature. */
  async function checkUid(projectId: number, given: string | null | undefined, signature: string | null | undefined) {
    if (given == null) {
      if (signature != null) throw validationError('uid_signature', 'uid_required', 'is given without a uid');
      return given;
    }
    if (signature == null) {
      throw new PushcastError('bad_request', 'uid_signature: is required with a uid (signature_for(uid): hex HMAC-SHA256 of the uid keyed with a project token)', {
        field: 'uid_signature',
        rule: 'required',
      });
    }
    if (!/^[0-9a-fA-F]{64}$/.test(signature)) {
      throw validationError('uid_signature', 'hmac_sha256_hex', 'must be 64 hex digits: HMAC-SHA256 of the uid keyed with a project token');
    }
    const states = await listUidSigningStates(db, projectId);
    if (!states.some((state) => verifyUidSignature(state, given, signature))) {
      throw new PushcastError('forbidden', `uid_signature: is not signature_for(uid) under any access token of project ${projectId}`, {
        field: 'uid_signature',
        rule: 'uid_signature',
      });
    }
    return given;
  }

  function checkTags(project: Project, tags: readonly string[] | undefined): void {
    tags?.forEach((tag, i) => {
      if (!browserMaySetTag(project.browserTagsAllowed, tag)) {
        throw validationError(`tags.${i}`, 'tag_not_allowed', `${tag} is not a tag browsers may set in project ${project.id} (browser_tags_allowed)`);
      }
    });
  }

  async function changesOf(project: Project, body: { uid?: string | null; uid_signature?: string | null; tags?: string[] }): Promise<Changes> {
    const changed = { uid: await checkUid(project.id, body.uid, body.uid_signature), tags: body.tags };
    checkTags(project, changed.tags);
    return changed;
  }

  const json = (project: Project, s: Subscription) => ({
    id: s.id,
    project_id: s.projectId,
    uid: s.uid,
    // Only the tags a browser may set: the others belong to the site's server.
    tags: browserVisibleTags(project.browserTagsAllowed, s.tags),
    created_at: s.createdAt.toISOString(),
  });

  async function apply(q: Queryable, project: Project, s: Subscription, changes: Changes): Promise<Subscription> {
    const tags = changes.tags === undefined ? undefined : mergeBrowserTags(project.browserTagsAllowed, s.tags, changes.tags);
    // The server's tags are kept beside the browser's: together they must still fit the limit.
    if (tags !== undefined && tags.length > MAX_TAGS) {
      throw validationError('tags', 'max_items', `with the tags the site's server set, this subscription would have ${tags.length} tags; the limit is ${MAX_TAGS}`);
    }
    return (await updateSubscription(q, project.id, s.id, { uid: changes.uid, tags }))!;
  }

  for (const path of PATHS) {
    app.options(path, async (request, reply) => {
      await loadProject(request, reply);
      return sendPreflight(request, reply, path.endsWith('/status') ? ['POST'] : ['POST', 'PATCH', 'DELETE']);
    });
  }

  app.post('/projects/:projectId/web_subscriptions', async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(subscribeBody, request.body, 'body');
    const changes = await changesOf(project, body);
    const { created, subscription } = await inTransaction(db, async (tx) => {
      let existing = await findWebSubscriptionByEndpoint(tx, project.id, body.endpoint, { forUpdate: true });
      if (!existing) {
        const inserted = await insertBrowserSubscription(tx, {
          projectId: project.id,
          endpoint: body.endpoint,
          p256dh: body.keys.p256dh,
          auth: body.keys.auth,
          uid: changes.uid ?? null,
          tags: changes.tags ?? [],
        });
        if (inserted) return { created: true, subscription: inserted };
        // A racing twin inserted it first (its commit released us): prove and update that one.
        existing = (await findWebSubscriptionByEndpoint(tx, project.id, body.endpoint, { forUpdate: true }))!;
      }
      proveHolder(existing, body.keys.auth);
      return { created: false, subscription: await apply(tx, project, existing, changes) };
    });
    return reply.code(created ? 201 : 200).send(json(project, subscription));
  });

  app.patch('/projects/:projectId/web_subscriptions', async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(patchBody, request.body, 'body');
    const changes = await changesOf(project, body);
    const subscription = await inTransaction(db, async (tx) => {
      const existing = await findWebSubscriptionByEndpoint(tx, project.id, body.endpoint, { forUpdate: true });
      if (!existing) throw notFound('a subscription with this endpoint');
      proveHolder(existing, body.keys.auth);
      return apply(tx, project, existing, changes);
    });
    return json(project, subscription);
  });

  app.delete('/projects/:projectId/web_subscriptions', async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(proofBody, request.body, 'body');
    const existing = await findWebSubscriptionByEndpoint(db, project.id, body.endpoint);
    if (existing) {
      proveHolder(existing, body.keys.auth);
      await deleteSubscription(db, project.id, existing.id);
    }
    return reply.code(204).send();
  });

  app.post('/projects/:projectId/web_subscriptions/status', async (request, reply) => {
    const project = await loadProject(request, reply);
    const body = parseInput(proofBody, request.body, 'body');
    const existing = await findWebSubscriptionByEndpoint(db, project.id, body.endpoint);
    if (!existing) return { subscribed: false };
    proveHolder(existing, body.keys.auth);
    return { subscribed: true, ...json(project, existing) };
  });
}

/** The auth secret given must be the stored one (compared as bytes: base64 and base64url are equal). */
function proveHolder(s: Subscription, auth: string): void {
  const stored = decodeBase64Any(s.auth ?? '');
  const given = decodeBase64Any(auth);
  if (!stored || !given || stored.length !== given.length || !timingSafeEqual(stored, given)) {
    throw new PushcastError('forbidden', 'keys.auth: is not the auth secret of the subscription with this endpoint', {
      field: 'keys.auth',
      rule: 'subscription_auth',
    });
  }
}
