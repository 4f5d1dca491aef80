import { setTimeout as sleep } from 'node:timers/promises';
import type { Worker } from 'bullmq';
import type { Logger } from 'pino';

/** A Redis client as far as closing needs to know it (ioredis' `status`). */
interface StatusClient {
  readonly status: string;
}

export interface CloseWorkersOptions {
  /** How long to wait for connections between reconnect attempts to be connected again (ioredis waits at most 2 s between attempts). */
  readonly settleMs?: number;
  /** How long BullMQ's close may take before the workers are left to their locks' expiry. */
  readonly deadlineMs: number;
  readonly logger: Logger;
}

/**
 * Closes BullMQ workers so that the process can always exit. BullMQ's `Worker.close()` never
 * resolves when its blocking connection is between two reconnect attempts (after a Redis restart,
 * or while Redis is down): ioredis clears the reconnect timer and, the socket being gone, never
 * emits the `end` BullMQ waits for (bullmq#4656, reproduced on Node 20 and 24). So: first give such
 * connections the time of one reconnect attempt to be connected again (a Redis that is back), then
 * bound the close (a Redis still down). Workers left unclosed lose nothing: their running jobs were
 * handed back or are taken over by other workers once their locks expire.
 * Returns whether BullMQ's close finished.
 */
export async function closeWorkers(workers: readonly Worker[], clients: readonly StatusClient[], opts: CloseWorkersOptions): Promise<boolean> {
  const all = [...clients, ...(await Promise.all(workers.map(blockingClient))).filter((c): c is StatusClient => c !== undefined)];
  const settleUntil = Date.now() + (opts.settleMs ?? 3_000);
  while (all.some(betweenAttempts) && Date.now() < settleUntil) await sleep(50);
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    Promise.all(workers.map((w) => w.close())).then(() => true),
    new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), opts.deadlineMs);
    }),
  ]);
  clearTimeout(timer);
  if (!closed) {
    const statuses = all.map((c) => c.status);
    opts.logger.warn({ deadlineMs: opts.deadlineMs, statuses }, 'queue workers did not close in time (Redis unreachable): their jobs are taken over once their locks expire');
  }
  return closed;
}

const betweenAttempts = (c: StatusClient): boolean => c.status === 'reconnecting' || c.status === 'connecting' || c.status === 'connect';

/**
 * The worker's blocking connection, which reconnects on its own schedule. BullMQ keeps it to
 * itself (its queue backend's `blockingConnection`); a test says when an upgrade moves it.
 */
export async function blockingClient(w: Worker): Promise<StatusClient | undefined> {
  const backend = (w as unknown as { backend?: { blockingConnection?: { client?: Promise<StatusClient> } } }).backend;
  const client = backend?.blockingConnection?.client;
  return client ? await Promise.race([client, sleep(1_000, undefined)]) : undefined;
}
