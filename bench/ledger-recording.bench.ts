/**
 * What recording outcomes in the ledger costs a worker per message: outcomes written once per
 * slice (as chunks did before, so that a crash resent up to a slice per chunk) against the
 * OutcomeRecorder (written as they arrive, a few milliseconds' worth at a time), in the same run,
 * rounds alternating, against a Redis server of the benchmark's own (so that its CPU is ours only).
 *
 *   node --import tsx bench/ledger-recording.bench.ts            # 15 s of each platform's outcomes per round, 3 rounds
 *   node --import tsx bench/ledger-recording.bench.ts 30 5       # seconds per round, rounds
 *
 * Each platform is simulated as the worker sees it: WORKER_CONCURRENCY (8) chunks at once, each
 * going through the ledger as the chunk processor does (the ids already done, then slices, the
 * whole run written again at the end, the counts, the chunk forgotten), with answers arriving
 * spread over time at the platform's measured rate (docs/benchmarks.md): web 3,000 msgs/s in
 * slices of 100 (answered one by one), APNs 13,500 msgs/s in slices of 250 (one by one), FCM
 * 9,000 msgs/s in batches of 500 (answered together). The simulation's own CPU is the same for
 * both ways of recording, so the difference between them is the recorder's cost. Prints the
 * machine, the command, CPU µs per message of this process and of Redis, and writes per outcome.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import { createRedis, DEFAULT_RECORDER_OPTIONS, Ledger, OutcomeBatcher, type LedgerEntry, type RecorderOptions, type RedisConnection } from '@pushcast/redis-state';
import { fmt, freePort, gitLine, loadLine, log, machineLine, progress, sleep } from './common.ts';

const SECONDS = Number(process.argv[2] ?? 15);
const ROUNDS = Number(process.argv[3] ?? 3);
const CONCURRENCY = 8;
const CHUNK: Record<Platform, number> = { web: 500, apns: 1000, fcm: 1000 };

type Platform = 'web' | 'apns' | 'fcm';
interface Shape {
  readonly platform: Platform;
  readonly ratePerS: number;
  readonly slice: number;
  /** Answers of a slice arrive one by one (HTTP/2 streams), or all at once (an FCM batch). */
  readonly together: boolean;
}
const SHAPES: Shape[] = [
  { platform: 'web', ratePerS: 3_000, slice: 100, together: false },
  { platform: 'apns', ratePerS: 13_500, slice: 250, together: false },
  { platform: 'fcm', ratePerS: 9_000, slice: 500, together: true },
];

type Mode = { name: string; options?: RecorderOptions };
const MODES: Mode[] = [
  { name: 'per slice (before)' },
  { name: `recorder ${DEFAULT_RECORDER_OPTIONS.maxDelayMs} ms / ${DEFAULT_RECORDER_OPTIONS.maxBatch}`, options: DEFAULT_RECORDER_OPTIONS },
  ...[5, 10, 20]
    .filter((ms) => ms !== DEFAULT_RECORDER_OPTIONS.maxDelayMs)
    .map((ms) => ({ name: `recorder ${ms} ms / ${DEFAULT_RECORDER_OPTIONS.maxBatch}`, options: { ...DEFAULT_RECORDER_OPTIONS, maxDelayMs: ms } })),
];

/** Hands out answers at `ratePerS` over the whole process, a millisecond at a time, to whoever waits first. */
class Answers {
  readonly #waiting: { count: number; give: (n: number) => void }[] = [];
  #owed = 0;
  readonly #timer: NodeJS.Timeout;
  #last = performance.now();
  constructor(ratePerS: number) {
    this.#timer = setInterval(() => {
      const now = performance.now();
      this.#owed += ((now - this.#last) * ratePerS) / 1000;
      this.#last = now;
      while (this.#waiting.length > 0 && this.#owed >= 1) {
        const w = this.#waiting[0]!;
        const n = Math.min(w.count, Math.floor(this.#owed));
        this.#owed -= n;
        w.count -= n;
        if (w.count === 0) this.#waiting.shift();
        w.give(n);
      }
      if (this.#waiting.length === 0) this.#owed = Math.min(this.#owed, 1);
    }, 1);
  }
  /** Calls `give` with how many of `count` answers arrived, as they arrive (in several calls). */
  wait(count: number, give: (n: number) => void): void {
    this.#waiting.push({ count, give });
  }
  stop(): void {
    clearInterval(this.#timer);
  }
}

async function runChunk(ledger: Ledger, answers: Answers, shape: Shape, notificationId: number, chunk: number, firstId: number, batcher: OutcomeBatcher | undefined, counter: { writes: number }) {
  const ttl = 3600;
  const write = (entries: readonly LedgerEntry[]) => {
    counter.writes += 1;
    return ledger.record(notificationId, chunk, shape.platform, entries, ttl);
  };
  const done = await ledger.finalIds(notificationId, chunk);
  const recorded: LedgerEntry[] = [];
  const recorder = batcher?.recorder((e) => write(e));
  const size = CHUNK[shape.platform];
  for (let start = 0; start < size; start += shape.slice) {
    const slice = Math.min(shape.slice, size - start);
    const entries: LedgerEntry[] = [];
    let next = firstId + start;
    await new Promise<void>((resolve) => {
      const arrive = (n: number) => {
        const batch: LedgerEntry[] = [];
        for (let i = 0; i < n; i += 1) batch.push([next++, { kind: 'delivered' }]);
        if (recorder) for (const e of batch) recorder.add(e);
        entries.push(...batch);
        if (entries.length === slice) resolve();
      };
      // An FCM batch is answered whole once its time has come; HTTP/2 streams one by one.
      let pending = slice;
      answers.wait(slice, shape.together ? (n) => void ((pending -= n) === 0 && arrive(slice)) : arrive);
    });
    recorded.push(...entries);
    if (recorder) await recorder.flush();
    else await write(entries);
  }
  await write(recorded);
  await ledger.chunkStats(notificationId, chunk);
  await ledger.forgetChunk(notificationId, chunk);
  return done.size;
}

/** CPU seconds the Redis server has used. */
async function redisCpu(redis: RedisConnection): Promise<number> {
  const info = await (redis as Redis).info('cpu');
  const field = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

async function round(redis: RedisConnection, shape: Shape, mode: Mode, notificationId: number) {
  const ledger = new Ledger(redis, `bench-ledger`);
  const answers = new Answers(shape.ratePerS);
  const counter = { writes: 0 };
  // One batcher for every chunk of the process, as the worker has.
  const batcher = mode.options ? new OutcomeBatcher(mode.options) : undefined;
  const chunks = Math.ceil((shape.ratePerS * SECONDS) / CHUNK[shape.platform]);
  let nextChunk = 0;
  const redis0 = await redisCpu(redis);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (nextChunk < chunks) {
        const c = nextChunk++;
        await runChunk(ledger, answers, shape, notificationId, c, 1 + c * CHUNK[shape.platform], batcher, counter);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisSeconds = (await redisCpu(redis)) - redis0;
  answers.stop();
  await ledger.forgetNotification(notificationId);
  const n = chunks * CHUNK[shape.platform];
  return {
    usPerMsg: (cpu.user + cpu.system) / n,
    redisUsPerMsg: (redisSeconds * 1e6) / n,
    writesPerMsg: counter.writes / n,
    msgsPerS: n / seconds,
  };
}

async function main() {
  const port = await freePort();
  const server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    await sleep(300);
    const redis = createRedis(`redis://127.0.0.1:${port}`, 'worker');
    await redis.ping();
    log(machineLine());
    log(`command: node --import tsx bench/ledger-recording.bench.ts ${SECONDS} ${ROUNDS}`);
    log(`${gitLine()}; ${loadLine()}`);
    log(`${SECONDS} s of outcomes per round and platform, ${CONCURRENCY} chunks at once, a private redis-server`);
    log('');
    log('| platform | recording | CPU µs/msg, each round | CPU µs/msg (median) | Redis CPU µs/msg (median) | ledger writes per outcome | msgs/s |');
    log('|---|---|---|---|---|---|---|');
    let notificationId = 1;
    for (const shape of SHAPES) {
      const results = new Map<string, Awaited<ReturnType<typeof round>>[]>();
      for (let r = 0; r < ROUNDS; r += 1) {
        for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
          progress(`${shape.platform} round ${r + 1}: ${mode.name}`);
          const result = await round(redis, shape, mode, notificationId++);
          progress(`  ${result.usPerMsg.toFixed(2)} µs/msg, redis ${result.redisUsPerMsg.toFixed(2)} µs/msg, ${result.writesPerMsg.toFixed(4)} writes/msg`);
          results.set(mode.name, [...(results.get(mode.name) ?? []), result]);
        }
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      for (const mode of MODES) {
        const rs = results.get(mode.name)!;
        log(
          `| ${shape.platform} | ${mode.name} | ${rs.map((x) => x.usPerMsg.toFixed(1)).join(', ')} | ${median(rs.map((x) => x.usPerMsg)).toFixed(1)} | ${median(rs.map((x) => x.redisUsPerMsg)).toFixed(1)} | ${median(rs.map((x) => x.writesPerMsg)).toFixed(3)} | ${fmt(median(rs.map((x) => x.msgsPerS)))} |`,
        );
      }
    }
    redis.disconnect();
  } finally {
    server.kill('SIGKILL');
  }
}

await main();
