import { subscriptionsAfter, type AudienceFilter, type Db } from '@pushcast/store';
import { CSV_HEADER, subscriptionBody, subscriptionCsvLine } from './columns.ts';

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
    const page = await subscriptionsAfter(db, filter, after, PAGE_ROWS);
    if (page.length === 0) return;
    let piece = '';
    for (const s of page) piece += format === 'csv' ? subscriptionCsvLine(s) : `${JSON.stringify(subscriptionBody(s))}\n`;
    yield piece;
    if (page.length < PAGE_ROWS) return;
    after = page[page.length - 1]!.id;
  }
}
