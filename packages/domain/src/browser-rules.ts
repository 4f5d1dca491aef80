import { TAG_PATTERN, MAX_TAG_LENGTH } from './tags/index.ts';

/**
 * What a browser may do on its own (no access token): the origins a project's pages are served
 * from, and the tags its visitors may give themselves.
 */

/** `scheme://host[:port]` exactly as `URL.origin` writes it (lower-case host, no default port, no path). */
export function normalizeOrigin(value: string): string | null {
  // Only an origin: a trailing slash is tolerated; a path, query, fragment or credentials are not.
  if (!/^https?:\/\/[^/?#@\s]+\/?$/i.test(value) || !URL.canParse(value)) return null;
  return new URL(value).origin;
}

/** The origins a project allows: as set, or else its website's. */
export function effectiveAllowedOrigins(allowedOrigins: readonly string[] | null, website: string): readonly string[] {
  if (allowedOrigins !== null) return allowedOrigins;
  return URL.canParse(website) ? [new URL(website).origin] : [];
}

/**
 * A tag a browser may set: an exact tag (`news`), or a prefix and `*` (`city:*` allows `city:paris`);
 * `*` alone allows every tag. Patterns are tags with an optional trailing `*`.
 */
export function isBrowserTagPattern(pattern: string): boolean {
  const base = pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
  return pattern.length <= MAX_TAG_LENGTH + 1 && (base === '' ? pattern === '*' : TAG_PATTERN.test(base));
}

export function browserMaySetTag(patterns: readonly string[], tag: string): boolean {
  return patterns.some((p) => (p.endsWith('*') ? tag.startsWith(p.slice(0, -1)) : tag === p));
}

/**
 * Tags after a browser sets `given`: the tags it may set are replaced by `given`, the others (set by
 * the site's server through the API) are kept, so a browser can neither grant itself a tag nor drop one
 * its server gave it.
 */
export function mergeBrowserTags(patterns: readonly string[], current: readonly string[], given: readonly string[]): string[] {
  const kept = current.filter((t) => !browserMaySetTag(patterns, t));
  return [...new Set([...kept, ...given])];
}

/** What a browser is shown of its own tags: those it may set. */
export function browserVisibleTags(patterns: readonly string[], tags: readonly string[]): string[] {
  return tags.filter((t) => browserMaySetTag(patterns, t));
}
