/**
 * FcmClient alone against the firebase-admin `sendEachForMulticast` loop, no queues or database:
 * the provider's own cost per message. The local FCM server runs in a process of its own
 * (bench/local-server.ts); the senders run here one after the other, alternating, and each
 * round's CPU is this process's own (`process.cpuUsage`) over that round.
 *
 *   node --import tsx bench/fcm-client.bench.ts [messages per round, default 50000] [rounds, default 3]
 */
import { createHash } from 'node:crypto';
import { generateServiceAccount } from '@pushcast/local-fcm-service';
import { FcmClient, localFcmTransport, type FcmMessageTemplate } from '@pushcast/providers';
import { cert, deleteApp, initializeApp } from 'firebase-admin/app';
import { getMessaging } from 'firebase-admin/messaging';
import { fmt, gitLine, loadLine, log, machineLine, progress } from './common.ts';
import { run } from './proc.ts';

const N = Number(process.argv[2] ?? 50_000);
const ROUNDS = Number(process.argv[3] ?? 3);
const token = (i: number) => `${createHash('md5').update(`fcm-${i}`).digest('base64url').slice(0, 22)}:APA91b${createHash('sha256').update(`fcm-${i}`).digest('base64url')}`;
const TEMPLATE: FcmMessageTemplate = {
  notification: { title: 'Benchmark', body: `Mobile broadcast benchmark: ${'x'.repeat(160)}` },
  data: { id: '1', target_url: 'https://bench.example/article/42' },
  android: { priority: 'normal', ttl: 3_600_000 },
};

log('# FcmClient alone vs the sendEachForMulticast loop');
log(machineLine());
log(`command: node --import tsx bench/fcm-client.bench.ts ${N} ${ROUNDS}`);
log(gitLine());
log(`at start: ${loadLine()}`);

const account = generateServiceAccount('pushcast-bench');
const server = run('bench/local-server.ts', {
  PLATFORM: 'fcm',
  ACCOUNTS: JSON.stringify([{ clientEmail: account.clientEmail, projectId: account.projectId, publicKeyPem: account.publicKeyPem }]),
});
const { origin, caFile } = JSON.parse(await server.firstLine()) as { origin: string; caFile: string };
const { readFileSync } = await import('node:fs');
const transport = localFcmTransport(origin, readFileSync(caFile, 'utf8'));
const tokens = Array.from({ length: N }, (_, i) => token(i));
const stats = async () => {
  server.send('stats');
  return JSON.parse(await server.nextLine()) as { counters: { sessions: number; peakInFlight: number }; delivered: number };
};
const reset = async () => {
  server.send('reset');
  await server.nextLine();
};

const client = new FcmClient({
  credentials: { projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKeyPem, privateKeyId: null },
  maxInFlight: 100,
  httpAgent: transport.httpAgent,
});
const app = initializeApp({
  credential: cert({ projectId: account.projectId, clientEmail: account.clientEmail, privateKey: account.privateKeyPem }),
  projectId: account.projectId,
});
const messaging = getMessaging(app);
// Warm both (token, JIT) on a few batches.
await client.send(tokens.slice(0, 2000).map((t, i) => ({ subscriptionId: i, token: t })), TEMPLATE);
for (let i = 0; i < 2000; i += 500) await messaging.sendEachForMulticast({ ...TEMPLATE, tokens: tokens.slice(i, i + 500) });

const rows: { sender: string; round: number; seconds: number; cpu: number; delivered: number; sessions: number; peak: number }[] = [];
const measure = async (sender: string, round: number, go: () => Promise<void>) => {
  await reset();
  global.gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await go();
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu0);
  const s = await stats();
  rows.push({ sender, round, seconds, cpu: (used.user + used.system) / 1e6, delivered: s.delivered, sessions: s.counters.sessions, peak: s.counters.peakInFlight });
  progress(`${sender} round ${round}: ${fmt(s.delivered / seconds)} msg/s`);
};
const pushcast = async () => {
  // As the worker does: slices of 500, eight at a time (WORKER_CONCURRENCY chunks).
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < N) {
        const start = next;
        next += 500;
        await client.send(tokens.slice(start, start + 500).map((t, i) => ({ subscriptionId: start + i, token: t })), TEMPLATE);
      }
    }),
  );
};
const loop = async () => {
  for (let i = 0; i < N; i += 500) await messaging.sendEachForMulticast({ ...TEMPLATE, tokens: tokens.slice(i, i + 500) });
};
for (let round = 1; round <= ROUNDS; round += 1) {
  const order: [string, () => Promise<void>][] = [
    ['FcmClient (one session)', pushcast],
    ['sendEachForMulticast loop', loop],
  ];
  if (round % 2 === 0) order.reverse();
  for (const [name, go] of order) await measure(name, round, go);
}

log(`\n| round | sender | delivered | seconds | msg/s | CPU µs/msg | HTTP/2 sessions | peak in flight |`);
log('|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  log(`| ${r.round} | ${r.sender} | ${fmt(r.delivered)} | ${r.seconds.toFixed(1)} | ${fmt(r.delivered / r.seconds)} | ${fmt((r.cpu / r.delivered) * 1e6)} | ${r.sessions} | ${r.peak} |`);
}
log(`\nat the end: ${loadLine()}`);
await client.close();
await deleteApp(app);
transport.close();
await server.stop();
