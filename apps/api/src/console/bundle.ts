import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The console's front end (`./ui/`: Preact + htm, uPlot for the chart) bundled by esbuild into one
 * script and one stylesheet, named by their content's hash so that they can be cached for a year
 * (`immutable`): a new release has new names, and the page that names them is never cached.
 * Bundled at build time (`npm run build`, the image's build: ./prebuilt.ts); an API started from a
 * checkout that was not built bundles it in its own process on the first request instead, ~0.2 s.
 */

export interface Asset {
  readonly body: Buffer;
  readonly contentType: string;
}

export interface ConsoleBundle {
  /** `app-<hash>.js`, `app-<hash>.css` → content. */
  readonly assets: ReadonlyMap<string, Asset>;
  /** The page: every /console path answers it, and the script routes by the path. */
  readonly html: string;
}

/** A bundle and the files it was made from (relative to API_ROOT), to tell later whether it is stale. */
export interface BuiltConsole {
  readonly bundle: ConsoleBundle;
  readonly inputs: readonly string[];
}

/** apps/api: esbuild's working directory, so that the inputs it reports do not depend on where the checkout is. */
export const API_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const CONTENT_TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

export async function bundleConsole(): Promise<BuiltConsole> {
  const result = await build({
    absWorkingDir: API_ROOT,
    metafile: true,
    entryPoints: [fileURLToPath(new URL('./ui/main.js', import.meta.url))],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    minify: true,
    legalComments: 'eof',
    write: false,
    outdir: '/console-out',
    entryNames: 'app',
    logLevel: 'silent',
  });
  const assets = new Map<string, Asset>();
  const names: Record<string, string> = {};
  for (const file of result.outputFiles) {
    const ext = file.path.split('.').pop()!;
    const hash = createHash('sha256').update(file.contents).digest('base64url').slice(0, 16);
    const name = `app-${hash}.${ext}`;
    names[ext] = name;
    assets.set(name, { body: Buffer.from(file.contents), contentType: CONTENT_TYPES[ext] ?? 'application/octet-stream' });
  }
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>Pushcast console</title>
${names.css ? `<link rel="stylesheet" href="/console/assets/${names.css}">` : ''}
<script type="module" src="/console/assets/${names.js}"></script>
</head>
<body>
<div id="app"><noscript>The Pushcast console needs JavaScript.</noscript></div>
</body>
</html>
`;
  return { bundle: { assets, html }, inputs: Object.keys(result.metafile.inputs).sort() };
}
