import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_ROOT, type Asset, type BuiltConsole, type ConsoleBundle } from './bundle.ts';

/**
 * The console bundled at build time: `npm run build` (and the image's build) writes it here, and
 * the API serves it from memory without bundling anything. Ignored by git; rebuilt by every build.
 */
export const PREBUILT_DIR = fileURLToPath(new URL('../../console-build/', import.meta.url));

interface Manifest {
  /** Asset name → content type. */
  readonly assets: Record<string, string>;
  /** What the bundle was made from (relative to API_ROOT) and a hash of their contents. */
  readonly inputs: readonly string[];
  readonly sources: string;
}

export type PrebuiltConsole =
  | { readonly kind: 'ready'; readonly bundle: ConsoleBundle }
  /** Never built here (a checkout without `npm run build`). */
  | { readonly kind: 'missing' }
  /** Built from other sources than the ones here now (edited since the last build). */
  | { readonly kind: 'stale' };

/** A hash of the inputs' paths and contents: a file edited, added to the bundle or gone changes it. */
async function hashSources(inputs: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const input of inputs) {
    hash.update(input).update('\0');
    hash.update(await readFile(resolve(API_ROOT, input)).catch(() => Buffer.from('(missing)'))).update('\0');
  }
  return hash.digest('hex');
}

export async function writePrebuiltConsole(dir: string, built: BuiltConsole): Promise<void> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(join(dir, 'assets'), { recursive: true });
  const assets: Record<string, string> = {};
  for (const [name, asset] of built.bundle.assets) {
    await writeFile(join(dir, 'assets', name), asset.body);
    assets[name] = asset.contentType;
  }
  await writeFile(join(dir, 'index.html'), built.bundle.html);
  const manifest: Manifest = { assets, inputs: built.inputs, sources: await hashSources(built.inputs) };
  // Last: a build cut short leaves no manifest, so it reads as missing rather than half there.
  await writeFile(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

export async function readPrebuiltConsole(dir: string): Promise<PrebuiltConsole> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  } catch {
    return { kind: 'missing' };
  }
  if ((await hashSources(manifest.inputs)) !== manifest.sources) return { kind: 'stale' };
  const assets = new Map<string, Asset>();
  for (const [name, contentType] of Object.entries(manifest.assets)) {
    assets.set(name, { body: await readFile(join(dir, 'assets', name)), contentType });
  }
  return { kind: 'ready', bundle: { assets, html: await readFile(join(dir, 'index.html'), 'utf8') } };
}
