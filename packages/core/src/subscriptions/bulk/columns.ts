/**
 * The CSV columns of an import and an export, in this order. A web row fills endpoint, p256dh and
 * auth; a device row fills token; tags are separated by spaces (a tag never holds one); an empty
 * cell is an absent field. NDJSON rows are the single create's JSON body.
 */
export const CSV_COLUMNS = ['platform', 'endpoint', 'p256dh', 'auth', 'token', 'uid', 'tags', 'user_email'] as const;
export type CsvColumn = (typeof CSV_COLUMNS)[number];

/** A CSV record as the single create's body, so that both formats get the same validation. */
export function csvCellsToBody(record: Readonly<Record<string, string | undefined>>): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [column, cell] of Object.entries(record)) {
    if (cell === undefined || cell === '') continue;
    body[column] = column === 'tags' ? cell.split(/ +/).filter((t) => t.length > 0) : cell;
  }
  return body;
}

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\n`;
