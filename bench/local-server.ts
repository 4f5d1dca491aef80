/**
 * The local APNs or FCM server in a process of its own for mobile.bench.ts, so that the worker's (or
 * the baseline's) CPU is measured alone. It counts each device token's deliveries (duplicates show)
 * from the service's `onAnswer`, keeping no request, and answers commands on stdin, one JSON line
 * each on stdout:
 *   stats  → {counters, delivered: tokens answered 200 at least once, ok200: 200 answers, duplicates,
 *             firstOkAt and lastOkAt: epoch ms of the first and the last 200}
 *   reset  → forgets requests, counters, minted provider tokens and scripts (trusted keys stay)
 *   script {"groups":[{"answers":[{"status":429,"retryAfterSeconds":1}],"tokens":[…]}]}
 *          → each token of a group gets that group's answers, one per request, then 200s again
 *            (the services' script(); thousands of tokens in one line, where /__script/<token> takes
 *            one request each); prints {"scripted": tokens}
 *
 *   PLATFORM=apns KEYS='[{"keyId","teamId","publicKeyPem","topics":[…]}]' node --import tsx bench/local-server.ts
 *   PLATFORM=fcm ACCOUNTS='[{"clientEmail","projectId","publicKeyPem"}]' node --import tsx bench/local-server.ts
 * First line: {"origin","caFile"}.
 */
import { createInterface } from 'node:readline';
import { startLocalApnsService, type TrustedApnsKey } from '@pushcast/local-apns-service';
import { startLocalFcmService, type ServiceAccountToTrust } from '@pushcast/local-fcm-service';

interface Service {
  origin: string;
  caFile: string;
  counters(): unknown;
  reset(): void;
  script(token: string, answers: never[]): void;
  close(): Promise<void>;
}

// Node's HTTP/2 ends each answered stream before its last write is reported done when the bytes go
// through a JS stream (the FCM server's `:scheme` filter), and then makes an ERR_STREAM_DESTROYED
// for that write, which nobody reads: capturing its stack took ~9 % of the FCM server's CPU.
Error.stackTraceLimit = 0;

/** Device tokens answered 200 since the last reset. Recording whole requests instead kept 200,000
 * of them in the server's heap: the APNs server took 15–16 s of CPU per 200,000 requests then,
 * 11–15 s now, on the two cores it shares with the sender it serves (docs/benchmarks.md). */
const delivered = new Set<string>();
let ok200 = 0;
/** When the first and the last 200 of a round were answered (epoch ms): where a sender's time goes. */
let firstOkAt: number | undefined;
let lastOkAt: number | undefined;
// A set of the tokens answered 200, not a count per token: one hash operation a request, and the
// duplicates are the 200s beyond one per token.
const onAnswer = (token: string, status: number): void => {
  if (status !== 200) return;
  ok200 += 1;
  delivered.add(token);
  lastOkAt = Date.now();
  firstOkAt ??= lastOkAt;
};

const platform = process.env.PLATFORM;
let service: Service;
if (platform === 'apns') {
  const apns = await startLocalApnsService({ record: false, onAnswer });
  for (const { topics, ...key } of JSON.parse(process.env.KEYS ?? '[]') as (TrustedApnsKey & { topics: string[] })[]) {
    apns.trustKey(key, topics);
  }
  service = apns;
} else if (platform === 'fcm') {
  const fcm = await startLocalFcmService({ record: false, onAnswer });
  for (const account of JSON.parse(process.env.ACCOUNTS ?? '[]') as ServiceAccountToTrust[]) fcm.trustServiceAccount(account);
  service = fcm;
} else {
  process.stderr.write('PLATFORM must be apns or fcm\n');
  process.exit(2);
}

const print = (value: unknown) => void process.stdout.write(`${JSON.stringify(value)}\n`);
print({ origin: service.origin, caFile: service.caFile });

function stats() {
  return { counters: service.counters(), delivered: delivered.size, ok200, duplicates: ok200 - delivered.size, firstOkAt, lastOkAt };
}

/** Scripted answers, as the platform's service takes them (ScriptedApnsAnswer / ScriptedFcmAnswer). */
function script(json: string) {
  const { groups } = JSON.parse(json) as { groups: { answers: never[]; tokens: string[] }[] };
  let scripted = 0;
  for (const { answers, tokens } of groups) {
    for (const token of tokens) service.script(token, answers);
    scripted += tokens.length;
  }
  return { scripted };
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const command = line.trim();
  const space = command.indexOf(' ');
  const [verb, rest] = space < 0 ? [command, ''] : [command.slice(0, space), command.slice(space + 1)];
  try {
    if (verb === 'stats') print(stats());
    else if (verb === 'reset') {
      service.reset();
      delivered.clear();
      ok200 = 0;
      firstOkAt = lastOkAt = undefined;
      print({ reset: true });
    } else if (verb === 'script') print(script(rest));
    else print({ error: `unknown command ${command.slice(0, 100)}` });
  } catch (error) {
    print({ error: error instanceof Error ? error.message : String(error) });
  }
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => void service.close().then(() => process.exit(0)));
}
