import { PushcastError } from '@pushcast/domain';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../../deps.ts';
import { drainRequest } from '../../drain-body.ts';
import { isBodyTooLarge } from '../../http-errors.ts';
import { sendBeamsError } from './errors.ts';
import { beamsDeviceRoutes } from './devices.ts';
import { beamsPublishRoutes } from './publish.ts';
import { beamsReportingRoutes } from './reporting.ts';
import { beamsUserRoutes } from './users.ts';
import { beamsWebSdkRoutes } from './web-sdk.ts';

export interface BeamsRoutesOptions {
  readonly deps: ApiDeps;
  /** How much of a body refused for its size is read before answering, and for how long. */
  readonly drain: { readonly maxBytes: number; readonly maxMs: number };
}

/**
 * Pusher Beams' APIs at the root of the server, as Beams serves them (Beams' SDKs are given
 * Pushcast's host instead of `{instanceId}.pushnotifications.pusher.com`). Each API is a scope with
 * Beams' error shape; the use cases are the core's.
 */
export async function beamsRoutes(app: FastifyInstance, { deps, drain }: BeamsRoutesOptions): Promise<void> {
  const scopes: [string, (scope: FastifyInstance, deps: ApiDeps) => Promise<void>][] = [
    ['/publish_api', beamsPublishRoutes],
    ['/device_api', beamsDeviceRoutes],
    ['/customer_api', beamsUserRoutes],
    ['/user_api', beamsUserRoutes],
    ['/reporting_api', beamsReportingRoutes],
  ];
  for (const [prefix, routes] of scopes) {
    await app.register(
      async (scope) => {
        scope.setErrorHandler(async (error, request, reply) => {
          if (isBodyTooLarge(error) && (await drainRequest(request.raw, drain.maxBytes, drain.maxMs))) reply.removeHeader('connection');
          return sendBeamsError(reply, request, error);
        });
        scope.setNotFoundHandler((request, reply) =>
          sendBeamsError(reply, request, new PushcastError('not_found', `no route for ${request.method} ${request.url.split('?')[0]}`)),
        );
        await routes(scope, deps);
      },
      { prefix },
    );
  }
  // Beams' web SDK and service worker scripts, from its npm package.
  await app.register(beamsWebSdkRoutes, { prefix: '/beams' });
}
