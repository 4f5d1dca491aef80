import { exportRows, type AudienceFilter, type Db, type ExportRow } from '@pushcast/store';
import { CSV_HEADER } from './columns.ts';
import { STRING_SEGMENT } from './string-segment.ts';

export type ExportFormat = 'ndjson' | 'csv';

/** Rows read per query: the keyset cursor's page. */
const PAGE_ROWS = 5_000;

const json = JSON.stringify;
const jsonOrNull = (v: string | null): string => (v === null ? 'null' : json(v));

/** NDJSON in the single create's shape (the tags come as JSON from PostgreSQL); user_email when set. */
function ndjsonLine(r: ExportRow): string {
  const email = r[8] === null ? '' : `,"user_email":${json(r[8])}`;
  return r[1] === 'web'
    ? `{"platform":"web","endpoint":${json(r[2])},"p256dh":${json(r[3])},"auth":${json(r[4])},"uid":${jsonOrNull(r[6])},"tags":${r[7]}${email}}\n`
    : `{"platform":${json(r[1])},"token":${json(r[5])},"uid":${jsonOrNull(r[6])},"tags":${r[7]}${email}}\n`;
}

// RFC 4180: a cell with a comma, a quote or a line break is quoted, its quotes doubled.
const CSV_SPECIAL = /[",\r\n]/;
const csvCell = (v: string | null): string => (v === null ? '' : CSV_SPECIAL.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/** CSV in CSV_COLUMNS' order: platform, endpoint, p256dh, auth, token, uid, tags (joined by spaces), user_email. */
function csvLine(r: ExportRow): string {
  // Tags may hold a comma (TAG_PATTERN allows it): the cell is quoted like any other.
  return `${r[1]},${csvCell(r[2])},${csvCell(r[3])},${csvCell(r[4])},${csvCell(r[5])},${csvCell(r[6])},${csvCell(r[7])},${csvCell(r[8])}\n`;
}

/**
 * Every subscription of an audience in id order, as text pieces of NDJSON or CSV (with its header;
 * a piece is at most STRING_SEGMENT characters and a row) that an import takes back unchanged. A
 * keyset cursor reads one page at a time; the next page is asked of PostgreSQL while this one is
 * rendered and written (the two work at once, on two cores), and the caller asks for the next
 * piece only when it has written the last, so memory stays flat (two pages) for any size.
 */
export async function* exportSubscriptions(db: Db, filter: AudienceFilter, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield CSV_HEADER;
  const line = format === 'csv' ? csvLine : ndjsonLine;
  const read = (after: number) => {
    const page = exportRows(db, filter, format, after, PAGE_ROWS);
    // A reader that goes away leaves the prefetched page unawaited: its failure must not go unhandled.
    page.catch(() => {});
    return page;
  };
  let next = read(0);
  for (;;) {
    const rows = await next;
    const full = rows.length === PAGE_ROWS;
    if (full) next = read(Number(rows[rows.length - 1]![0]));
    // A page goes out in pieces of at most STRING_SEGMENT characters (and a row), not as one string.
    let text = '';
    for (const row of rows) {
      text += line(row);
      if (text.length >= STRING_SEGMENT) {
        yield text;
        text = '';
      }
    }
    if (text.length > 0) yield text;
    if (!full) return;
  }
}
