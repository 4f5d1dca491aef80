/**
 * Runs the service in its own process, so the benchmark can keep its CPU apart from Pushcast's:
 *   PORT=0 DECRYPT=0 RECORD=0 SEED=pushcast-local [LATENCY_MS=50] node --import tsx packages/local-push-service/src/main.ts
 * Prints {"origin","caFile"} as one JSON line, then one JSON line of counters per SIGUSR2
 * (also served at GET /__counters). Subscriptions: deriveSubscription(origin, id, SEED) in the caller.
 */
import { DEFAULT_SEED } from './keys.ts';
import { startLocalPushService } from './service.ts';

function flag(name: string, fallback: boolean): boolean {
  const value = process.env[name]?.trim().toLowerCase();
  if (value === undefined || value === '') return fallback;
  return !['0', 'false', 'no', 'off'].includes(value);
}

const port = Number(process.env['PORT'] ?? 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`PORT must be an integer in 0..65535, got ${JSON.stringify(process.env['PORT'])}\n`);
  process.exit(2);
}

const latencyMs = Number(process.env['LATENCY_MS'] ?? 0);
if (!Number.isFinite(latencyMs) || latencyMs < 0) {
  process.stderr.write(`LATENCY_MS must be a number of milliseconds >= 0, got ${JSON.stringify(process.env['LATENCY_MS'])}\n`);
  process.exit(2);
}

const service = await startLocalPushService({
  port,
  decrypt: flag('DECRYPT', true),
  record: flag('RECORD', true),
  seed: process.env['SEED'] || DEFAULT_SEED,
  latencyMs,
});
process.stdout.write(`${JSON.stringify({ origin: service.origin, caFile: service.caFile })}\n`);

process.on('SIGUSR2', () => {
  process.stdout.write(`${JSON.stringify(service.counters())}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    void service.close().then(() => process.exit(0));
  });
}
