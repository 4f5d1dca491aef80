/**
 * The runtime Pushcast ships on and the one it still supports (issue 12 §7): the Docker image is
 * built on the current Node.js LTS line, the code keeps running on the oldest Node that
 * package.json's engines accept, and no locked dependency asks for another one, so that a fresh
 * `npm install` on either prints no EBADENGINE warning (npm prints one for each locked package
 * whose engines.node the running Node does not satisfy). CI runs the whole suite on both
 * (scripts/test.sh with scripts/lts-node.sh).
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

interface LockedPackage {
  readonly version?: string;
  readonly engines?: { readonly node?: string } | readonly string[];
}

const manifest = JSON.parse(read('package.json')) as { engines: { node: string } };
const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, LockedPackage> };

/** The Node.js major of the image, from `ARG NODE_IMAGE=node:<major>-…`. */
function imageMajor(): number {
  const found = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(read('Dockerfile'));
  if (!found?.[1]) throw new Error('Dockerfile has no ARG NODE_IMAGE=node:<major>-…');
  return Number(found[1]);
}

/** The oldest release of each Node line Pushcast runs on. */
function supportedNodes(): Record<string, string> {
  const oldest = semver.minVersion(manifest.engines.node);
  if (!oldest) throw new Error(`package.json engines.node ${manifest.engines.node} names no version`);
  return { oldest: oldest.version, image: `${imageMajor()}.0.0` };
}

describe('the Node.js runtime', () => {
  it('builds the image on an LTS line newer than the oldest Node supported', () => {
    const major = imageMajor();
    const oldest = semver.minVersion(manifest.engines.node)!;
    // Even majors are the ones that become LTS; 24 was the LTS before this one.
    expect(major % 2, `node:${major} is not an LTS line`).toBe(0);
    expect(major).toBeGreaterThanOrEqual(24);
    expect(major).toBeGreaterThan(oldest.major);
    expect(semver.satisfies(`${major}.0.0`, manifest.engines.node)).toBe(true);
    expect(oldest.version).toBe('20.19.0');
  });

  it('locks no dependency that refuses a supported Node (no EBADENGINE on npm install)', () => {
    const refused: string[] = [];
    for (const [path, locked] of Object.entries(lock.packages)) {
      const engines = locked.engines;
      // Old manifests wrote engines as an array of strings, which npm ignores.
      const range = engines && !Array.isArray(engines) ? (engines as { node?: string }).node : undefined;
      if (!range || path === '') continue;
      for (const [which, version] of Object.entries(supportedNodes())) {
        if (!semver.satisfies(version, range)) refused.push(`${path}@${locked.version} wants node ${range}, not ${which} ${version}`);
      }
    }
    expect(refused).toEqual([]);
  });
});
