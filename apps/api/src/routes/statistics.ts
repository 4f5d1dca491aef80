import { countAudience, decimalInteger, idParam, parseInput } from '@pushcast/core';
import { notFound, type Principal } from '@pushcast/domain';
import { findProject, listProjects, projectSummaries, subscriberCountDays, type PlatformCounts } from '@pushcast/store';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { audienceAnswer, projectStatsAnswer, projectSummaryAnswer } from '../answers.ts';
import { AUTHENTICATED, errors, json } from '../openapi/route-schemas.ts';
import { audienceFromQuery, listQuery } from './audience-query.ts';

/**
 * Statistics for dashboards (the console): subscriber counts per platform, over time, notifications
 * of the last day, and the size of an audience before sending to it. All of it comes from tables
 * kept up to date as subscriptions come and go (migration 0018), so a page costs a few index reads
 * however large the project.
 */

const params = z.object({ projectId: idParam });
const statsQuery = z.strictObject({
  days: decimalInteger(z.number().int().min(1).max(366)).default(30).describe('How many days of `subscribers_over_time` (today included)'),
});
const audienceQuery = listQuery.omit({ page: true, per_page: true });

const tags = ['Statistics'];
const schemas = {
  summaries: {
    tags,
    operationId: 'listProjectSummaries',
    summary: 'Subscribers and recent notifications of every project',
    description: "Every project the token may see (an admin's: all), in the order of `GET /projects`.",
    response: { 200: json('One summary per project', z.array(projectSummaryAnswer)), ...errors(...AUTHENTICATED) },
  },
  stats: {
    tags,
    operationId: 'getProjectStats',
    summary: "A project's subscribers (now and over time) and recent notifications",
    params,
    querystring: statsQuery,
    response: { 200: json('The statistics', projectStatsAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  audience: {
    tags,
    operationId: 'countAudience',
    summary: 'How many subscriptions a notification with these filters would reach',
    description:
      'The filters of a notification or of the subscription list (`tags[]` expressions, `uids[]`, `platform`). Without filters, the maintained ' +
      'count (exact, at once); with filters, exact up to 10,000 matches and PostgreSQL\'s estimate above (`exact: false`). ' +
      'A tag expression that does not parse is a 400 naming `tags` (for a form checking it as it is typed).',
    params,
    querystring: audienceQuery,
    response: { 200: json('The audience', audienceAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

const withTotal = (c: PlatformCounts) => ({ total: c.web + c.apns + c.fcm, ...c });

export async function statisticsRoutes(app: FastifyInstance, { db }: ApiDeps): Promise<void> {
  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(params, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  app.get('/stats/projects', { schema: schemas.summaries }, async (request) => {
    const p = request.principal;
    const projects = await listProjects(db, p.kind === 'admin' ? undefined : [...p.projectIds]);
    const summaries = await projectSummaries(db, projects.map((x) => x.id));
    return projects.map(({ id }) => {
      const s = summaries.get(id)!;
      return { project_id: id, subscribers: withTotal(s.subscribers), notifications_last_24h: s.notifications24h };
    });
  });

  app.get('/projects/:projectId/stats', { schema: schemas.stats }, async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { days } = parseInput(statsQuery, request.query, 'query');
    const [summaries, history] = await Promise.all([projectSummaries(db, [projectId]), subscriberCountDays(db, projectId, days)]);
    const now = summaries.get(projectId)!;
    // Today's snapshot is up to an hour old: today's point is the live count instead.
    const today = new Date().toISOString().slice(0, 10);
    const series = history.filter((d) => d.day < today).map((d) => ({ day: d.day, subscribers: withTotal(d.subscribers) }));
    series.push({ day: today, subscribers: withTotal(now.subscribers) });
    return {
      project_id: projectId,
      subscribers: withTotal(now.subscribers),
      notifications_last_24h: now.notifications24h,
      subscribers_over_time: series,
    };
  });

  app.get('/projects/:projectId/audience', { schema: schemas.audience }, async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { filter } = audienceFromQuery(projectId, request.query);
    return countAudience({ db }, filter);
  });
}
