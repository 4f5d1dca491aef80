import type { Subscription } from '@pushcast/domain';

/**
 * The CSV columns of an import and an export, in this order. A web row fills endpoint, p256dh and
 * auth; a device row fills token; tags are separated by spaces (a tag never holds one); an empty
 * cell is an absent field. NDJSON rows are the single create's JSON body.
 */
export const CSV_COLUMNS = ['platform', 'endpoint', 'p256dh', 'auth', 'token', 'uid', 'tags'] as const;
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

/** What an export writes for a subscription: exactly the fields an import takes back. */
export function subscriptionBody(s: Subscription): Record<string, unknown> {
  if (s.platform === 'web') {
    return { platform: 'web', endpoint: s.endpoint, p256dh: s.p256dh, auth: s.auth, uid: s.uid, tags: s.tags };
  }
  return { platform: s.platform, token: s.deviceToken, uid: s.uid, tags: s.tags };
}

// RFC 4180: a cell with a comma, a quote or a line break is quoted, its quotes doubled.
const csvCell = (value: string): string => (/[",\r\n]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value);

export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\n`;

export function subscriptionCsvLine(s: Subscription): string {
  const web = s.platform === 'web';
  const cells = [
    s.platform,
    web ? (s.endpoint ?? '') : '',
    web ? (s.p256dh ?? '') : '',
    web ? (s.auth ?? '') : '',
    web ? '' : (s.deviceToken ?? ''),
    s.uid ?? '',
    s.tags.join(' '),
  ];
  return `${cells.map(csvCell).join(',')}\n`;
}
