/**
 * Bundles the console at build time (`npm run build`, the Docker image's build):
 *   node --import tsx apps/api/src/console/build.ts
 */
import { bundleConsole } from './bundle.ts';
import { PREBUILT_DIR, writePrebuiltConsole } from './prebuilt.ts';

const built = await bundleConsole();
await writePrebuiltConsole(PREBUILT_DIR, built);
const sizes = [...built.bundle.assets].map(([name, a]) => `${name} ${(a.body.length / 1024).toFixed(1)} KiB`);
process.stdout.write(`console bundled into ${PREBUILT_DIR}: ${sizes.join(', ')} (from ${built.inputs.length} files)\n`);
