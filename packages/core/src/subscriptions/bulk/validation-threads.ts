import { Worker } from 'node:worker_threads';
import type { UploadRecord } from './records.ts';
import { validateRecords, type ValidatedBatch } from './validate-records.ts';

/**
 * Threads validating import records (issue 13 §3). Validation is the API's whole cost of an upload
 * (JSON.parse, the single create's checks, the COPY line: ~12 µs a row on one core); on its own
 * thread it leaves the event loop to the process's other requests, and two threads use the core
 * that PostgreSQL's COPY leaves idle.
 */
export const VALIDATION_THREADS = 2;

export interface ValidationRequest {
  readonly seq: number;
  readonly importId: number;
  readonly allowedPushHosts: readonly string[];
  readonly records: readonly UploadRecord[];
}
export type ValidationReply = { readonly seq: number; readonly result: ValidatedBatch } | { readonly seq: number; readonly failure: string };

interface Pending {
  readonly request: ValidationRequest;
  readonly worker: Worker;
  resolve(batch: ValidatedBatch): void;
  reject(error: Error): void;
}

/**
 * A fixed set of threads shared by every import of the process, started on the first import and
 * unref'd (they never keep a process alive). A batch goes to the threads in turn and its promise
 * settles with that batch's result, so a caller that awaits them in order keeps the upload's order.
 * Validation is pure, so should a thread die or fail to start, its batches are validated on the
 * calling thread instead, then and for the rest of the process: slower, never wrong.
 */
class ValidationThreads {
  readonly #workers: Worker[] = [];
  readonly #pending = new Map<number, Pending>();
  #seq = 0;
  #next = 0;
  #broken = false;

  constructor(size: number) {
    for (let i = 0; i < size; i += 1) {
      // Bounded heaps: a thread holds a few batches at a time, and memory must stay flat however
      // large the upload (one that outgrows them dies, and its batches run on the caller's thread).
      const worker = new Worker(new URL('./validation-thread.mjs', import.meta.url), {
        resourceLimits: { maxOldGenerationSizeMb: 96 },
      });
      worker.on('message', (reply: ValidationReply | { ready: true }) => {
        if (!('seq' in reply)) return;
        const pending = this.#pending.get(reply.seq);
        if (!pending) return;
        this.#pending.delete(reply.seq);
        if (this.#pending.size === 0) this.#idle(true);
        if ('result' in reply) pending.resolve(reply.result);
        else pending.reject(new Error(`import validation failed: ${reply.failure}`));
      });
      worker.on('error', () => this.#fail(worker));
      worker.on('exit', () => this.#fail(worker));
      this.#workers.push(worker);
    }
    this.#idle(true);
  }

  /** Idle threads never keep the process alive; busy ones do, as any pending I/O would. */
  #idle(idle: boolean): void {
    for (const w of this.#workers) {
      if (idle) w.unref();
      else w.ref();
    }
  }

  /** False once a thread died or could not start: batches are then validated on the caller's thread. */
  get usable(): boolean {
    return !this.#broken;
  }

  validate(importId: number, allowedPushHosts: readonly string[], records: readonly UploadRecord[]): Promise<ValidatedBatch> {
    if (this.#broken) return Promise.resolve().then(() => validateRecords(importId, allowedPushHosts, records));
    const seq = (this.#seq += 1);
    const worker = this.#workers[this.#next++ % this.#workers.length]!;
    const request: ValidationRequest = { seq, importId, allowedPushHosts, records };
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#idle(false);
      this.#pending.set(seq, { request, worker, resolve, reject });
      worker.postMessage(request);
    });
  }

  #fail(worker: Worker): void {
    if (!this.#broken) {
      // For the rest of the process: a thread that could not start will not start next time either.
      this.#broken = true;
      for (const w of this.#workers) if (w !== worker) void w.terminate();
    }
    // Every batch still out, on any thread, is validated here instead (the others' answers, should
    // they still come, find nothing pending).
    for (const [seq, p] of this.#pending) {
      this.#pending.delete(seq);
      try {
        p.resolve(validateRecords(p.request.importId, p.request.allowedPushHosts, p.request.records));
      } catch (error) {
        p.reject(error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
}

let shared: ValidationThreads | null = null;

/** The process's validation threads, started on first use. */
export function validationThreads(): ValidationThreads {
  shared ??= new ValidationThreads(VALIDATION_THREADS);
  return shared;
}
