import { exportPage, type AudienceFilter, type Db } from '@pushcast/store';
import { CSV_HEADER } from './columns.ts';

export type ExportFormat = 'ndjson' | 'csv';

/** Rows read per query: the keyset cursor's page. */
const PAGE_ROWS = 5_000;

/**
 * Every subscription of an audience in id order, as text pieces of NDJSON or CSV (with its header)
 * that an import takes back unchanged. A keyset cursor reads one page at a time, and the caller
 * asks for the next piece only when it has written the last, so memory stays flat for any size.
 */
export async function* exportSubscriptions(db: Db, filter: AudienceFilter, format: ExportFormat): AsyncGenerator<string> {
  if (format === 'csv') yield CSV_HEADER;
  let after = 0;
  for (;;) {
    const page = await exportPage(db, filter, format, after, PAGE_ROWS);
    if (page.rows > 0) yield page.text;
    if (page.rows < PAGE_ROWS) return;
    after = page.lastId;
  }
}
