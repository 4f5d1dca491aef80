import { Readable } from 'node:stream';
import { exportSubscriptions, idParam, pageQuery, parseInput, receiveImport, type ExportFormat } from '@pushcast/core';
import { canAccessProject, notFound, PushcastError, type Principal } from '@pushcast/domain';
import { findImport, findProject, listImports, type ImportFormat } from '@pushcast/store';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { requireProject } from '../auth.ts';
import type { ApiDeps } from '../deps.ts';
import { importAnswer } from '../answers.ts';
import { AUTHENTICATED, errors, json } from '../openapi/route-schemas.ts';
import { importJson } from '../serializers.ts';
import { audienceFromQuery, listQuery } from './audience-query.ts';

const projectParams = z.object({ projectId: idParam });
const importParams = z.object({ id: idParam });
const importsQuery = z.object(pageQuery);
const exportQuery = z.object({ format: z.enum(['ndjson', 'csv']).default('ndjson') });

const file = (description: string) => ({
  description,
  content: { 'application/x-ndjson': { schema: z.string() }, 'text/csv': { schema: z.string() } },
});

const tags = ['Subscriptions'];
const schemas = {
  import: {
    tags,
    operationId: 'importSubscriptions',
    summary: 'Import subscriptions in bulk',
    description:
      'NDJSON (one subscription per line, the fields of the single create) or CSV (a header row), optionally gzip-encoded, ' +
      'streamed. Every row gets the single create\'s validation; a row for an existing endpoint or token updates it; ' +
      'an invalid row is reported (GET /imports/{id}) and skipped. Rows are applied by a worker while the upload arrives ' +
      '(status `receiving`); answered once the upload is read whole. An upload cut short keeps the rows applied before the cut ' +
      'and ends `failed`, saying which (find it with GET /projects/{projectId}/imports).',
    params: projectParams,
    headers: z.object({ 'content-encoding': z.enum(['identity', 'gzip']).optional() }),
    consumes: ['application/x-ndjson', 'text/csv'],
    body: z.string().describe('The file'),
    response: { 202: json('Accepted: follow it at GET /imports/{id}', importAnswer), ...errors(...AUTHENTICATED, 404, 409, 415, 422) },
  },
  list: {
    tags,
    operationId: 'listImports',
    summary: "A project's imports, newest first",
    description: 'Also where an upload cut short is found: its client never got its id.',
    params: projectParams,
    querystring: importsQuery,
    response: { 200: json('A page of imports', z.array(importAnswer)), ...errors(...AUTHENTICATED, 404, 422) },
  },
  status: {
    tags,
    operationId: 'getImport',
    summary: 'An import and what became of its rows',
    params: importParams,
    response: { 200: json('The import', importAnswer), ...errors(...AUTHENTICATED, 404, 422) },
  },
  export: {
    tags,
    operationId: 'exportSubscriptions',
    summary: 'Export subscriptions',
    description: 'Streams every subscription matching the filters of the list, in a form the import takes back unchanged.',
    params: projectParams,
    querystring: exportQuery.extend(listQuery.omit({ page: true, per_page: true }).shape),
    response: { 200: file('The subscriptions (`Content-Disposition: attachment`)'), ...errors(...AUTHENTICATED, 404, 422) },
  },
};

const FORMATS: Readonly<Record<string, ImportFormat>> = { 'application/x-ndjson': 'ndjson', 'text/csv': 'csv' };
const MEDIA_TYPES: Readonly<Record<ExportFormat, string>> = { ndjson: 'application/x-ndjson', csv: 'text/csv; charset=utf-8' };

function uploadFormat(request: FastifyRequest): { format: ImportFormat; gzip: boolean } {
  const mediaType = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  const format = FORMATS[mediaType];
  if (!format) {
    throw new PushcastError('unsupported_media_type', 'Content-Type: an import is application/x-ndjson or text/csv', {
      field: 'content-type',
      rule: 'content_type',
    });
  }
  const encoding = (request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip') {
    throw new PushcastError('unsupported_media_type', 'Content-Encoding: an import is sent as is or gzip-compressed', {
      field: 'content-encoding',
      rule: 'content_type',
    });
  }
  return { format, gzip: encoding === 'gzip' };
}

/**
 * Bulk import and export of a project's subscriptions (issue 13 §3). The upload is streamed (its
 * own content-type parsers hand the route the raw request, unbuffered and without the JSON body
 * limit), so a file of any size goes through in constant memory as one request.
 */
export async function subscriptionBulkRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  const { db } = deps;
  app.addContentTypeParser(Object.keys(FORMATS), (_request, payload, done) => done(null, payload));

  async function loadProjectId(principal: Principal, rawParams: unknown): Promise<number> {
    const { projectId } = parseInput(projectParams, rawParams, 'params');
    requireProject(principal, projectId);
    if (!(await findProject(db, projectId))) throw notFound(`project ${projectId}`);
    return projectId;
  }

  app.post('/projects/:projectId/subscriptions/import', { schema: schemas.import }, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { format, gzip } = uploadFormat(request);
    const accepted = await receiveImport(deps, { projectId, format, gzip, body: request.body as Readable });
    return reply.code(202).send(importJson(accepted));
  });

  app.get('/projects/:projectId/imports', { schema: schemas.list }, async (request) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const q = parseInput(importsQuery, request.query, 'query');
    return (await listImports(db, projectId, { page: q.page, perPage: q.per_page })).map(importJson);
  });

  app.get('/imports/:id', { schema: schemas.status }, async (request) => {
    const { id } = parseInput(schemas.status.params, request.params, 'params');
    const found = await findImport(db, id);
    // Another tenant's import does not exist, as far as this token can tell.
    if (!found || !canAccessProject(request.principal, found.projectId)) throw notFound(`import ${id}`);
    return importJson(found);
  });

  app.get('/projects/:projectId/subscriptions/export', { schema: schemas.export }, async (request, reply) => {
    const projectId = await loadProjectId(request.principal, request.params);
    const { format } = parseInput(exportQuery, request.query, 'query');
    const { filter } = audienceFromQuery(projectId, request.query);
    return reply
      .type(MEDIA_TYPES[format])
      .header('content-disposition', `attachment; filename="project-${projectId}-subscriptions.${format}"`)
      // One piece (a page of lines) ahead at most: the generator already reads the next page meanwhile.
      .send(Readable.from(exportSubscriptions(db, filter, format), { highWaterMark: 1 }));
  });
}
