/**
 * The lean APNs sender: the least a Node program must do to deliver the same broadcast, as a
 * competent user would write it with node:http2 alone. It is the APNs yardstick that runs beside
 * the worker in the same round (issue 18 asks APNs to keep ≥ 13,000 msg/s and ≤ 70 µs a message,
 * figures set on another machine; this sender's figures say what the machine of the run allows).
 * No queues, no ledger, no retries, no metrics: the project's device tokens read in one query,
 * the notification's headers and JSON body built once by node-apn (the same bytes as Pushcast's),
 * one provider token signed once (ES256), and ONE HTTP/2 session with IN_FLIGHT (default 1,000,
 * Pushcast's APNS_MAX_IN_FLIGHT_PER_CREDENTIAL) streams in flight, each request started when
 * another is answered. Plain `session.request()`: none of the worker's workarounds for Node 20's
 * per-request costs (packages/providers/src/http2/lean-request.ts), unless LEAN_APNS_REQUEST=pushcast
 * (then with them: what the queues, ledger and statistics cost beside the same requests).
 *   DATABASE_URL PROJECT_ID LIMIT MESSAGE_FILE APNS_HOST APNS_PORT CA_FILE KEY_FILE KEY_ID TEAM_ID TOPIC [IN_FLIGHT] [LEAN_APNS_REQUEST]
 * Protocol: baseline-protocol.ts's, as baseline-apns.ts.
 */
import { readFileSync } from 'node:fs';
import http2 from 'node:http2';
import { signApnsProviderToken } from '@pushcast/local-apns-service';
import { apnsNoteOfMessageFile } from './apns-note.ts';
import { failureReason, startWhenToldAndLoadTokens, tally } from './baseline-protocol.ts';

const env = (k: string) => process.env[k] ?? '';
const inFlight = Number(env('IN_FLIGHT') || 1000);
const keyPem = readFileSync(env('KEY_FILE'), 'utf8');
const ca = readFileSync(env('CA_FILE'), 'utf8');

const { started, tokens, lines } = await startWhenToldAndLoadTokens('apns');

const built = apnsNoteOfMessageFile() as unknown as { headers(): Record<string, string | number>; compile(): string };
const body = Buffer.from(built.compile());

const providerToken = signApnsProviderToken({ keyId: env('KEY_ID'), teamId: env('TEAM_ID'), keyPem });
const headers: http2.OutgoingHttpHeaders = { ':method': 'POST', authorization: `bearer ${providerToken}` };
for (const [name, value] of Object.entries(built.headers())) headers[name] = String(value);

const request: (session: http2.ClientHttp2Session, headers: http2.OutgoingHttpHeaders) => http2.ClientHttp2Stream =
  env('LEAN_APNS_REQUEST') === 'pushcast'
    ? (await import('../packages/providers/src/http2/lean-request.ts')).leanRequest
    : (session, headers) => session.request(headers);

const session = http2.connect(`https://${env('APNS_HOST')}:${env('APNS_PORT')}`, { ca });
session.on('error', () => {});
let delivered = 0;
const failures: string[] = [];

await new Promise<void>((resolve) => {
  let next = 0;
  let left = tokens.length;
  if (left === 0) resolve();
  const start = () => {
    const req = request(session, { ...headers, ':path': `/3/device/${tokens[next++]!}` });
    let status = 0;
    let text = '';
    let error: unknown;
    req.on('response', (h) => (status = Number(h[':status'])));
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (text += chunk));
    req.on('error', (e) => (error = e));
    req.on('close', () => {
      if (status === 200) delivered += 1;
      else failures.push(failureReason(reasonOf(text) ?? (status ? `HTTP ${status}` : undefined), error));
      if (next < tokens.length) start();
      if (--left === 0) resolve();
    });
    req.end(body);
  };
  for (let i = 0; i < Math.min(inFlight, tokens.length); i += 1) start();
});

const seconds = (performance.now() - started) / 1000;
process.stdout.write(`${JSON.stringify({ attempted: tokens.length, delivered, failed: failures.length, reasons: tally(failures), seconds })}\n`);

await new Promise<void>((resolve) => lines.once('close', resolve));
session.close();
process.exit(0);

function reasonOf(text: string): string | undefined {
  try {
    const reason = (JSON.parse(text) as { reason?: unknown }).reason;
    return typeof reason === 'string' ? reason : undefined;
  } catch {
    return undefined;
  }
}
