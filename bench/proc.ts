import { readFileSync } from 'node:fs';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** CPU seconds (user + system) a process has used so far, from /proc. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident memory now and at its peak, MiB. */
export function memoryMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(status.match(new RegExp(`^${key}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

export interface Proc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly pid: number;
  readonly exited: Promise<number | null>;
  /** The first line the process printed (the same promise on every call). */
  firstLine(): Promise<string>;
  /** The next line not yet taken by firstLine/nextLine; rejects if the process exits first. */
  nextLine(): Promise<string>;
  /** Writes one line to the process's stdin. */
  send(line: string): void;
  /** The last 2,000 characters of its stderr. */
  stderrTail(): string;
  stop(): Promise<void>;
}

/** A TypeScript entry point in a process of its own, so that its CPU and memory are its own. */
export function run(entry: string, env: Record<string, string>, args: string[] = [], nodeArgs: string[] = []): Proc {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', entry, ...args], { env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-20_000)));
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  void exited.then((code) => {
    exitCode = code;
    if (code !== 0 && code !== null) process.stderr.write(`${entry} exited ${code}: ${stderr.slice(-2000)}\n`);
    for (const w of waiting.splice(0)) w.reject(new Error(`${entry} exited (${code}) before printing: ${stderr.slice(-2000)}`));
  });
  // One reader for stdout: complete lines are queued until someone asks for them.
  const lines: string[] = [];
  const waiting: { resolve: (line: string) => void; reject: (e: Error) => void }[] = [];
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const w = waiting.shift();
      if (w) w.resolve(line);
      else lines.push(line);
    }
  });
  child.stdin.on('error', () => {});
  const nextLine = () =>
    new Promise<string>((resolve, reject) => {
      const line = lines.shift();
      if (line !== undefined) resolve(line);
      else if (exitCode !== undefined) reject(new Error(`${entry} exited (${exitCode}) before printing: ${stderr.slice(-2000)}`));
      else waiting.push({ resolve, reject });
    });
  let first: Promise<string> | undefined;
  return {
    child,
    pid: child.pid!,
    exited,
    firstLine: () => (first ??= nextLine()),
    nextLine,
    send: (line) => void child.stdin.write(`${line}\n`),
    stderrTail: () => stderr.slice(-2000),
    async stop() {
      if (exitCode !== undefined) return;
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
      child.kill('SIGKILL');
    },
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
