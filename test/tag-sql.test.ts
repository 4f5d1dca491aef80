import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TagExpr } from '../packages/domain/src/tags/ast.ts';
import { matchesTags } from '../packages/domain/src/tags/evaluate.ts';
import { parseTagExpression } from '../packages/domain/src/tags/parse.ts';
import { SqlParams } from '../packages/store/src/sql-params.ts';
import { tagExprToSql } from '../packages/store/src/tag-sql.ts';

const CONNECTION = { host: '127.0.0.1', port: 5432, user: 'postgres' };
const DATABASE = `pushcast_test_tagsql_${randomBytes(6).toString('hex')}`;

// A small alphabet makes matches frequent. It includes tags that need quoting inside an array
// literal, which checks that array parameters are serialised faithfully.
const ALPHABET = ['a', 'b', 'c', 'd', 'e', 'zip:1', 'NULL', 'x,y', 'q"t', 'b\\s', '{}'];
const ROWS = 300;

interface Row {
  readonly id: number;
  readonly tags: ReadonlySet<string>;
}

let admin: pg.Pool | undefined;
let pool: pg.Pool;
const rows: Row[] = [];

/** Deterministic data, so that a failing property reproduces from its seed alone. */
function* lcg(seed: number): Generator<number, never> {
  let x = seed >>> 0;
  for (;;) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    yield x / 2 ** 32;
  }
}

beforeAll(async () => {
  admin = new pg.Pool({ ...CONNECTION, database: 'postgres', max: 1 });
  await admin.query(`CREATE DATABASE ${DATABASE}`);
  pool = new pg.Pool({ ...CONNECTION, database: DATABASE, max: 4 });
  await pool.query('CREATE TABLE subs (id int PRIMARY KEY, tags text[] NOT NULL)');
  await pool.query('CREATE INDEX subs_tags_idx ON subs USING gin (tags)');

  const random = lcg(42);
  for (let id = 1; id <= ROWS; id++) {
    const tags = ALPHABET.filter(() => random.next().value < 0.35);
    rows.push({ id, tags: new Set(tags) });
  }
  await pool.query(
    'INSERT INTO subs (id, tags) SELECT id, tags::text[] FROM unnest($1::int[], $2::text[]) AS t(id, tags)',
    [
      rows.map((r) => r.id),
      // unnest cannot take a ragged text[][], so each row's tags travel as one array literal.
      rows.map((r) => toArrayLiteral([...r.tags])),
    ],
  );
  await pool.query('ANALYZE subs');
}, 30_000);

afterAll(async () => {
  await pool?.end();
  if (admin) {
    // pool.end() resolves before its backends have gone; a FORCE drop racing them terminates one
    // whose client is still closing, and that client's error surfaced as an uncaught exception.
    for (let i = 0; i < 50; i += 1) {
      const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [DATABASE]);
      if (rows[0]!.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.end();
  }
}, 30_000);

function toArrayLiteral(tags: readonly string[]): string {
  return `{${tags.map((t) => `"${t.replace(/[\\"]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}

async function selectIds(expr: TagExpr): Promise<number[]> {
  const params = new SqlParams();
  const where = tagExprToSql(expr, 'tags', params);
  const result = await pool.query<{ id: number }>(`SELECT id FROM subs WHERE ${where} ORDER BY id`, params.values);
  return result.rows.map((r) => r.id);
}

const expectedIds = (expr: TagExpr): number[] => rows.filter((r) => matchesTags(expr, r.tags)).map((r) => r.id);

const tagArb = fc.oneof(
  { weight: 9, arbitrary: fc.constantFrom(...ALPHABET) },
  { weight: 1, arbitrary: fc.constantFrom('absent', "it's") },
);

const exprArb: fc.Arbitrary<TagExpr> = fc.letrec<{ expr: TagExpr }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'expr' },
    tagArb.map((tag): TagExpr => ({ kind: 'tag', tag })),
    tie('expr').map((expr): TagExpr => ({ kind: 'not', expr })),
    // Empty and single-item junctions never come out of the parser but are valid trees.
    fc.array(tie('expr'), { maxLength: 4 }).map((items): TagExpr => ({ kind: 'and', items })),
    fc.array(tie('expr'), { maxLength: 4 }).map((items): TagExpr => ({ kind: 'or', items })),
  ),
})).expr;

describe('tagExprToSql against PostgreSQL', () => {
  it('checks that the data set is not degenerate', async () => {
    const { rows: count } = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM subs WHERE tags @> '{"q\\"t"}'`);
    expect(Number(count[0]?.n)).toBe(rows.filter((r) => r.tags.has('q"t')).length);
    expect(Number(count[0]?.n)).toBeGreaterThan(50);
  });

  it('selects exactly the rows that matchesTags selects', async () => {
    await fc.assert(
      fc.asyncProperty(exprArb, async (expr) => {
        expect(await selectIds(expr)).toEqual(expectedIds(expr));
      }),
      { numRuns: 200 },
    );
  }, 120_000);

  it('agrees on parsed Pushpad-style expressions', async () => {
    const texts = ['a && !b || c', '!(a || b) && zip:1', 'a && b && c || !d && !e', '!a || !b', '(a || b) && (c || !d)'];
    for (const text of texts) {
      const parsed = parseTagExpression(text);
      if (!parsed.ok) throw new Error(parsed.error.message);
      expect(await selectIds(parsed.value)).toEqual(expectedIds(parsed.value));
    }
  });

  it('passes hostile tag values as parameters, so they match nothing and run nothing', async () => {
    const hostile = "a'; DROP TABLE subs;--";
    const params = new SqlParams();
    const tag = (t: string): TagExpr => ({ kind: 'tag', tag: t });
    const expr: TagExpr = { kind: 'or', items: [tag(hostile), { kind: 'and', items: [tag(hostile), tag('x"}')] }] };
    const where = tagExprToSql(expr, 'tags', params);
    expect(where).not.toContain('DROP');
    expect(params.values).toContain(hostile);
    expect(await selectIds({ kind: 'tag', tag: hostile })).toEqual([]);
    expect(await selectIds(expr)).toEqual([]);
    expect(await selectIds({ kind: 'not', expr: { kind: 'tag', tag: hostile } })).toEqual(rows.map((r) => r.id));
    const { rows: count } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM subs');
    expect(Number(count[0]?.n)).toBe(ROWS);
  });

  it('refuses a column name that is not a plain identifier', () => {
    const tag: TagExpr = { kind: 'tag', tag: 'a' };
    expect(() => tagExprToSql(tag, 'tags; DROP TABLE subs', new SqlParams())).toThrow(/unsafe column/);
    expect(() => tagExprToSql(tag, 'Tags', new SqlParams())).toThrow(/unsafe column/);
    expect(tagExprToSql(tag, 's.tags', new SqlParams())).toBe('(s.tags @> ARRAY[$1]::text[])');
  });

  it('merges sibling tags into one array parameter', () => {
    const params = new SqlParams();
    const parsed = parseTagExpression('a && b && !c && !d || e || f');
    if (!parsed.ok) throw new Error(parsed.error.message);
    expect(tagExprToSql(parsed.value, 'tags', params)).toBe(
      '((tags && $1::text[]) OR ((tags @> $2::text[]) AND (NOT (tags && $3::text[]))))',
    );
    expect(params.values).toEqual([['e', 'f'], ['a', 'b'], ['c', 'd']]);
  });

  it('answers a positive tag with a bitmap scan of the GIN index', async () => {
    const client = await pool.connect();
    try {
      await client.query('SET enable_seqscan = off');
      const params = new SqlParams();
      const where = tagExprToSql({ kind: 'tag', tag: 'a' }, 'tags', params);
      const { rows: plan } = await client.query<{ 'QUERY PLAN': unknown }>(
        `EXPLAIN (FORMAT JSON) SELECT id FROM subs WHERE ${where}`,
        params.values,
      );
      const nodes = planNodes(plan[0]?.['QUERY PLAN']);
      expect(nodes).toContainEqual(
        expect.objectContaining({ 'Node Type': 'Bitmap Index Scan', 'Index Name': 'subs_tags_idx' }),
      );
    } finally {
      await client.query('RESET enable_seqscan');
      client.release();
    }
  });
});

/** Every node of an EXPLAIN (FORMAT JSON) plan tree. */
function planNodes(explained: unknown): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const visit = (node: Record<string, unknown>) => {
    out.push(node);
    for (const child of (node['Plans'] as Record<string, unknown>[] | undefined) ?? []) visit(child);
  };
  for (const entry of explained as { Plan: Record<string, unknown> }[]) visit(entry.Plan);
  return out;
}
