import { reportBeamsEvent } from '@pushcast/core';
import { PushcastError } from '@pushcast/domain';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { openToEveryOrigin } from './cors.ts';
import { BeamsError, notJsonObject } from './errors.ts';
import { instanceOf } from './instance.ts';
import { instanceParams as params, reportSchema } from './schemas.ts';


/** A report is a few ids and flags: Beams documents no limit, Pushcast takes 10 KiB. */
export const REPORT_BODY_LIMIT = 10 * 1024;

const malformedInstance = () =>
  new BeamsError(400, 'Bad request', 'The instance id given is invalid. It is expected to be in this format: 426abfc7-41fe-492f-bcf1-27586fa9bd3f');

/** What every report has, in the order Beams names the first one missing. */
const REQUIRED = ['event', 'publishId', 'deviceId', 'timestampSecs'] as const;

/** Beams' Reporting API refuses a report with a 400 (it has no 422): "`event` is missing from body", or what is wrong. */
function asReportError(error: unknown, body: Record<string, unknown>): unknown {
  if (!(error instanceof PushcastError) || (error.kind !== 'bad_request' && error.kind !== 'validation')) return error;
  const missing = REQUIRED.find((field) => body[field] === undefined || body[field] === null);
  if (missing) return new BeamsError(400, 'Bad request', `\`${missing}\` is missing from body`);
  return new BeamsError(400, 'Bad request', error.message);
}

/** Beams' Reporting API: `POST /reporting_api/v2/instances/{i}/events` (delivery and open events, no secret). */
export async function beamsReportingRoutes(app: FastifyInstance, deps: ApiDeps): Promise<void> {
  openToEveryOrigin(app, 'reporting_api');
  app.post('/v2/instances/:instanceId/events', { bodyLimit: REPORT_BODY_LIMIT, schema: reportSchema }, async (request, reply) => {
    const { instanceId } = params.parse(request.params);
    const project = await instanceOf(deps, instanceId, malformedInstance);
    const body = request.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw notJsonObject();
    await reportBeamsEvent(deps, project, body).catch((error: unknown) => {
      throw asReportError(error, body as Record<string, unknown>);
    });
    return reply.code(200).send();
  });
}
