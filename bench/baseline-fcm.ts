/**
 * The FCM baseline: what a user would otherwise write with firebase-admin — one app from the
 * service-account JSON, and `sendEachForMulticast` over the project's registration tokens, 500 (the
 * library's limit) per call, one call after the other. Run by mobile.bench.ts in a process of its own
 * so that its CPU and memory can be read.
 *   DATABASE_URL PROJECT_ID LIMIT MESSAGE_FILE (the same message as Pushcast's) FCM_ORIGIN CA_FILE
 *   SERVICE_ACCOUNT_FILE
 * Protocol as baseline-apns.ts: {"ready":true}, then "go" on stdin, one JSON line of results.
 *
 * firebase-admin has no endpoint option: its requests (FCM over HTTP/2, Google's OAuth token
 * endpoint) are redirected to the local FCM server with @pushcast/providers' seams, which change
 * where the TCP connection goes and nothing else.
 */
import { readFileSync } from 'node:fs';
import { cert, initializeApp } from 'firebase-admin/app';
import { getMessaging, type MulticastMessage } from 'firebase-admin/messaging';
import { createFcmAgent, redirectFcmTo, redirectOAuthTo } from '@pushcast/providers';
import { failureReason, startWhenToldAndLoadTokens, tally } from './baseline-protocol.ts';

const env = (k: string) => process.env[k] ?? '';
const template = JSON.parse(readFileSync(env('MESSAGE_FILE'), 'utf8')) as Omit<MulticastMessage, 'tokens'>;
const serviceAccount = JSON.parse(readFileSync(env('SERVICE_ACCOUNT_FILE'), 'utf8')) as Record<string, string>;
const origin = env('FCM_ORIGIN');
const ca = readFileSync(env('CA_FILE'), 'utf8');
redirectFcmTo(origin, ca);
redirectOAuthTo(origin, ca);
const agent = createFcmAgent(origin, ca);
const app = initializeApp({ credential: cert(serviceAccount), projectId: serviceAccount.project_id!, httpAgent: agent });
const messaging = getMessaging(app);

const { started, tokens, lines } = await startWhenToldAndLoadTokens('fcm');
let delivered = 0;
const failures: string[] = [];
for (let i = 0; i < tokens.length; i += 500) {
  const batch = tokens.slice(i, i + 500);
  try {
    const res = await messaging.sendEachForMulticast({ ...template, tokens: batch });
    delivered += res.successCount;
    for (const r of res.responses) if (!r.success) failures.push(failureReason(r.error?.code, r.error));
  } catch (error) {
    // The whole call failed (session refused, credential): every token of it is lost.
    for (let k = 0; k < batch.length; k += 1) failures.push(failureReason(undefined, error));
  }
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(
  `${JSON.stringify({ attempted: tokens.length, delivered, failed: failures.length, reasons: tally(failures), seconds })}\n`,
);

await new Promise<void>((resolve) => lines.once('close', resolve));
process.exit(0);
