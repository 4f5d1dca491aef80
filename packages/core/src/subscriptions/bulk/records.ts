import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseCsv, type Info } from 'csv-parse';
import { PushcastError } from '@pushcast/domain';
import { CSV_COLUMNS } from './columns.ts';

/**
 * One record of an upload: an NDJSON line's text (parsed where it is validated, which may be
 * another thread), a CSV record's cells, or why it could not even be read.
 */
export type UploadRecord =
  | { readonly line: number; readonly json: string }
  | { readonly line: number; readonly cells: Record<string, string> }
  | { readonly line: number; readonly unreadable: { readonly field: string; readonly rule: 'json' | 'csv' | 'max_length'; readonly message: string } };

/** A line longer than this is refused without being kept whole (a subscription is < 2 KB). */
export const MAX_RECORD_BYTES = 64 * 1024;

/**
 * NDJSON records, line by line, holding at most one line in memory; blank lines are skipped (they
 * still count, so that line numbers match an editor's). The text is not parsed here.
 */
export async function* ndjsonRecords(source: Readable): AsyncGenerator<UploadRecord> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let overlong = false;
  const record = (text: string): UploadRecord | null => {
    line += 1;
    if (overlong) {
      overlong = false;
      return { line, unreadable: { field: 'body', rule: 'max_length', message: `is longer than ${MAX_RECORD_BYTES} bytes` } };
    }
    if (text.trim() === '') return null;
    return { line, json: text };
  };
  for await (const chunk of source) {
    let text = pending + decoder.write(chunk as Buffer);
    let start = 0;
    for (let end = text.indexOf('\n', start); end !== -1; end = text.indexOf('\n', start)) {
      const found = record(text.slice(start, end));
      if (found) yield found;
      start = end + 1;
    }
    text = text.slice(start);
    if (text.length > MAX_RECORD_BYTES) {
      // Forget the line's beginning; its end is found by the next newline.
      overlong = true;
      text = '';
    }
    pending = text;
  }
  pending += decoder.end();
  if (pending.length > 0 || overlong) {
    const found = record(pending);
    if (found) yield found;
  }
}

/**
 * CSV records after a header row that names columns of CSV_COLUMNS (any order, any subset); a
 * malformed record is reported and skipped, the rest is read on. A header naming another column
 * refuses the whole upload (every row would be refused for it).
 */
export async function* csvRecords(source: Readable): AsyncGenerator<UploadRecord> {
  const known: ReadonlySet<string> = new Set(CSV_COLUMNS);
  const skipped: UploadRecord[] = [];
  const parser = parseCsv({
    bom: true,
    columns: (header: string[]) => {
      const unknown = header.find((c) => !known.has(c));
      if (unknown !== undefined) {
        throw new PushcastError('validation', `header: column "${unknown}" is not one of ${CSV_COLUMNS.join(', ')}`, {
          field: 'header',
          rule: 'csv',
        });
      }
      return header;
    },
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: MAX_RECORD_BYTES,
    info: true,
  });
  parser.on('skip', (error: Error & { lines?: number }) => {
    skipped.push({ line: error.lines ?? 0, unreadable: { field: 'body', rule: 'csv', message: error.message } });
  });
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  for await (const item of parser as AsyncIterable<{ record: Record<string, string>; info: Info }>) {
    while (skipped.length > 0) yield skipped.shift()!;
    yield { line: item.info.lines, cells: item.record };
  }
  while (skipped.length > 0) yield skipped.shift()!;
}
