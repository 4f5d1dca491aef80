import { createECDH, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ndjsonPieces, ndjsonRecords, type UploadRecord } from './records.ts';
import { validateRecords, validateWork } from './validate-records.ts';

const key = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
};

describe('import validation', () => {
  it('validates a batch of records in order: COPY lines for the valid ones, errors naming line, field and rule for the rest', () => {
    const records: UploadRecord[] = [];
    for (let line = 1; line <= 2000; line += 1) {
      const kind = line % 5;
      const web = { endpoint: `https://push.example/send/${line}`, ...key(), uid: `u${line}`, tags: ['a', `g${line % 3}`] };
      if (kind === 0) records.push({ line, json: '{not json' });
      else if (kind === 1) records.push({ line, json: JSON.stringify({ ...web, p256dh: 'bm90IGEga2V5' }) });
      else if (kind === 2) records.push({ line, cells: { platform: 'fcm', token: `fcm-${line}`, tags: 'x y' } });
      else if (kind === 3) records.push({ line, unreadable: { field: 'body', rule: 'max_length', message: 'is too long' } });
      else records.push({ line, json: JSON.stringify(web) });
    }
    const hosts = ['push.example'];
    const batches = [records.slice(0, 700), records.slice(700, 1400), records.slice(1400)];
    const results = batches.map((b) => validateWork(42, hosts, { records: b }));
    expect(results).toEqual(batches.map((b) => validateRecords(42, hosts, b)));
    const all = results.flatMap((r) => r.errors);
    expect(all).toHaveLength(1200);
    expect(all.map((e) => e.line)).toEqual([...all.map((e) => e.line)].sort((a, b) => a - b));
    expect(new Set(all.map((e) => e.rule))).toEqual(new Set(['json', 'p256_point', 'max_length']));
    expect(results.map((r) => r.copy.join('').split('\n').length - 1)).toEqual([280, 280, 240]);
    expect(results.map((r) => r.rows)).toEqual([700, 700, 600]);
  });

  it('validates NDJSON as the bytes that arrived, cut anywhere, exactly as the records read from them one by one', async () => {
    const hosts = ['push.example'];
    const lines: string[] = [];
    for (let line = 1; line <= 600; line += 1) {
      const web = { endpoint: `https://push.example/send/${line}`, ...key(), uid: `ü${line}`, tags: ['a'] };
      const kind = line % 6;
      if (kind === 0) lines.push('{not json');
      else if (kind === 1) lines.push('  ');
      else if (kind === 2) lines.push(JSON.stringify({ ...web, auth: 'short' }));
      else if (kind === 3) lines.push(line === 303 ? JSON.stringify({ ...web, uid: 'x'.repeat(70_000) }) : `${JSON.stringify(web)}\r`);
      else lines.push(JSON.stringify(web));
    }
    const file = Buffer.from(`${lines.join('\n')}\n${JSON.stringify({ endpoint: 'https://push.example/last', ...key() })}`);
    // Cut anywhere, the overlong line (303) across several reads.
    const chunks: Buffer[] = [file.subarray(0, 5000), file.subarray(5000, 5001)];
    for (let at = 5001; at < file.length; at += 16_384) chunks.push(file.subarray(at, Math.min(file.length, at + 16_384)));
    const pieces = [];
    for await (const piece of ndjsonPieces(Readable.from(chunks))) pieces.push(piece);
    expect(pieces.reduce((n, p) => n + p.lines, 0)).toBe(601);
    const fromBytes = pieces.map((p) => validateWork(42, hosts, { ndjson: p }));
    const records = [];
    for await (const record of ndjsonRecords(Readable.from(chunks))) records.push(record);
    const whole = validateRecords(42, hosts, records);
    expect(fromBytes.flatMap((b) => b.copy).join('')).toBe(whole.copy.join(''));
    expect(fromBytes.flatMap((b) => b.errors)).toEqual(whole.errors);
    expect(fromBytes.reduce((n, b) => n + b.rows, 0)).toBe(whole.rows);
    expect(whole.rows).toBe(501);
    expect(new Set(whole.errors.map((e) => e.rule))).toEqual(new Set(['json', 'auth_secret_16_bytes', 'max_length']));
    expect(whole.errors.find((e) => e.rule === 'max_length')?.line).toBe(303);
    expect(whole.copy.join('').split('\n').length - 1).toBe(300);
  });

  it('validates a batch of NDJSON larger than a decoding segment as one read line by line: same rows, same line numbers', async () => {
    const hosts = ['push.example'];
    const lines: string[] = [];
    for (let line = 1; line <= 2500; line += 1) {
      const web = { endpoint: `https://push.example/send/${line}`, ...key(), uid: `ü${line}`, tags: ['a'] };
      if (line % 7 === 0) lines.push('{not json');
      else if (line === 701) lines.push(JSON.stringify({ ...web, uid: 'x'.repeat(60_000) }));
      else lines.push(JSON.stringify(web));
    }
    const file = Buffer.from(`${lines.join('\n')}\n${JSON.stringify({ endpoint: 'https://push.example/last', ...key() })}`);
    expect(file.length).toBeGreaterThan(3 * 128 * 1024);
    const batch = validateWork(42, hosts, { ndjson: { firstLine: 1, bytes: file, overlongFirst: false } });
    const records = [];
    for await (const record of ndjsonRecords(Readable.from([file]))) records.push(record);
    const whole = validateRecords(42, hosts, records);
    expect(batch.rows).toBe(2501);
    expect(batch.errors).toEqual(whole.errors);
    expect(batch.errors.filter((e) => e.rule === 'json').map((e) => e.line)).toEqual(Array.from({ length: 357 }, (_, i) => 7 * (i + 1)));
    expect(batch.errors.find((e) => e.field === 'uid')?.line).toBe(701);
    expect(batch.copy.join('')).toBe(whole.copy.join(''));
    expect(batch.copy.join('')).toContain('\t2501\tweb\thttps://push.example/last\t');
    // The COPY text comes in segments, none a large object for V8 (over 128 KiB).
    expect(batch.copy.length).toBeGreaterThan(3);
    expect(Math.max(...batch.copy.map((s) => s.length))).toBeLessThan(128 * 1024);

    // A first line longer than a segment is decoded whole, and the next one keeps its number.
    const long = Buffer.from(`${JSON.stringify({ endpoint: 'https://push.example/a', ...key(), uid: 'x'.repeat(70_000) })}\n${JSON.stringify({ endpoint: 'https://push.example/b', ...key() })}\n`);
    const two = validateWork(42, hosts, { ndjson: { firstLine: 9, bytes: long, overlongFirst: false } });
    expect(two.rows).toBe(2);
    expect(two.errors.map(({ line, field, rule }) => ({ line, field, rule }))).toEqual([{ line: 9, field: 'uid', rule: 'max_length' }]);
    expect(two.copy.join('')).toMatch(/^42\t10\tweb\thttps:\/\/push\.example\/b\t/);
  });

  it('refuses a user_email PostgreSQL cannot store (NUL) or UTF-8 cannot carry (lone surrogate), by that row only', () => {
    const web = { endpoint: 'https://push.example/send/1', ...key() };
    const records: UploadRecord[] = [
      { line: 1, json: JSON.stringify({ ...web, user_email: 'a\u0000b@example.com' }) },
      { line: 2, json: JSON.stringify({ ...web, user_email: 'a\ud800b@example.com' }) },
      { line: 3, cells: { platform: 'fcm', token: 'fcm-1', user_email: 'a\u0000b@example.com' } },
      { line: 4, json: JSON.stringify({ ...web, user_email: 'a@example.com' }) },
    ];
    const result = validateRecords(42, ['push.example'], records);
    expect(result.errors.map(({ line, field, rule }) => ({ line, field, rule }))).toEqual([
      { line: 1, field: 'user_email', rule: 'no_nul' },
      { line: 2, field: 'user_email', rule: 'well_formed_unicode' },
      { line: 3, field: 'user_email', rule: 'no_nul' },
    ]);
    expect(result.copy.join('')).not.toContain('\u0000');
    expect(result.copy.join('').split('\n').length - 1).toBe(1);
  });
});
