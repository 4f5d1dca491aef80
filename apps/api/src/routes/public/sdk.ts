import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { empty, errors, PUBLIC } from '../../openapi/route-schemas.ts';

/**
 * The browser SDK and service worker, plain JavaScript served as they are (no build step on the
 * site): `pushcast.js` defines `window.Pushcast` for a `<script>` tag, `pushcast.mjs` is the same
 * code as an ES module (`import Pushcast from '…/sdk/pushcast.mjs'`), `pushcast-sw.js` is the service
 * worker (used as is, or `importScripts`-ed into the site's own). Both SDK files wrap one source,
 * `sdk/pushcast-core.js`, which knows where it was loaded from and so where Pushcast's API is.
 */
const read = (url: URL) => readFileSync(url, 'utf8');

export interface SdkFile {
  readonly body: string;
  readonly etag: string;
}

function file(body: string): SdkFile {
  return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
}

export function sdkFiles(): Record<'pushcast.js' | 'pushcast.mjs' | 'pushcast-sw.js', SdkFile> {
  const core = read(new URL('../../sdk/pushcast-core.js', import.meta.url));
  return {
    'pushcast.js': file(
      `/* Pushcast browser SDK: defines window.Pushcast. */\n(function () {\n'use strict';\n${core}\n` +
        `var script = document.currentScript;\nwindow.Pushcast = createPushcast(script && script.src ? script.src : null);\n})();\n`,
    ),
    'pushcast.mjs': file(
      `/* Pushcast browser SDK as an ES module: import Pushcast from '<pushcast>/sdk/pushcast.mjs'. */\n${core}\n` +
        `const Pushcast = createPushcast(import.meta.url);\nexport default Pushcast;\nexport { Pushcast };\n`,
    ),
    'pushcast-sw.js': file(read(new URL('../../sdk/pushcast-sw.js', import.meta.url))),
  };
}

const DESCRIPTIONS: Record<keyof ReturnType<typeof sdkFiles>, string> = {
  'pushcast.js': 'The browser SDK for a `<script>` tag: defines `window.Pushcast`',
  'pushcast.mjs': "The browser SDK as an ES module: `import Pushcast from '…/sdk/pushcast.mjs'`",
  'pushcast-sw.js': 'The service worker, used as is or `importScripts`-ed into the site\'s own',
};

export async function sdkRoutes(app: FastifyInstance): Promise<void> {
  const files = sdkFiles();
  for (const [name, { body, etag }] of Object.entries(files)) {
    const schema = {
      tags: ['SDK'],
      operationId: `get_${name.replace(/[^a-z]/g, '_')}`,
      summary: name,
      description: DESCRIPTIONS[name as keyof typeof DESCRIPTIONS],
      security: PUBLIC,
      response: {
        200: { description: 'JavaScript (any origin may load it)', content: { 'text/javascript': { schema: z.string() } } },
        304: empty('Not modified (`If-None-Match` named its ETag)'),
        ...errors(),
      },
    };
    app.get(`/${name}`, { schema }, async (request, reply) => {
      // Any page may load it; a cross-origin module import needs CORS.
      void reply
        .header('content-type', 'text/javascript; charset=utf-8')
        .header('access-control-allow-origin', '*')
        .header('cache-control', 'public, max-age=300')
        .header('etag', etag);
      if (request.headers['if-none-match'] === etag) return reply.code(304).send();
      return reply.send(body);
    });
  }
}
