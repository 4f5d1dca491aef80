/**
 * The APNs baseline: what a user would otherwise write with @parse/node-apn — one Provider with the
 * .p8 key, and ONE `provider.send(note, allTokens)` over every device token of the project (the
 * library's documented call; it starts every recipient at once). Run by mobile.bench.ts in a process
 * of its own so that its CPU and memory can be read.
 *   DATABASE_URL PROJECT_ID LIMIT MESSAGE_FILE (payload and headers, the same as Pushcast's)
 *   APNS_HOST APNS_PORT CA_FILE KEY_FILE KEY_ID TEAM_ID TOPIC
 * Protocol (shared with baseline-fcm.ts): prints {"ready":true} once loaded, starts on the stdin
 * line "go" (loading the tokens is part of the measured work), prints one JSON line of results,
 * then exits when stdin closes.
 */
import { readFileSync } from 'node:fs';
import apn from '@parse/node-apn';
import { apnsNoteOfMessageFile } from './apns-note.ts';
import { failureReason, startWhenToldAndLoadTokens, tally } from './baseline-protocol.ts';

const env = (k: string) => process.env[k] ?? '';
const provider = new apn.Provider({
  token: { key: readFileSync(env('KEY_FILE'), 'utf8'), keyId: env('KEY_ID'), teamId: env('TEAM_ID') },
  production: true,
  address: env('APNS_HOST'),
  port: Number(env('APNS_PORT')),
  ca: [readFileSync(env('CA_FILE'), 'utf8')],
});

const { started, tokens, lines } = await startWhenToldAndLoadTokens('apns');
const note = apnsNoteOfMessageFile();

const result = await provider.send(note, tokens);
const seconds = (performance.now() - started) / 1000;
const reasons = tally(result.failed.map((f) => failureReason(f.response?.reason ?? (f.status ? `HTTP ${f.status}` : undefined), f.error)));
process.stdout.write(`${JSON.stringify({ attempted: tokens.length, delivered: result.sent.length, failed: result.failed.length, reasons, seconds })}\n`);

await new Promise<void>((resolve) => lines.once('close', resolve));
await provider.shutdown();
process.exit(0);
