import type { FastifyInstance } from 'fastify';
import { preflightSchema } from './schemas.ts';

/**
 * CORS for the Beams APIs that browsers call (the Device API from a page, the Reporting API from a
 * service worker): any origin, as Beams'. Nothing is sent with credentials, and what a caller could
 * do cross-origin it could do from any server.
 */
export function openToEveryOrigin(scope: FastifyInstance, api: 'device_api' | 'reporting_api'): void {
  scope.addHook('onRequest', async (_request, reply) => {
    void reply.header('access-control-allow-origin', '*');
  });
  scope.options('/*', { schema: preflightSchema(api) }, async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST, PUT, DELETE')
      .header('access-control-allow-headers', 'Content-Type, Authorization')
      .header('access-control-max-age', '86400')
      .send(),
  );
}
