/**
 * Runs the service in its own process, so the benchmark can keep its CPU apart from Pushcast's:
 *   PORT=0 RECORD=0 KEYS='[{"keyId","teamId","publicKeyPem","topics":["com.example.app"]}]' \
 *     node --import tsx packages/local-apns-service/src/main.ts
 * Prints {"origin","caFile","port"} as one JSON line, then one JSON line of counters per SIGUSR2.
 * Driven over HTTP/2 by another process: POST /__trust {keyId,teamId,publicKeyPem,topics},
 * POST /__revoke {keyId}, POST /__script/<token> {answers,sticky}, GET /__counters, POST /__reset.
 */
import { startLocalApnsService, type TrustedApnsKey } from './service.ts';

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

function flag(name: string, fallback: boolean): boolean {
  const value = process.env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value);
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    fail(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function parseKeys(raw: string | undefined): Array<TrustedApnsKey & { topics: string[] }> {
  if (raw === undefined || raw.trim() === '') return [];
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    fail(`KEYS is not JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(value)) fail('KEYS must be a JSON array of {keyId, teamId, publicKeyPem, topics}');
  return value as Array<TrustedApnsKey & { topics: string[] }>;
}

const port = integer('PORT', 0, 0, 65535);
const maxConcurrentStreams = integer('MAX_CONCURRENT_STREAMS', 1000, 1, 2 ** 31 - 1);
const keys = parseKeys(process.env['KEYS']);

const service = await startLocalApnsService({ port, record: flag('RECORD', true), maxConcurrentStreams });
try {
  for (const { topics, ...cred } of keys) service.trustKey(cred, topics);
} catch (e) {
  await service.close();
  fail(`KEYS: ${e instanceof Error ? e.message : String(e)}`);
}
process.stdout.write(`${JSON.stringify({ origin: service.origin, caFile: service.caFile, port: service.port })}\n`);

process.on('SIGUSR2', () => {
  process.stdout.write(`${JSON.stringify(service.counters())}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0));
  });
}
