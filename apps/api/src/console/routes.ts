import { notFound } from '@pushcast/domain';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { bundleConsole, type ConsoleBundle } from './bundle.ts';
import { PREBUILT_DIR, readPrebuiltConsole } from './prebuilt.ts';

/**
 * The console at /console: a page that is a client of the public API only (it holds an access
 * token for the tab, in sessionStorage, and calls /api/v1 like any client). Every path under
 * /console answers the same page (the script routes by the path); its script and stylesheet are
 * served under content-hashed names, cached for a year.
 *
 * Content-Security-Policy: scripts and styles from here only (no CDN, nothing inline but style
 * attributes, which the chart sets), API calls to here only; images from anywhere, because the
 * compose preview shows the icon and image URLs being typed (the console itself loads none).
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: https: http:",
  "connect-src 'self'",
  "font-src 'none'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export async function consoleRoutes(app: FastifyInstance, options: { prebuiltDir?: string } = {}): Promise<void> {
  const prebuilt = await readPrebuiltConsole(options.prebuiltDir ?? PREBUILT_DIR);
  let bundle: Promise<ConsoleBundle> | undefined = prebuilt.kind === 'ready' ? Promise.resolve(prebuilt.bundle) : undefined;
  if (prebuilt.kind !== 'ready') {
    app.log.warn({ console: prebuilt.kind }, 'the console was not bundled by this build (npm run build): it is bundled on its first request');
  }
  const bundled = () =>
    (bundle ??= bundleConsole().then(
      (built) => built.bundle,
      (error: unknown) => {
        bundle = undefined; // try again on the next request rather than failing for the process's life
        throw error;
      },
    ));

  const page = async (reply: FastifyReply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send((await bundled()).html);

  app.get('/console', async (_request, reply) => page(reply));
  app.get('/console/*', async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    if (!path.startsWith('assets/')) return page(reply);
    const asset = (await bundled()).assets.get(path.slice('assets/'.length));
    // An old page naming assets of an earlier release: Pushcast's 404 (the error handler's shape).
    if (!asset) throw notFound(`console asset ${path}`);
    return reply
      .header('content-type', asset.contentType)
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .send(asset.body);
  });
}
