import { createECDH, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { UploadRecord } from './records.ts';
import { validateRecords } from './validate-records.ts';
import { validationThreads } from './validation-threads.ts';

const key = () => {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
};

describe('validation threads', () => {
  it('validate batches on their threads exactly as on the calling thread, each batch answered in its own order', async () => {
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
    const threads = validationThreads();
    const batches = [records.slice(0, 700), records.slice(700, 1400), records.slice(1400)];
    const results = await Promise.all(batches.map((b) => threads.validate(42, hosts, b)));
    expect(threads.usable).toBe(true);
    expect(results).toEqual(batches.map((b) => validateRecords(42, hosts, b)));
    const all = results.flatMap((r) => r.errors);
    expect(all).toHaveLength(1200);
    expect(all.map((e) => e.line)).toEqual([...all.map((e) => e.line)].sort((a, b) => a - b));
    expect(new Set(all.map((e) => e.rule))).toEqual(new Set(['json', 'p256_point', 'max_length']));
    expect(results.map((r) => r.copy.split('\n').length - 1)).toEqual([280, 280, 240]);
  });
});
