/**
 * What one node:http2 request costs its client with and without the stream's priority options
 * given (packages/providers/src/http2/lean-request.ts): Node 20 fills them into its copy of the
 * options when they are missing; Node 22 and later deprecate them. A plain HTTP/2 server answering
 * 200 runs in a process of its own; each client run is a fresh process sending `requests` POSTs
 * with a ~190-byte body and FCM's request headers, 100 in flight on one session, and reports its
 * `process.cpuUsage()` per request. The two variants alternate, `rounds` each, on the Node that
 * runs this script:
 *   node --import tsx bench/http2-request-options.bench.ts [requests, default 200000] [rounds, default 6]
 */
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { gitLine, loadLine, log, machineLine } from './common.ts';

const REQUESTS = Number(process.argv[2] ?? 200_000);
const ROUNDS = Number(process.argv[3] ?? 6);

const SERVER = `
import http2 from 'node:http2';
const server = http2.createServer({ settings: { maxConcurrentStreams: 1000 } });
server.on('stream', (stream) => {
  stream.resume();
  stream.on('end', () => stream.respond({ ':status': 200 }, { endStream: true }));
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
`;

const CLIENT = `
import http2 from 'node:http2';
const [port, variant, n] = [process.argv[1], process.argv[2], Number(process.argv[3])];
const headers = {
  ':method': 'POST', ':authority': 'fcm.googleapis.com', ':path': '/v1/projects/bench/messages:send',
  authorization: 'Bearer ya29.' + 'x'.repeat(64), 'content-type': 'application/json; charset=utf-8',
  'x-firebase-client': 'fire-admin-node/13', access_token_auth: 'true', 'x-goog-api-client': 'gl-node fire-admin/13',
};
const GIVEN = { endStream: false, weight: 16, parent: 0, exclusive: false, silent: false };
const body = JSON.stringify({ message: { token: 't'.repeat(150), notification: { title: 'x', body: 'y' } } });
const session = http2.connect('http://127.0.0.1:' + port);
let started = 0;
let done = 0;
const before = process.cpuUsage();
await new Promise((resolve) => {
  const next = () => {
    if (started === n) return;
    started += 1;
    const stream = session.request(headers, variant === 'given' ? GIVEN : { endStream: false });
    stream.resume();
    stream.on('close', () => (++done === n ? resolve() : next()));
    stream.end(body);
  };
  for (let i = 0; i < 100; i += 1) next();
});
const used = process.cpuUsage(before);
console.log(((used.user + used.system) / n).toFixed(1));
session.close();
`;

const execFileAsync = promisify(execFile);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

log('# node:http2 request options: Node filling in the priority options, or given them');
log(machineLine());
log(`command: node --import tsx bench/http2-request-options.bench.ts ${REQUESTS} ${ROUNDS}`);
log(gitLine());
log(`at start: ${loadLine()}`);

const server = spawn(process.execPath, ['--input-type=module', '-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  const [first] = (await once(server.stdout, 'data')) as [Buffer];
  const port = first.toString().trim();
  const cost: Record<'filled' | 'given', number[]> = { filled: [], given: [] };
  for (let round = 1; round <= ROUNDS; round += 1) {
    // Alternating which goes first, so that neither always runs on a warmer machine.
    const order = round % 2 === 1 ? (['filled', 'given'] as const) : (['given', 'filled'] as const);
    for (const variant of order) {
      const { stdout } = await execFileAsync(process.execPath, ['--no-deprecation', '--input-type=module', '-e', CLIENT, port, variant, String(REQUESTS)]);
      cost[variant].push(Number(stdout.trim()));
    }
  }
  log('');
  log('| options | client CPU µs per request, each run in order | median |');
  log('|---|---|---|');
  log(`| \`{ endStream: false }\` (Node fills in the priority options) | ${cost.filled.join(', ')} | ${median(cost.filled).toFixed(1)} |`);
  log(`| Node's defaults given (weight 16, parent 0, exclusive and silent false) | ${cost.given.join(', ')} | ${median(cost.given).toFixed(1)} |`);
  log('');
  log(`given ÷ filled: ${(median(cost.given) / median(cost.filled)).toFixed(2)}×`);
  log(`at the end: ${loadLine()}`);
} finally {
  server.kill();
}
