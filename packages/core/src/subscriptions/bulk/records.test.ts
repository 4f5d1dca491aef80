import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { csvRecords } from './records.ts';

describe('csvRecords', () => {
  it('yields records in line order when a malformed one follows good ones in the same chunk', async () => {
    // csv-parse reports a skipped record as it parses it, while the good records before it in the
    // same chunk are still buffered: the import's "settled through line" must never pass a good
    // row that has yet to come.
    const good = (i: number) => `https://push.example/${i},BPk,au,u${i},`;
    const lines = ['endpoint,p256dh,auth,uid,tags'];
    for (let i = 2; i <= 400; i += 1) lines.push(i === 300 ? '"unclosed,quote,,,' : good(i));
    const source = Readable.from([Buffer.from(lines.join('\n') + '\n')]);

    const seen: { line: number; bad: boolean }[] = [];
    for await (const record of csvRecords(source)) seen.push({ line: record.line, bad: 'unreadable' in record && record.unreadable !== undefined });

    const order = seen.map((r) => r.line);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(seen.filter((r) => r.bad).length).toBeGreaterThanOrEqual(1);
    expect(seen.filter((r) => !r.bad).length).toBeGreaterThanOrEqual(298);
  });
});
