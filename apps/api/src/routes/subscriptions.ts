import { notFound, parseTagFilter, tagFilterError, validationError, type Platform, type Principal } from '@pushcast/domain';
import {
  countSubscriptions,
  deleteSubscription,
  findProject,
  findSubscription,
  listSubscriptions,
  updateSubscription,
  upsertDeviceSubscription,
  upsertWebSubscription,
  type AudienceFilter,
} from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { apnsToken, authSecret, fcmToken, idParam, p256dh, pageQuery, pushEndpoint, tagList, uid } from '../schemas.ts';
import { subscriptionJson } from '../serializers.ts';
import { parseInput } from '../validation.ts';

const projectParams = z.object({ projectId: idParam });
const itemParams = z.object({ projectId: idParam, id: idParam });

const MAX_FILTER_ENTRIES = 1000;
const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().max(4096)).max(MAX_FILTER_ENTRIES));

// Filters arrive as `uids[]=a&uids[]=b` from the official clients; a bare `uids=a` or `tags=<expr>`
// (the Ruby client) means the same.
const platform = z.enum(['web', 'apns', 'fcm']);

const listQuery = z.object({
  ...pageQuery,
  platform: platform.optional(),
  'uids[]': stringList.optional(),
  uids: stringList.optional(),
  'tags[]': stringList.optional(),
  tags: stringList.optional(),
});

const updateBody = z.strictObject({ uid: uid.nullable().optional(), tags: tagList.optional() });

// A subscription body is a browser's (Pushpad's fields; `platform` absent or "web") or a device's
// (`platform` "apns" or "fcm" with a `token`). The platform is read first, so that a field of the
// other kind is refused by name instead of as an unknown field.
const platformOf = z.object({ platform: platform.optional() });
const WEB_FIELDS = ['endpoint', 'p256dh', 'auth'] as const;
const deviceBodies = {
  apns: z.strictObject({ platform: z.literal('apns'), token: apnsToken, uid: uid.nullable().optional(), tags: tagList.optional() }),
  fcm: z.strictObject({ platform: z.literal('fcm'), token: fcmToken, uid: uid.nullable().optional(), tags: tagList.optional() }),
};

function refuseOtherPlatformFields(body: unknown, p: Platform): void {
  if (body === null || typeof body !== 'object') return;
  const has = (field: string) => Object.hasOwn(body, field);
  if (p === 'web') {
    if (has('token')) throw validationError('token', 'not_allowed_for_platform', 'is only for platform apns or fcm (a web subscription has endpoint, p256dh and auth)');
    return;
  }
  const field = WEB_FIELDS.find(has);
  if (field) throw validationError(field, 'not_allowed_for_platform', `is not allowed for platform ${p} (a device subscription has a token)`);
}

export async function subscriptionRoutes(app: FastifyInstance, { db, config }: ApiDeps): Promise<void> {
  const webBody = z.strictObject({
    platform: z.literal('web').optional(),
    endpoint: pushEndpoint(config.allowedPushHosts),
    p256dh,
    auth: authSecret,
    uid: uid.nullable().optional(),
    tags: tagList.optional(),
  });

  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(projectParams, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  function audience(projectId: number, rawQuery: unknown) {
    const q = parseInput(listQuery, rawQuery, 'query');
    const uids = q['uids[]'] ?? q.uids;
    const tagEntries = q['tags[]'] ?? q.tags;
    let tags = null;
    if (tagEntries !== undefined) {
      const parsed = parseTagFilter(tagEntries);
      if (!parsed.ok) throw tagFilterError(parsed.error, 'tags');
      tags = parsed.value;
    }
    const filter: AudienceFilter = { projectId, uids, tags, platform: q.platform };
    return { filter, page: { page: q.page, perPage: q.per_page } };
  }

  app.post('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const p = parseInput(platformOf, request.body, 'body').platform ?? 'web';
    refuseOtherPlatformFields(request.body, p);
    if (p !== 'web') {
      const device = parseInput(deviceBodies[p], request.body, 'body');
      const subscription = await upsertDeviceSubscription(db, {
        projectId,
        platform: p,
        token: device.token,
        uid: device.uid ?? null,
        tags: device.tags ?? [],
      });
      return reply.code(201).send(subscriptionJson(subscription));
    }
    const body = parseInput(webBody, request.body, 'body');
    const subscription = await upsertWebSubscription(db, {
      projectId,
      endpoint: body.endpoint,
      p256dh: body.p256dh,
      auth: body.auth,
      uid: body.uid ?? null,
      tags: body.tags ?? [],
    });
    return reply.code(201).send(subscriptionJson(subscription));
  });

  // Declared before GET so that HEAD only counts instead of also loading a page.
  app.head('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter } = audience(projectId, request.query);
    return reply.header('x-total-count', String(await countSubscriptions(db, filter))).send();
  });

  app.get('/projects/:projectId/subscriptions', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter, page } = audience(projectId, request.query);
    const [items, total] = await Promise.all([listSubscriptions(db, filter, page), countSubscriptions(db, filter)]);
    return reply.header('x-total-count', String(total)).send(items.map(subscriptionJson));
  });

  app.get('/projects/:projectId/subscriptions/:id', async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const subscription = await findSubscription(db, projectId, id);
    if (!subscription) throw notFound(`subscription ${id}`);
    return subscriptionJson(subscription);
  });

  app.patch('/projects/:projectId/subscriptions/:id', async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    const body = parseInput(updateBody, request.body, 'body');
    const subscription = await updateSubscription(db, projectId, id, { uid: body.uid, tags: body.tags });
    if (!subscription) throw notFound(`subscription ${id}`);
    return subscriptionJson(subscription);
  });

  app.delete('/projects/:projectId/subscriptions/:id', async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { id } = parseInput(itemParams, request.params, 'params');
    if (!(await deleteSubscription(db, projectId, id))) throw notFound(`subscription ${id}`);
    return reply.code(204).send();
  });
}
