import type { TagExpr } from '@pushcast/domain';
import type { SqlParams } from './sql-params.ts';

const IDENTIFIER = /^[a-z_][a-z0-9_.]*$/;

/**
 * Compiles a tag expression to a parenthesised SQL boolean over a `text[]` column. Tags only ever
 * travel as `$n` parameters. Every positive test is an array operator (`@>`, `&&`) that a GIN index
 * on the column can answer, and sibling tags are merged into one array parameter so that
 * `a && b && c` is one index probe rather than three.
 *
 * The column must be NOT NULL: on a NULL array every test is NULL, so `NOT (...)` would not match.
 */
export function tagExprToSql(expr: TagExpr, column: string, params: SqlParams): string {
  // The column is spliced into the SQL, so it must come from our own code, never from a request.
  if (!IDENTIFIER.test(column)) throw new Error(`tagExprToSql: unsafe column name ${JSON.stringify(column)}`);
  return compile(expr, column, params);
}

function compile(expr: TagExpr, column: string, params: SqlParams): string {
  switch (expr.kind) {
    case 'tag':
      return `(${column} @> ARRAY[${params.add(expr.tag)}]::text[])`;
    case 'not':
      return `(NOT ${compile(expr.expr, column, params)})`;
    case 'and':
    case 'or':
      return compileJunction(expr.kind, expr.items, column, params);
  }
}

/**
 * Plain tags collapse into one array test: and(a, b) is `@> {a,b}`, or(a, b) is `&& {a,b}`. Negated
 * plain tags collapse too, by De Morgan: and(!a, !b) is `NOT (&& {a,b})`, or(!a, !b) is
 * `NOT (@> {a,b})`.
 */
function compileJunction(kind: 'and' | 'or', items: readonly TagExpr[], column: string, params: SqlParams): string {
  const positive: string[] = [];
  const negated: string[] = [];
  const others: TagExpr[] = [];
  for (const item of items) {
    if (item.kind === 'tag') positive.push(item.tag);
    else if (item.kind === 'not' && item.expr.kind === 'tag') negated.push(item.expr.tag);
    else others.push(item);
  }

  const allOf = kind === 'and' ? '@>' : '&&';
  const anyOf = kind === 'and' ? '&&' : '@>';
  const parts: string[] = [];
  if (positive.length > 0) parts.push(arrayTest(column, allOf, positive, params));
  if (negated.length > 0) parts.push(`(NOT ${arrayTest(column, anyOf, negated, params)})`);
  for (const other of others) parts.push(compile(other, column, params));

  // The identities: an empty conjunction holds, an empty disjunction does not (as in matchesTags).
  if (parts.length === 0) return kind === 'and' ? '(TRUE)' : '(FALSE)';
  if (parts.length === 1) return parts[0] as string;
  return `(${parts.join(kind === 'and' ? ' AND ' : ' OR ')})`;
}

function arrayTest(column: string, op: '@>' | '&&', tags: readonly string[], params: SqlParams): string {
  const unique = [...new Set(tags)];
  // A single tag stays a one-element ARRAY[...] so that the common case reads like the doc examples.
  if (unique.length === 1) return `(${column} ${op} ARRAY[${params.add(unique[0])}]::text[])`;
  return `(${column} ${op} ${params.add(unique)}::text[])`;
}
