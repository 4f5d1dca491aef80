import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { once } from 'node:events';
import { Transform } from 'node:stream';
import type { Config } from '@pushcast/config';
import { exportSubscriptions, receiveImport, type CoreDeps, type ExportFormat } from '@pushcast/core';
import { parseTagFilter, PushcastError } from '@pushcast/domain';
import { createQueues } from '@pushcast/queues';
import { createRedis, Ledger, QuotaCounter } from '@pushcast/redis-state';
import { createLogger } from '@pushcast/runtime';
import { findImport, findProject, type Db, type ImportFormat } from '@pushcast/store';

/** `pushcast import` / `export`: the API's use cases, run against the configured database and Redis. */
export async function withCoreDeps<T>(config: Config, db: Db, work: (deps: CoreDeps) => Promise<T>): Promise<T> {
  const redis = createRedis(config.redisUrl, 'producer', config.redisCluster);
  redis.on('error', () => {});
  const queues = createQueues(redis, config.bullPrefix);
  try {
    return await work({
      config,
      db,
      queues,
      ledger: new Ledger(redis, config.redisStatePrefix),
      quota: new QuotaCounter(redis, config.redisStatePrefix),
      logger: createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel, 'cli', { format: config.logFormat }),
    });
  } finally {
    await queues.close();
    redis.disconnect();
  }
}

/** A progress line on a terminal (stderr), redrawn in place; nothing when stderr is a file or pipe. */
function progressLine(): { show(text: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return {
    show(text) {
      const now = Date.now();
      if (!tty || now - last < 100) return;
      last = now;
      process.stderr.write(`\r\u001b[2K${text}`);
    },
    done() {
      if (tty) process.stderr.write('\r\u001b[2K');
    },
  };
}

const bar = (fraction: number, width = 30): string => {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
};
const megabytes = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

async function isGzip(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
  } finally {
    await file.close();
  }
}

export interface ImportCommand {
  readonly projectId: number;
  readonly path: string;
  readonly format?: ImportFormat | undefined;
  /** Wait for a worker to apply the rows (the default), or return once the file is accepted. */
  readonly wait: boolean;
}

/** Streams FILE into the project's subscriptions; prints the import's outcome. Exit status 1 if rows were rejected. */
export async function importCommand(deps: CoreDeps, cmd: ImportCommand, fail: (message: string) => never): Promise<number> {
  if (!(await findProject(deps.db, cmd.projectId))) fail(`project ${cmd.projectId} does not exist`);
  const size = (await stat(cmd.path).catch(() => fail(`${cmd.path}: no such file`))).size;
  const format = cmd.format ?? (/\.csv(\.gz)?$/i.test(cmd.path) ? 'csv' : 'ndjson');
  const progress = progressLine();
  let read = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      read += chunk.length;
      progress.show(`reading ${bar(read / size)} ${megabytes(read)} / ${megabytes(size)}`);
      done(null, chunk);
    },
  });
  const file = createReadStream(cmd.path);
  file.on('error', (error) => counted.destroy(error));
  const gzip = await isGzip(cmd.path);
  let current;
  try {
    current = await receiveImport(deps, { projectId: cmd.projectId, format, gzip, body: file.pipe(counted) });
  } catch (error) {
    progress.done();
    if (error instanceof PushcastError) fail(`${cmd.path}: ${error.message}`);
    throw error;
  }
  progress.done();
  process.stderr.write(`import ${current.id} accepted: ${current.rows} rows read, ${current.rejected} rejected\n`);
  while (cmd.wait && (current.status === 'queued' || current.status === 'running')) {
    await new Promise((r) => setTimeout(r, 250));
    current = (await findImport(deps.db, current.id)) ?? current;
    const applied = current.inserted + current.updated;
    progress.show(`applying ${bar(applied / Math.max(1, current.rows - current.rejected))} ${applied} / ${current.rows - current.rejected} rows`);
  }
  progress.done();
  for (const e of current.errors.slice(0, 20)) process.stderr.write(`line ${e.line}: ${e.field}: ${e.rule}: ${e.message}\n`);
  if (current.rejected > 20) process.stderr.write(`… ${current.rejected - 20} more rejected rows (GET /api/v1/imports/${current.id})\n`);
  process.stdout.write(
    `${JSON.stringify({ id: current.id, status: current.status, rows: current.rows, inserted: current.inserted, updated: current.updated, rejected: current.rejected })}\n`,
  );
  return current.rejected > 0 || current.status === 'failed' ? 1 : 0;
}

export interface ExportCommand {
  readonly projectId: number;
  readonly format: ExportFormat;
  readonly tags?: string | undefined;
}

/** Writes every subscription of the project (optionally those matching a tags expression) to stdout. */
export async function exportCommand(db: Db, cmd: ExportCommand, fail: (message: string) => never): Promise<void> {
  if (!(await findProject(db, cmd.projectId))) fail(`project ${cmd.projectId} does not exist`);
  let tags = null;
  if (cmd.tags !== undefined) {
    const parsed = parseTagFilter([cmd.tags]);
    if (!parsed.ok) fail(`--tags: ${parsed.error.message}`);
    tags = parsed.value;
  }
  const progress = progressLine();
  let lines = 0;
  for await (const piece of exportSubscriptions(db, { projectId: cmd.projectId, tags }, cmd.format)) {
    if (!process.stdout.write(piece)) await once(process.stdout, 'drain');
    lines += piece.split('\n').length - 1;
    progress.show(`exported ${lines} lines`);
  }
  progress.done();
  process.stderr.write(`exported ${lines - (cmd.format === 'csv' ? 1 : 0)} subscriptions\n`);
}
