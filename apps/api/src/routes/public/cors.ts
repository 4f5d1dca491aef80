import { effectiveAllowedOrigins, PushcastError, type Project } from '@pushcast/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * CORS for the browser endpoints: only pages of the project's allowed origins (its `allowed_origins`,
 * or its website's origin) get `Access-Control-Allow-Origin`; any other origin, and a request with no
 * `Origin` at all, is refused (403) without CORS headers, so a browser on a foreign page sees a network
 * error and a script elsewhere gets a plain refusal. Headers are set before the body is checked, so an
 * allowed page can read the error of a request it got wrong.
 */
export const PREFLIGHT_MAX_AGE_S = 600;

export function requireAllowedOrigin(request: FastifyRequest, reply: FastifyReply, project: Project): string {
  void reply.header('vary', 'Origin');
  const origin = request.headers.origin;
  if (origin === undefined || origin === '') {
    throw new PushcastError('forbidden', `Origin: required: project ${project.id}'s browser endpoints answer pages of its allowed origins`, {
      field: 'Origin',
      rule: 'origin_required',
    });
  }
  if (!effectiveAllowedOrigins(project.allowedOrigins, project.website).includes(origin)) {
    throw new PushcastError('forbidden', `Origin: ${origin} is not among project ${project.id}'s allowed_origins`, {
      field: 'Origin',
      rule: 'origin_not_allowed',
    });
  }
  void reply.header('access-control-allow-origin', origin);
  return origin;
}

/** Answers a preflight for an allowed origin (the origin check has set Allow-Origin). */
export function sendPreflight(request: FastifyRequest, reply: FastifyReply, methods: readonly string[]): FastifyReply {
  const asked = String(request.headers['access-control-request-method'] ?? '').toUpperCase();
  if (asked !== '' && !methods.includes(asked)) {
    throw new PushcastError('forbidden', `Access-Control-Request-Method: ${asked} is not allowed here (${methods.join(', ')})`, {
      field: 'Access-Control-Request-Method',
      rule: 'method_not_allowed',
    });
  }
  return reply
    .code(204)
    .header('access-control-allow-methods', methods.join(', '))
    .header('access-control-allow-headers', 'Content-Type')
    .header('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
    .send();
}
