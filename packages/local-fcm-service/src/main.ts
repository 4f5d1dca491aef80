/**
 * Runs the service in its own process, so the benchmark can keep its CPU apart from Pushcast's:
 *   PORT=0 RECORD=0 MAX_STREAMS=100 node --import tsx packages/local-fcm-service/src/main.ts
 * Prints {"origin","caFile","port"} as one JSON line, then one JSON line of counters per SIGUSR2
 * (also served at GET /__counters). Answers are scripted with POST /__script/<token>
 * ({"answers":[...],"sticky":bool}); POST /__reset forgets counters and scripts. POST
 * /__trust-service-account ({"clientEmail","projectId","publicKeyPem"|"privateKeyPem"}, or a console
 * JSON key file) lets that account get tokens from POST /token; POST /__untrust-service-account
 * ({"clientEmail"}) revokes it.
 */
import { startLocalFcmService } from './service.ts';

function flag(name: string, fallback: boolean): boolean {
  const value = process.env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value);
}

function integer(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name]?.trim();
  const value = raw === undefined || raw === '' ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    process.stderr.write(`${name} must be an integer in ${min}..${max}, got ${JSON.stringify(raw)}\n`);
    process.exit(2);
  }
  return value;
}

const service = await startLocalFcmService({
  port: integer('PORT', 0, 0, 65535),
  record: flag('RECORD', true),
  maxConcurrentStreams: integer('MAX_STREAMS', 100, 1, 2 ** 31 - 1),
});
process.stdout.write(`${JSON.stringify({ origin: service.origin, caFile: service.caFile, port: service.port })}\n`);

process.on('SIGUSR2', () => {
  process.stdout.write(`${JSON.stringify(service.counters())}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0));
  });
}
