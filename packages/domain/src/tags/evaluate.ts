import type { TagExpr } from './ast.ts';

/**
 * The reference semantics of a tag expression; the SQL compiler in the store is tested against it.
 * An empty `and` is true and an empty `or` is false (the identities of the operators).
 */
export function matchesTags(expr: TagExpr, tags: ReadonlySet<string>): boolean {
  switch (expr.kind) {
    case 'tag':
      return tags.has(expr.tag);
    case 'not':
      return !matchesTags(expr.expr, tags);
    case 'and':
      return expr.items.every((item) => matchesTags(item, tags));
    case 'or':
      return expr.items.some((item) => matchesTags(item, tags));
  }
}
