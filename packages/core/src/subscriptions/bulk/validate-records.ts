import { PushcastError } from '@pushcast/domain';
import { stagedRowLine, type ImportRowError, type StagedRow } from '@pushcast/store';
import { subscriptionParser, type SubscriptionInput } from '../subscription-input.ts';
import { csvCellsToBody } from './columns.ts';
import { countNewlines, ndjsonRecordsOf, NEWLINE, type UploadRecord } from './records.ts';
import { STRING_SEGMENT } from './string-segment.ts';
import { wellFormedWebRow } from './well-formed-web-row.ts';

/**
 * What a batch of records became: COPY text of the valid rows (in segments, written one after
 * another), each rejected row (line order), and how many records (rows) it held.
 */
export interface ValidatedBatch {
  readonly copy: readonly string[];
  readonly errors: readonly ImportRowError[];
  readonly rows: number;
}

/** A string PostgreSQL cannot store (NUL) or that UTF-8 cannot carry (a lone surrogate). */
function unstorable(value: string): 'no_nul' | 'well_formed_unicode' | null {
  if (value.includes('\u0000')) return 'no_nul';
  if (/\p{Cs}/u.test(value)) return 'well_formed_unicode';
  return null;
}

function storableProblem(input: SubscriptionInput): Omit<ImportRowError, 'line'> | null {
  // user_email too: its rule (no spaces, one @) lets a NUL through, which would fail the whole
  // COPY piece, and so the upload, instead of this row.
  const email = input.userEmail ?? null;
  const fields: [string, string | null][] =
    input.platform === 'web'
      ? [['endpoint', input.endpoint], ['uid', input.uid], ['user_email', email]]
      : [['token', input.token], ['uid', input.uid], ['user_email', email]];
  for (const [field, value] of fields) {
    const rule = value === null ? null : unstorable(value);
    if (rule) return { field, rule, message: rule === 'no_nul' ? 'contains a NUL character' : 'contains a lone UTF-16 surrogate' };
  }
  return null;
}

function staged(line: number, input: SubscriptionInput): StagedRow {
  return input.platform === 'web'
    ? { line, platform: 'web', endpoint: input.endpoint, p256dh: input.p256dh, auth: input.auth, uid: input.uid, tags: input.tags, userEmail: input.userEmail ?? null }
    : { line, platform: input.platform, token: input.token, uid: input.uid, tags: input.tags, userEmail: input.userEmail ?? null };
}

const parsers = new Map<string, (raw: unknown) => SubscriptionInput>();

/** The single create's parser for these push hosts, built once per configuration. */
function parserFor(allowedPushHosts: readonly string[]): (raw: unknown) => SubscriptionInput {
  const key = allowedPushHosts.join('\n');
  let parse = parsers.get(key);
  if (!parse) {
    parse = subscriptionParser(allowedPushHosts);
    parsers.set(key, parse);
  }
  return parse;
}

/**
 * Runs records of an upload through the single create's validation (the same parser, so the same
 * rules and messages), in order: a valid row becomes a line of COPY text for the staging table, a
 * rejected one an error naming its line, field and rule. Pure and synchronous: it runs on the
 * API's event loop, a batch at a time (import-subscriptions.ts says why not on threads).
 */
export function validateRecords(importId: number, allowedPushHosts: readonly string[], records: Iterable<UploadRecord>): ValidatedBatch {
  const batch = emptyBatch();
  validateInto(batch, importId, allowedPushHosts, records);
  return batch;
}

/** A ValidatedBatch being filled, by one or more runs of validateInto. */
interface BatchInProgress {
  copy: string[];
  errors: ImportRowError[];
  rows: number;
}

const emptyBatch = (): BatchInProgress => ({ copy: [], errors: [], rows: 0 });

function validateInto(
  batch: BatchInProgress,
  importId: number,
  allowedPushHosts: readonly string[],
  records: Iterable<UploadRecord>,
): void {
  const parse = parserFor(allowedPushHosts);
  const { errors } = batch;
  let copy = '';
  for (const record of records) {
    batch.rows += 1;
    if ('unreadable' in record) {
      errors.push({ line: record.line, ...record.unreadable });
      continue;
    }
    let body: unknown;
    if ('json' in record) {
      try {
        body = JSON.parse(record.json);
      } catch {
        errors.push({ line: record.line, field: 'body', rule: 'json', message: 'is not valid JSON' });
        continue;
      }
    } else {
      body = csvCellsToBody(record.cells);
    }
    // A well-formed web row (nearly every row) is checked by hand; anything else, or a row that
    // breaks a rule, by the single create's parser, which names the field and the rule.
    let input = wellFormedWebRow(body, allowedPushHosts);
    if (input === null) {
      try {
        input = parse(body);
      } catch (error) {
        if (!(error instanceof PushcastError) || !error.details.field) throw error;
        errors.push({ line: record.line, field: error.details.field, rule: error.details.rule ?? 'invalid_value', message: error.message });
        continue;
      }
    }
    const problem = storableProblem(input);
    if (problem) {
      errors.push({ line: record.line, ...problem });
      continue;
    }
    copy += stagedRowLine(importId, staged(record.line, input));
    if (copy.length >= STRING_SEGMENT) {
      batch.copy.push(copy);
      copy = '';
    }
  }
  if (copy.length > 0) batch.copy.push(copy);
}

/** validateRecords of the records in a run of NDJSON lines as read (records.ts: NdjsonPiece). */
export function validateNdjson(
  importId: number,
  allowedPushHosts: readonly string[],
  piece: { readonly firstLine: number; readonly bytes: Uint8Array; readonly overlongFirst: boolean },
): ValidatedBatch {
  const bytes = Buffer.from(piece.bytes.buffer, piece.bytes.byteOffset, piece.bytes.byteLength);
  const batch = emptyBatch();
  // Decoded a segment of whole lines at a time (STRING_SEGMENT); a newline byte never occurs
  // inside a UTF-8 sequence, so each segment decodes on its own.
  let firstLine = piece.firstLine;
  let start = 0;
  do {
    let end = bytes.length;
    if (end - start > STRING_SEGMENT) {
      const lastNewline = bytes.lastIndexOf(NEWLINE, start + STRING_SEGMENT - 1);
      const next = lastNewline >= start ? lastNewline : bytes.indexOf(NEWLINE, start + STRING_SEGMENT);
      if (next !== -1) end = next + 1;
    }
    const text = bytes.toString('utf8', start, end);
    validateInto(batch, importId, allowedPushHosts, ndjsonRecordsOf(text, firstLine, start === 0 && piece.overlongFirst));
    firstLine += countNewlines(bytes.subarray(start, end));
    start = end;
  } while (start < bytes.length);
  return batch;
}

/**
 * What the import validates at a time: records already read (CSV), or a run of NDJSON lines as the
 * bytes that arrived (decoded and split once for the whole run, not line by line as they are read).
 */
export type ValidationWork =
  | { readonly records: readonly UploadRecord[] }
  | { readonly ndjson: { readonly firstLine: number; readonly bytes: Uint8Array; readonly overlongFirst: boolean } };

export function validateWork(importId: number, allowedPushHosts: readonly string[], work: ValidationWork): ValidatedBatch {
  return 'records' in work ? validateRecords(importId, allowedPushHosts, work.records) : validateNdjson(importId, allowedPushHosts, work.ndjson);
}
