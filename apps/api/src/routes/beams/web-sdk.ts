import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { empty, errors, PUBLIC } from '../../openapi/route-schemas.ts';

/**
 * Beams' web SDK files from the `@pusher/push-notifications-web` package, so that a site moving from
 * Beams loads them from Pushcast instead of Pusher's CDN:
 * - `/beams/service-worker.js`: Beams' service worker, for `importScripts` in the site's own. The
 *   package ships it as ES module sources only, so it is bundled once (esbuild, as tsx already
 *   runs), and a last line points it at the Pushcast it was loaded from unless the site sets
 *   `PusherPushNotifications.endpointOverride` itself.
 * - `/beams/push-notifications-cdn.js`: the page SDK (`window.PusherPushNotifications`), as shipped.
 */
const require = createRequire(import.meta.url);
const packageDir = dirname(require.resolve('@pusher/push-notifications-web/package.json'));

interface Script {
  readonly body: string;
  readonly etag: string;
}

const script = (body: string): Script => ({ body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` });

async function bundleServiceWorker(): Promise<string> {
  const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string };
  const result = await build({
    entryPoints: [join(packageDir, 'src', 'service-worker.js')],
    bundle: true,
    format: 'iife',
    target: 'es2019',
    write: false,
    logLevel: 'silent',
  });
  return `// Pusher Beams service worker, @pusher/push-notifications-web ${version} (MIT), served by Pushcast.\n${result.outputFiles[0]!.text}`;
}

/** The origin a request reached Pushcast at (behind a trusted proxy, the one the client used). */
const originOf = (request: FastifyRequest): string => `${request.protocol}://${request.host}`;

const scriptSchema = (operationId: string, summary: string, description: string) => ({
  tags: ['Beams'],
  operationId,
  summary,
  description,
  security: PUBLIC,
  response: {
    200: { description: 'JavaScript (any origin may load it)', content: { 'text/javascript': { schema: z.string() } } },
    304: empty('Not modified (`If-None-Match` named its ETag)'),
    ...errors(),
  },
});

const schemas = {
  worker: scriptSchema(
    'beamsServiceWorkerScript',
    "Beams' service worker",
    "For `importScripts` in the site's service worker: Beams' own (`@pusher/push-notifications-web`), reporting to the Pushcast it came from",
  ),
  page: scriptSchema('beamsWebSdkScript', "Beams' web SDK", 'The page SDK (`window.PusherPushNotifications`), as the package ships it'),
};

export async function beamsWebSdkRoutes(app: FastifyInstance): Promise<void> {
  let worker: Promise<string> | undefined;
  const perOrigin = new Map<string, Script>();
  const pageSdk = readFile(join(packageDir, 'dist', 'push-notifications-cdn.js'), 'utf8').then(script);

  const send = (request: FastifyRequest, reply: import('fastify').FastifyReply, { body, etag }: Script) => {
    void reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('access-control-allow-origin', '*')
      .header('cache-control', 'public, max-age=300')
      .header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(body);
  };

  app.get('/service-worker.js', { schema: schemas.worker }, async (request, reply) => {
    worker ??= bundleServiceWorker().catch((error: unknown) => {
      worker = undefined;
      throw error;
    });
    const origin = originOf(request);
    let served = perOrigin.get(origin);
    if (served === undefined) {
      served = script(
        `${await worker}\n// Pushcast: Beams' APIs are served where this script came from, unless the site says otherwise.\n` +
          `self.PusherPushNotifications.endpointOverride = self.PusherPushNotifications.endpointOverride || ${JSON.stringify(origin)};\n`,
      );
      // A handful of names a deployment is reached by; bounded against Host headers made up by clients.
      if (perOrigin.size < 16) perOrigin.set(origin, served);
    }
    return send(request, reply, served);
  });

  app.get('/push-notifications-cdn.js', { schema: schemas.page }, async (request, reply) => send(request, reply, await pageSdk));
}
