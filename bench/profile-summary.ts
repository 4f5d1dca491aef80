/**
 * Where a worker's CPU goes: sums the self time of a V8 CPU profile (node --cpu-prof) by the
 * package or part of Pushcast that owns each function.
 *   node --import tsx bench/profile-summary.ts <file.cpuprofile>
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));

function owner(n: Node): string {
  const { url, functionName } = n.callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'V8 garbage collector';
    if (functionName === '(idle)') return '(idle)';
    if (functionName === '(program)') return 'V8/native (program)';
    return `native: ${functionName || '(anonymous)'}`;
  }
  const pkg = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pkg) return pkg[1]!;
  const ours = url.match(/\/(packages|apps)\/([^/]+)\//);
  if (ours) return `pushcast ${ours[1]}/${ours[2]}`;
  if (url.startsWith('node:internal/')) {
    // Native crypto and TLS work shows up under the JS function that called it.
    const area = url.slice('node:internal/'.length).split('/').slice(0, 2).join('/').replace(/\.js$/, '');
    return `node core: ${area}${area.startsWith('crypto') ? ` (${functionName})` : ''}`;
  }
  if (url.startsWith('node:')) return `node core: ${url.slice(5).split('/')[0]}`;
  return url;
}

const self = new Map<string, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const n = byId.get(id)!;
  const key = owner(n);
  const dt = profile.timeDeltas[i] ?? 0;
  self.set(key, (self.get(key) ?? 0) + dt);
  total += dt;
});
const busy = total - (self.get('(idle)') ?? 0);
const rows = [...self.entries()].filter(([k]) => k !== '(idle)').sort((a, b) => b[1] - a[1]);
process.stdout.write(`| owner | share of busy CPU |\n|---|---|\n`);
for (const [k, v] of rows.slice(0, 20)) process.stdout.write(`| ${k} | ${((v / busy) * 100).toFixed(1)}% |\n`);
