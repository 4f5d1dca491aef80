import { setTimeout as sleep } from 'node:timers/promises';
import { processed, type ApiClient, type NotificationJson } from './api-client.ts';

const POLL_MS = 250;
const BAR_WIDTH = 20;
/** The rate shown is over about the last second: the average since the start hides slow-downs. */
const RATE_WINDOW_MS = 1_000;
/** Retries wait seconds at most here, so a minute without any outcome means something is broken. */
const STALL_MS = 60_000;

interface Sample {
  at: number;
  done: number;
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/**
 * Polls the notification over the API until it is sent, drawing progress on stderr (stdout stays
 * for the results). A terminal gets one redrawn line; a pipe or CI log gets a line a second.
 */
export async function watchBroadcast(
  api: ApiClient,
  id: number,
  expected: number,
  signal: AbortSignal,
): Promise<NotificationJson> {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  const samples: Sample[] = [];
  let nextPrint = started;
  let lastDone = -1;
  let lastChange = started;
  let lineOpen = false;
  try {
    for (;;) {
      const n = await api.get<NotificationJson>(`/notifications/${id}`);
      const now = performance.now();
      const done = processed(n);
      samples.push({ at: now, done });
      while (samples.length > 2 && samples[1]!.at <= now - RATE_WINDOW_MS) samples.shift();
      const first = samples[0]!;
      const rate = now > first.at ? ((done - first.done) * 1000) / (now - first.at) : 0;
      const finished = n.status === 'sent';
      const line = render(done, Math.max(n.scheduled_count, expected), rate, now - started);

      if (tty) {
        process.stderr.write(`\r${line}\x1b[K`);
        lineOpen = true;
      } else if (finished || now >= nextPrint) {
        process.stderr.write(`${line}\n`);
        // On a grid rather than "a second after the last line", so slow polls do not stretch it.
        while (nextPrint <= now) nextPrint += 1_000;
      }
      if (finished) return n;
      if (n.status === 'cancelled') throw new Error(`notification ${id} was cancelled`);
      if (done !== lastDone) {
        lastDone = done;
        lastChange = now;
      } else if (now - lastChange > STALL_MS) {
        throw new Error(`no progress for ${STALL_MS / 1000}s (notification ${id} is ${n.status}); see the worker's log above`);
      }
      await sleep(POLL_MS, undefined, { signal });
    }
  } finally {
    if (lineOpen) process.stderr.write('\n');
  }
}

function render(done: number, total: number, rate: number, elapsedMs: number): string {
  const ratio = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.round(ratio * BAR_WIDTH);
  const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4);
  const count = `${fmt(done)}/${fmt(total)}`;
  return `[${bar}] ${pct} ${count}  ${fmt(rate)} msg/s  ${seconds(elapsedMs)}`;
}
