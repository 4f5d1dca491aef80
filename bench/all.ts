/**
 * `npm run bench`: the Web Push benchmark, then the APNs and FCM one, one after the other (never at
 * once: each measures CPU on a shared 2-core machine).
 *   npm run bench                               # web 1,000,000 (baseline 100,000), then 200,000 APNs + 200,000 FCM
 *   npm run bench -- 200000 50000 20000         # web subscribers, web baseline subscribers, mobile devices per platform
 * Each part alone: npm run bench:web -- [subscribers] [baseline], npm run bench:mobile -- [devices] [apns|fcm|apns,fcm].
 */
import { spawnSync } from 'node:child_process';

const [web, webBaseline, mobile] = process.argv.slice(2);
const parts: [string, string[]][] = [
  ['bench/broadcast.bench.ts', [web, webBaseline].filter((a): a is string => a !== undefined)],
  ['bench/mobile.bench.ts', mobile === undefined ? [] : [mobile]],
];
let failed = 0;
for (const [entry, args] of parts) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', entry, ...args], { stdio: 'inherit' });
  if (r.status !== 0) failed += 1;
}
process.exit(failed ? 1 : 0);
