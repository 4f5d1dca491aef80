import { pageQuery, parseInput } from '@pushcast/core';
import { parseTagFilter, tagFilterError } from '@pushcast/domain';
import type { AudienceFilter } from '@pushcast/store';
import { z } from 'zod';

const MAX_FILTER_ENTRIES = 1000;
const stringList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => (Array.isArray(v) ? v : [v]))
  .pipe(z.array(z.string().max(4096)).max(MAX_FILTER_ENTRIES));

// Filters arrive as `uids[]=a&uids[]=b` from the official clients; a bare `uids=a` or `tags=<expr>`
// (the Ruby client) means the same.
const platform = z.enum(['web', 'apns', 'fcm']);

export const listQuery = z.object({
  ...pageQuery,
  platform: platform.optional(),
  'uids[]': stringList.optional(),
  uids: stringList.optional(),
  'tags[]': stringList.optional(),
  tags: stringList.optional(),
});

/** A project's audience from a list's query (platform, uids, tags) and the page asked for. */
export function audienceFromQuery(projectId: number, rawQuery: unknown) {
  const q = parseInput(listQuery, rawQuery, 'query');
  const uids = q['uids[]'] ?? q.uids;
  const tagEntries = q['tags[]'] ?? q.tags;
  let tags = null;
  if (tagEntries !== undefined) {
    const parsed = parseTagFilter(tagEntries);
    if (!parsed.ok) throw tagFilterError(parsed.error, 'tags');
    tags = parsed.value;
  }
  const filter: AudienceFilter = { projectId, uids, tags, platform: q.platform };
  return { filter, page: { page: q.page, perPage: q.per_page } };
}
