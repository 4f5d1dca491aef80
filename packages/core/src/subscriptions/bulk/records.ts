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
 * still count, so that line numbers match an editor's). The text is not parsed here. The reference
 * reading: an import reads ndjsonPieces and ndjsonRecordsOf, which find the same records (a test
 * holds them together) without a string and an object per line on the reading side.
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
 * A run of whole NDJSON lines as they arrived, not yet decoded: lines `firstLine` to
 * `firstLine + lines - 1`. The thread that validates them splits and parses them (ndjsonRecordsOf),
 * so the reading thread only finds line ends in bytes. `overlongFirst`: the first line's beginning
 * was longer than MAX_RECORD_BYTES and was dropped; what is here is its end, refused whole.
 */
export interface NdjsonPiece {
  readonly firstLine: number;
  readonly lines: number;
  readonly bytes: Buffer;
  readonly overlongFirst: boolean;
}

export const NEWLINE = 0x0a;

export function countNewlines(bytes: Buffer): number {
  let n = 0;
  for (let at = bytes.indexOf(NEWLINE); at !== -1; at = bytes.indexOf(NEWLINE, at + 1)) n += 1;
  return n;
}

/**
 * NDJSON as runs of whole lines (NdjsonPiece), one per chunk read, holding at most one partial
 * line in memory (a line's beginning longer than MAX_RECORD_BYTES is dropped and the line refused).
 * A newline byte never occurs inside a UTF-8 sequence, so lines split on bytes are the lines of the
 * decoded text.
 */
export async function* ndjsonPieces(source: Readable): AsyncGenerator<NdjsonPiece> {
  let partial: Buffer[] = [];
  let partialBytes = 0;
  let overlong = false;
  let line = 0;
  for await (const read of source) {
    const chunk = read as Buffer;
    const lastEnd = chunk.lastIndexOf(NEWLINE);
    if (lastEnd === -1) {
      if (!overlong) {
        partial.push(chunk);
        partialBytes += chunk.length;
      }
    } else {
      const head = chunk.subarray(0, lastEnd + 1);
      const bytes = partial.length > 0 ? Buffer.concat([...partial, head]) : head;
      const lines = countNewlines(head);
      yield { firstLine: line + 1, lines, bytes, overlongFirst: overlong };
      line += lines;
      overlong = false;
      const rest = chunk.subarray(lastEnd + 1);
      partial = rest.length > 0 ? [rest] : [];
      partialBytes = rest.length;
    }
    if (partialBytes > MAX_RECORD_BYTES) {
      // Forget the line's beginning; its end is found by the next newline.
      overlong = true;
      partial = [];
      partialBytes = 0;
    }
  }
  if (partialBytes > 0 || overlong) {
    yield { firstLine: line + 1, lines: 1, bytes: Buffer.concat(partial), overlongFirst: overlong };
  }
}

/**
 * The records of an NdjsonPiece's text, numbered from `firstLine`, as ndjsonRecords would have
 * read them: blank lines skipped (but counted), an overlong first line refused.
 */
export function* ndjsonRecordsOf(text: string, firstLine: number, overlongFirst: boolean): Generator<UploadRecord> {
  let line = firstLine;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const content = text.slice(start, end);
    if (line === firstLine && overlongFirst) {
      yield { line, unreadable: { field: 'body', rule: 'max_length', message: `is longer than ${MAX_RECORD_BYTES} bytes` } };
    } else if (content.trim() !== '') {
      yield { line, json: content };
    }
    line += 1;
    start = end + 1;
  }
  if (text.length === 0 && overlongFirst) {
    yield { line, unreadable: { field: 'body', rule: 'max_length', message: `is longer than ${MAX_RECORD_BYTES} bytes` } };
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
    // The parser reports a malformed record as it meets it, while the good records before it in the
    // same chunk are still buffered: each goes out in line order, since the import takes the
    // last line it has seen as settled with everything before it.
    const line = item.info.lines;
    while (skipped.length > 0 && skipped[0]!.line < line) yield skipped.shift()!;
    yield { line, cells: item.record };
  }
  while (skipped.length > 0) yield skipped.shift()!;
}
