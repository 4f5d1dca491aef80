import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleConsole, type BuiltConsole } from './bundle.ts';
import { readPrebuiltConsole, writePrebuiltConsole } from './prebuilt.ts';
import { consoleRoutes } from './routes.ts';

let dir: string;
let built: BuiltConsole;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pushcast-console-'));
  built = await bundleConsole();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the console bundled at build time', () => {
  it('reads back what the build wrote, asset for asset', async () => {
    const out = join(dir, 'ready');
    await writePrebuiltConsole(out, built);
    const read = await readPrebuiltConsole(out);
    expect(read.kind).toBe('ready');
    if (read.kind !== 'ready') return;
    expect(read.bundle.html).toBe(built.bundle.html);
    expect([...read.bundle.assets.keys()].sort()).toEqual([...built.bundle.assets.keys()].sort());
    for (const [name, asset] of built.bundle.assets) expect(read.bundle.assets.get(name)).toEqual(asset);
    // What it was made from: the console's sources and the libraries it bundles.
    expect(built.inputs).toEqual(expect.arrayContaining(['src/console/ui/main.js', expect.stringMatching(/node_modules\/preact\//)]));
  });

  it('is missing where no build wrote one, and stale once a source it was made from changes', async () => {
    expect(await readPrebuiltConsole(join(dir, 'nothing'))).toEqual({ kind: 'missing' });
    const source = join(dir, 'source.js');
    await writeFile(source, 'export const a = 1;\n');
    const out = join(dir, 'stale');
    await writePrebuiltConsole(out, { bundle: built.bundle, inputs: [source] });
    expect((await readPrebuiltConsole(out)).kind).toBe('ready');
    await writeFile(source, 'export const a = 2;\n');
    expect(await readPrebuiltConsole(out)).toEqual({ kind: 'stale' });
  });

  describe('served', () => {
    let app: FastifyInstance;
    let url: string;
    beforeAll(async () => {
      // A build's output with a page of its own: served as written, not bundled again.
      const out = join(dir, 'served');
      const html = built.bundle.html.replace('<title>Pushcast console</title>', '<title>Pushcast console (prebuilt)</title>');
      await writePrebuiltConsole(out, { bundle: { ...built.bundle, html }, inputs: built.inputs });
      app = Fastify();
      await app.register(consoleRoutes, { prebuiltDir: out });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
    });
    afterAll(async () => {
      await app?.close();
    });

    it('answers the page and its content-hashed assets from the build', async () => {
      const page = await fetch(`${url}/console/projects/7`);
      expect(page.status).toBe(200);
      expect(page.headers.get('cache-control')).toBe('no-cache');
      const html = await page.text();
      expect(html).toContain('<title>Pushcast console (prebuilt)</title>');
      const [js] = [...built.bundle.assets.keys()].filter((n) => n.endsWith('.js'));
      const asset = await fetch(`${url}/console/assets/${js}`);
      expect(asset.status).toBe(200);
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(Buffer.from(await asset.arrayBuffer())).toEqual(await readFile(join(dir, 'served', 'assets', js!)));
    });
  });
});
