import { notFound, validationError, type Principal } from '@pushcast/domain';
import { jobIds } from '@pushcast/queues';
import { findProject, findSender, insertProject, listProjects, markProjectDeleted, updateProject } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireAdmin, requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { httpUrl, idParam } from '../schemas.ts';
import { projectJson } from '../serializers.ts';
import { parseInput } from '../validation.ts';

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
};
const createBody = z.strictObject({ sender_id: idParam, ...settings });
const updateBody = z.strictObject({
  sender_id: idParam.optional(),
  ...settings,
  name: settings.name.optional(),
  website: settings.website.optional(),
});

export async function projectRoutes(app: FastifyInstance, { db, queues }: ApiDeps): Promise<void> {
  async function requireSender(senderId: number) {
    if (!(await findSender(db, senderId))) throw validationError('sender_id', 'exists', `sender ${senderId} does not exist`);
  }

  async function loadProject(principal: Principal, id: number) {
    requireProject(principal, id);
    const project = await findProject(db, id);
    if (!project) throw notFound(`project ${id}`);
    return project;
  }

  app.post('/projects', async (request, reply) => {
    requireAdmin(request.principal);
    const body = parseInput(createBody, request.body, 'body');
    await requireSender(body.sender_id);
    const project = await insertProject(db, {
      senderId: body.sender_id,
      name: body.name,
      website: body.website,
      iconUrl: body.icon_url ?? null,
      badgeUrl: body.badge_url ?? null,
      notificationsTtl: body.notifications_ttl ?? DEFAULT_TTL,
      notificationsRequireInteraction: body.notifications_require_interaction ?? false,
      notificationsSilent: body.notifications_silent ?? false,
    });
    return reply.code(201).send(projectJson(project));
  });

  app.get('/projects', async (request) => {
    const p = request.principal;
    return (await listProjects(db, p.kind === 'admin' ? undefined : [...p.projectIds])).map(projectJson);
  });

  app.get('/projects/:id', async (request) => {
    const { id } = parseInput(params, request.params, 'params');
    return projectJson(await loadProject(request.principal, id));
  });

  app.patch('/projects/:id', async (request) => {
    const { id } = parseInput(params, request.params, 'params');
    const body = parseInput(updateBody, request.body, 'body');
    await loadProject(request.principal, id);
    if (body.sender_id !== undefined) {
      // Another sender means other VAPID keys for this project's pushes: an admin decision.
      requireAdmin(request.principal);
      await requireSender(body.sender_id);
    }
    const project = await updateProject(db, id, {
      senderId: body.sender_id,
      name: body.name,
      website: body.website,
      iconUrl: body.icon_url,
      badgeUrl: body.badge_url,
      notificationsTtl: body.notifications_ttl,
      notificationsRequireInteraction: body.notifications_require_interaction,
      notificationsSilent: body.notifications_silent,
    });
    if (!project) throw notFound(`project ${id}`);
    return projectJson(project);
  });

  app.delete('/projects/:id', async (request, reply) => {
    const { id } = parseInput(params, request.params, 'params');
    requireAdmin(request.principal);
    if (!(await markProjectDeleted(db, id))) throw notFound(`project ${id}`);
    // PostgreSQL already says "deleted"; if Redis is away the periodic sweep enqueues the purge.
    await queues.enqueue('purge-project', { projectId: id }, { jobId: jobIds.purgeProject(id) }).catch((err: unknown) => {
      request.log.warn({ err, projectId: id }, 'purge job not enqueued; the sweep will pick the project up');
    });
    return reply.code(202).send();
  });
}
