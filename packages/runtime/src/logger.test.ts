import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createLogger, resolveLogFormat } from './logger.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

/** A process that logs one record with a secret in it, as Pushcast's entry points do. */
const LOG_ONE = `
  import { createLogger } from '@pushcast/runtime';
  createLogger('info', 'api', { format: process.env.LOG_FORMAT }).info({ notificationId: 42, token: 'pc_s3cr3t' }, 'notification accepted');
`;

function runLogging(env: Record<string, string>, onTty: boolean): string {
  const node = [process.execPath, '--import', 'tsx', '--input-type=module', '-e', LOG_ONE];
  const options = { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8' as const };
  if (!onTty) return execFileSync(node[0]!, node.slice(1), options);
  // util-linux's script gives the child a pseudo-terminal as stdout, as an operator's shell does.
  const quoted = node.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  return execFileSync('script', ['-qec', quoted, '/dev/null'], options).replace(/\u001b\[[0-9;]*m/g, '');
}

describe('log format', () => {
  it('auto is pretty on a terminal and JSON elsewhere; json and pretty are what they say', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
  });

  it('pretty prints one readable line per record, with its fields and without its secrets', () => {
    const out = capture();
    createLogger('info', 'worker', { format: 'pretty', destination: out.stream }).info(
      { notificationId: 7, jobId: 'chunk:7:web:1', token: 'pc_s3cr3t' },
      'chunk sent',
    );
    const text = out.text();
    expect(text).toMatch(/INFO.*\(worker\): chunk sent/);
    expect(text).toContain('notificationId: 7');
    expect(text).toContain('jobId: "chunk:7:web:1"');
    expect(text).toContain('[redacted]');
    expect(text).not.toContain('pc_s3cr3t');
    expect(() => JSON.parse(text.split('\n')[0]!)).toThrow();
  });

  it('json writes one parseable object per line, secrets redacted', () => {
    const out = capture();
    createLogger('info', 'api', { format: 'json', destination: out.stream }).info({ token: 'pc_s3cr3t' }, 'hello');
    const record = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(record).toMatchObject({ msg: 'hello', name: 'api', token: '[redacted]', level: 30 });
  });

  it.runIf(existsSync('/usr/bin/script'))('a process on a terminal logs readable lines, the same piped logs JSON', () => {
    const onTerminal = runLogging({ LOG_FORMAT: 'auto' }, true);
    expect(onTerminal).toMatch(/INFO.*\(api\): notification accepted/);
    expect(onTerminal).not.toContain('pc_s3cr3t');

    const piped = runLogging({ LOG_FORMAT: 'auto' }, false);
    expect(JSON.parse(piped.trim())).toMatchObject({ msg: 'notification accepted', notificationId: 42, token: '[redacted]' });

    const forced = runLogging({ LOG_FORMAT: 'pretty' }, false);
    expect(forced).toMatch(/INFO.*\(api\): notification accepted/);
  });
});
