import {
  DEFAULT_RECORD_DELIVERIES,
  notFound,
  RECORD_DELIVERIES,
  PushcastError,
  validationError,
  type ApnsCredentials,
  type FcmCredentials,
  type Principal,
  type Project,
} from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import {
  deleteProjectCredentials,
  findProject,
  findSender,
  inTransaction,
  insertProject,
  listCredentialSummaries,
  listProjects,
  markProjectDeleted,
  saveProjectCredentials,
  updateProject,
  type Queryable,
} from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin, requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { allowedOriginList, apnsCredentialsInput, browserTagPatternList, fcmCredentialsInput, httpUrl, idParam, parseInput } from '@pushcast/core';
import { projectAnswer } from '../answers.ts';
import { AUTHENTICATED, empty, errors, json, WITH_BODY } from '../openapi/route-schemas.ts';
import { projectJson } from '../serializers.ts';

const params = z.object({ id: idParam });
const DEFAULT_TTL = 604_800; // Pushpad's default: one week
const MAX_TTL = 2_419_200; // four weeks, the longest push services keep a message

const settings = {
  name: z.string().trim().min(1).max(255),
  website: httpUrl,
  icon_url: httpUrl.nullable().optional(),
  badge_url: httpUrl.nullable().optional(),
  notifications_ttl: z.number().int().min(0).max(MAX_TTL).optional(),
  notifications_require_interaction: z.boolean().optional(),
  notifications_silent: z.boolean().optional(),
  // Pushcast's: provider credentials for APNs and FCM devices; null removes them.
  apns_credentials: apnsCredentialsInput.nullable().optional(),
  fcm_credentials: fcmCredentialsInput.nullable().optional(),
  // Pushcast's quotas: null = the deployment's default, 0 = unlimited. Set by admins only.
  quota_hourly: z.number().int().min(0).max(2_000_000_000).nullable().optional(),
  quota_daily: z.number().int().min(0).max(2_000_000_000).nullable().optional(),
  quota_policy: z.enum(['defer', 'reject']).optional(),
  // Pushcast's browser side: origins allowed to call the browser endpoints (null = the website's),
  // and the tags a browser may set on its own subscription.
  allowed_origins: allowedOriginList.nullable().optional(),
  browser_tags_allowed: browserTagPatternList.optional(),
  // Pushcast's delivery records: `all` also records each delivery (GET /notifications/:id/deliveries).
  record_deliveries: z.enum(RECORD_DELIVERIES).optional(),
};

const QUOTA_FIELDS = ['quota_hourly', 'quota_daily', 'quota_policy'] as const;

/** Credentials as a request gives them: undefined = leave alone, null = remove, a value = set (replace). */
interface CredentialChanges {
  readonly apns_credentials?: ApnsCredentials | null | undefined;
  readonly fcm_credentials?: FcmCredentials | null | undefined;
}
const createBody = z.strictObject({ sender_id: idParam, ...settings });
const updateBody = z.strictObject({
  sender_id: idParam.optional(),
  ...settings,
  name: settings.name.optional(),
  website: settings.website.optional(),
});

const tags = ['Projects'];
const schemas = {
  create: {
    tags,
    operationId: 'createProject',
    summary: 'Create a project',
    description: 'Admin only. Credentials need PUSHCAST_SECRET_KEY (409 `secret_key_not_configured` without it).',
    body: createBody,
    response: { 201: json('The project', projectAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 409) },
  },
  list: {
    tags,
    operationId: 'listProjects',
    summary: 'List projects',
    description: 'An admin token sees every project; a scoped token its own.',
    response: { 200: json('The projects', z.array(projectAnswer)), ...errors(...AUTHENTICATED) },
  },
  get: {
    tags,
    operationId: 'getProject',
    summary: 'Get a project',
    params,
    response: { 200: json('The project', projectAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  update: {
    tags,
    operationId: 'updateProject',
    summary: 'Change a project',
    description:
      'Fields left out stay as they are. `sender_id` and the quota fields need an admin token; credentials given replace the old, `null` removes them.',
    params,
    body: updateBody,
    response: { 200: json('The project', projectAnswer), ...errors(...AUTHENTICATED, ...WITH_BODY, 404, 409) },
  },
  delete: {
    tags,
    operationId: 'deleteProject',
    summary: 'Delete a project',
    description: 'Admin only. Hidden at once; a worker purges its subscriptions and notifications.',
    params,
    response: { 202: empty('Deleted; the purge is under way'), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

export async function projectRoutes(app: FastifyInstance, { db, queues, config }: ApiDeps): Promise<void> {
  /** Credentials are sealed under PUSHCAST_SECRET_KEY; without it they cannot be set (removing them needs no key). */
  function sealingKeyFor(changes: CredentialChanges): Buffer | undefined {
    const setting = (['apns_credentials', 'fcm_credentials'] as const).find((f) => changes[f] != null);
    if (setting !== undefined && config.secretKeys.current === undefined) {
      throw new PushcastError(
        'conflict',
        `${setting}: cannot be stored: set PUSHCAST_SECRET_KEY (32 random bytes, e.g. \`openssl rand -base64 32\`) ` +
          'on the API and the workers to keep provider credentials encrypted at rest',
        { field: setting, rule: 'secret_key_not_configured' },
      );
    }
    return config.secretKeys.current;
  }

  async function applyCredentials(tx: Queryable, projectId: number, changes: CredentialChanges, key: Buffer | undefined) {
    const apns = changes.apns_credentials;
    const fcm = changes.fcm_credentials;
    if (apns === null) await deleteProjectCredentials(tx, projectId, 'apns');
    else if (apns !== undefined) await saveProjectCredentials(tx, key!, projectId, { platform: 'apns', apns });
    if (fcm === null) await deleteProjectCredentials(tx, projectId, 'fcm');
    else if (fcm !== undefined) await saveProjectCredentials(tx, key!, projectId, { platform: 'fcm', fcm });
  }

  async function withCredentials(projects: Project[]) {
    const summaries = await listCredentialSummaries(db, projects.map((p) => p.id));
    return projects.map((p) => projectJson(p, summaries.get(p.id)!));
  }

  async function requireSender(senderId: number) {
    if (!(await findSender(db, senderId))) throw validationError('sender_id', 'exists', `sender ${senderId} does not exist`);
  }

  async function loadProject(principal: Principal, id: number) {
    requireProject(principal, id);
    const project = await findProject(db, id);
    if (!project) throw notFound(`project ${id}`);
    return project;
  }

  app.post('/projects', { schema: schemas.create }, async (request, reply) => {
    requireAdmin(request.principal);
    const body = parseInput(schemas.create.body, request.body, 'body');
    const key = sealingKeyFor(body);
    await requireSender(body.sender_id);
    const project = await inTransaction(db, async (tx) => {
      const created = await insertProject(tx, {
        senderId: body.sender_id,
        name: body.name,
        website: body.website,
        iconUrl: body.icon_url ?? null,
        badgeUrl: body.badge_url ?? null,
        notificationsTtl: body.notifications_ttl ?? DEFAULT_TTL,
        notificationsRequireInteraction: body.notifications_require_interaction ?? false,
        notificationsSilent: body.notifications_silent ?? false,
        quota: { hourly: body.quota_hourly ?? null, daily: body.quota_daily ?? null, policy: body.quota_policy ?? 'defer' },
        allowedOrigins: body.allowed_origins ?? null,
        browserTagsAllowed: body.browser_tags_allowed ?? [],
        recordDeliveries: body.record_deliveries ?? DEFAULT_RECORD_DELIVERIES,
      });
      await applyCredentials(tx, created.id, body, key);
      return created;
    });
    return reply.code(201).send((await withCredentials([project]))[0]);
  });

  app.get('/projects', { schema: schemas.list }, async (request) => {
    const p = request.principal;
    return withCredentials(await listProjects(db, p.kind === 'admin' ? undefined : [...p.projectIds]));
  });

  app.get('/projects/:id', { schema: schemas.get }, async (request) => {
    const { id } = parseInput(schemas.get.params, request.params, 'params');
    requireProject(request.principal, id);
    // The row and its credentials' summary are read at once: on a busy database each round trip
    // waits for a core, and this is the call a dashboard polls.
    const [project, summaries] = await Promise.all([findProject(db, id), listCredentialSummaries(db, [id])]);
    if (!project) throw notFound(`project ${id}`);
    return projectJson(project, summaries.get(id)!);
  });

  app.patch('/projects/:id', { schema: schemas.update }, async (request) => {
    const { id } = parseInput(schemas.update.params, request.params, 'params');
    const body = parseInput(schemas.update.body, request.body, 'body');
    await loadProject(request.principal, id);
    if (body.sender_id !== undefined) {
      // Another sender means other VAPID keys for this project's pushes: an admin decision.
      requireAdmin(request.principal);
      await requireSender(body.sender_id);
    }
    // A quota limits what a tenant may send: raising it is the operator's decision, not the tenant's.
    if (QUOTA_FIELDS.some((f) => body[f] !== undefined)) requireAdmin(request.principal);
    const key = sealingKeyFor(body);
    const project = await inTransaction(db, async (tx) => {
      const updated = await updateProject(tx, id, {
        senderId: body.sender_id,
        name: body.name,
        website: body.website,
        iconUrl: body.icon_url,
        badgeUrl: body.badge_url,
        notificationsTtl: body.notifications_ttl,
        notificationsRequireInteraction: body.notifications_require_interaction,
        notificationsSilent: body.notifications_silent,
        quota: { hourly: body.quota_hourly, daily: body.quota_daily, policy: body.quota_policy },
        allowedOrigins: body.allowed_origins,
        browserTagsAllowed: body.browser_tags_allowed,
        recordDeliveries: body.record_deliveries,
      });
      if (updated) await applyCredentials(tx, id, body, key);
      return updated;
    });
    if (!project) throw notFound(`project ${id}`);
    return (await withCredentials([project]))[0];
  });

  app.delete('/projects/:id', { schema: schemas.delete }, async (request, reply) => {
    const { id } = parseInput(schemas.delete.params, request.params, 'params');
    requireAdmin(request.principal);
    if (!(await markProjectDeleted(db, id))) throw notFound(`project ${id}`);
    // PostgreSQL already says "deleted"; if Redis is away the periodic sweep enqueues the purge.
    await queues.enqueue('purge-project', { projectId: id }, { jobId: jobIds.purgeProject(id) }).catch((err: unknown) => {
      request.log.warn({ err, projectId: id }, 'purge job not enqueued; the sweep will pick the project up');
    });
    return reply.code(202).send();
  });
}
