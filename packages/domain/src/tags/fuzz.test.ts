import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_TAG_LENGTH, TAG_PATTERN, type TagExpr } from './ast.ts';
import { matchesTags } from './evaluate.ts';
import { MAX_EXPRESSION_LENGTH, MAX_NESTING_DEPTH, parseTagExpression } from './parse.ts';

/** The properties every parse result must have, whatever the input. */
function checkParse(input: string): ReturnType<typeof parseTagExpression> {
  const r = parseTagExpression(input);
  if (r.ok) {
    for (const t of tagsOf(r.value)) {
      expect(t).toMatch(TAG_PATTERN);
      expect(t.length).toBeLessThanOrEqual(MAX_TAG_LENGTH);
    }
  } else {
    expect(r.error.expression).toBe(input);
    expect(Number.isInteger(r.error.position)).toBe(true);
    expect(r.error.position).toBeGreaterThanOrEqual(0);
    expect(r.error.position).toBeLessThanOrEqual(input.length);
    expect(r.error.message.endsWith(` at position ${r.error.position}`)).toBe(true);
  }
  return r;
}

function tagsOf(expr: TagExpr): string[] {
  switch (expr.kind) {
    case 'tag':
      return [expr.tag];
    case 'not':
      return tagsOf(expr.expr);
    case 'and':
    case 'or':
      return expr.items.flatMap(tagsOf);
  }
}

const PRECEDENCE = { or: 1, and: 2, not: 3, tag: 4 } as const;

/** Prints with as few parentheses as the precedence allows; `space` supplies the optional whitespace. */
function print(expr: TagExpr, space: () => string = () => ' ', minPrecedence = 0): string {
  let text: string;
  switch (expr.kind) {
    case 'tag':
      text = expr.tag;
      break;
    case 'not':
      text = `!${space()}${print(expr.expr, space, PRECEDENCE.not)}`;
      break;
    case 'and':
    case 'or': {
      const op = expr.kind === 'and' ? '&&' : '||';
      const itemPrecedence = PRECEDENCE[expr.kind] + 1;
      text = expr.items.map((item) => print(item, space, itemPrecedence)).join(`${space()}${op}${space()}`);
      break;
    }
  }
  return PRECEDENCE[expr.kind] < minPrecedence ? `(${space()}${text}${space()})` : text;
}

/** What the parser is expected to produce for an AST: and/or flattened, single items unwrapped. */
function normalize(expr: TagExpr): TagExpr {
  switch (expr.kind) {
    case 'tag':
      return expr;
    case 'not':
      return { kind: 'not', expr: normalize(expr.expr) };
    case 'and':
    case 'or': {
      const items = expr.items.map(normalize).flatMap((item) => (item.kind === expr.kind ? item.items : [item]));
      return items.length === 1 ? (items[0] as TagExpr) : { kind: expr.kind, items };
    }
  }
}

const TAG_CHARS = [...'abcxyzABZ0189_-.:@#'];
const tagArb = fc.oneof(
  fc.constantFrom('a', 'b', 'c', 'zip_code:28865', 'optout:local_events', 'friend_of:Organizer123', '#x', 'u@ex.com'),
  fc.string({ unit: fc.constantFrom(...TAG_CHARS), minLength: 1, maxLength: 8 }),
);

const exprArb: fc.Arbitrary<TagExpr> = fc.letrec<{ expr: TagExpr }>((tie) => ({
  expr: fc.oneof(
    { maxDepth: 4, depthIdentifier: 'expr' },
    tagArb.map((tag): TagExpr => ({ kind: 'tag', tag })),
    tie('expr').map((expr): TagExpr => ({ kind: 'not', expr })),
    fc.array(tie('expr'), { minLength: 1, maxLength: 3 }).map((items): TagExpr => ({ kind: 'and', items })),
    fc.array(tie('expr'), { minLength: 1, maxLength: 3 }).map((items): TagExpr => ({ kind: 'or', items })),
  ),
})).expr;

const spacesArb = fc.array(fc.constantFrom('', '', ' ', '  ', '\t', '\n'), { minLength: 1, maxLength: 20 });
const cycle = (spaces: readonly string[]) => {
  let i = 0;
  return () => spaces[i++ % spaces.length] as string;
};

const GRAMMAR_UNITS = ['a', 'b', 'c', 'c:d', '#e', '(', ')', '!', '&', '|', '&&', '||', ' ', '\t', '$', ',', '\u00a0'];

describe('parseTagExpression under fuzzing', () => {
  it('never throws on arbitrary strings and reports positions within the input', () => {
    fc.assert(fc.property(fc.string(), (s) => void checkParse(s)), { numRuns: 2000 });
    for (const unit of ['grapheme', 'binary'] as const) {
      fc.assert(fc.property(fc.string({ unit, maxLength: 200 }), (s) => void checkParse(s)), { numRuns: 2000 });
    }
  });

  it('never throws on strings over the grammar alphabet, and valid results print back to themselves', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...GRAMMAR_UNITS), maxLength: 60 }), (s) => {
        const r = checkParse(s);
        if (r.ok) expect(parseTagExpression(print(r.value))).toEqual({ ok: true, value: r.value });
      }),
      { numRuns: 5000 },
    );
  });

  it('agrees with JavaScript, whose ! && || have the same precedence, on every valid expression', () => {
    const units = ['a', 'b', 'ab', '(', ')', '!', '&&', '||', ' '];
    let valid = 0;
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom(...units), maxLength: 40 }),
        fc.subarray(['a', 'b', 'ab', 'aa', 'bab']),
        (s, present) => {
          const r = checkParse(s);
          if (!r.ok) return;
          valid++;
          // Adjacent units merge into one tag ("a" "b" is the tag "ab"), so each tag becomes a lookup.
          const body = s.replace(/[ab]+/g, (t) => `has(${JSON.stringify(t)})`);
          const js = new Function('has', `return !!(${body});`) as (has: (t: string) => boolean) => boolean;
          const tags = new Set(present);
          expect(matchesTags(r.value, tags)).toBe(js((t) => tags.has(t)));
        },
      ),
      { numRuns: 20000 },
    );
    // Guards against a generator that stops producing valid expressions and makes the test vacuous.
    expect(valid).toBeGreaterThan(100);
  });

  it('returns an error, not a stack overflow, for hostile nesting', () => {
    for (const input of ['('.repeat(100_000), '!'.repeat(100_000), '('.repeat(100_000) + 'a' + ')'.repeat(100_000)]) {
      const r = checkParse(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.position).toBe(MAX_EXPRESSION_LENGTH);
    }
    for (const input of ['('.repeat(4000), '!'.repeat(4000) + 'a', '!('.repeat(2000)]) {
      const r = checkParse(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toContain(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
    }
  });

  it('parses long flat chains within the length limit without recursion', () => {
    const input = 'a||'.repeat(1365) + 'a';
    expect(input.length).toBe(MAX_EXPRESSION_LENGTH);
    const r = checkParse(input);
    expect(r.ok && r.value.kind === 'or' && r.value.items.length).toBe(1366);
  });
});

describe('printing and parsing round-trip', () => {
  it('parses a printed expression back to the same (normalised) tree and the same semantics', () => {
    const caseArb = exprArb.chain((expr) =>
      fc.tuple(fc.constant(expr), spacesArb, fc.array(fc.subarray([...new Set(tagsOf(expr))]), { maxLength: 8 })),
    );
    fc.assert(
      fc.property(caseArb, ([expr, spaces, tagSets]) => {
        const text = print(expr, cycle(spaces));
        fc.pre(text.length <= MAX_EXPRESSION_LENGTH);
        const r = parseTagExpression(text);
        if (!r.ok) throw new Error(`${JSON.stringify(text)}: ${r.error.message}`);
        expect(r.value).toEqual(normalize(expr));
        for (const set of [[], ...tagSets]) {
          const tags = new Set(set);
          expect(matchesTags(r.value, tags)).toBe(matchesTags(expr, tags));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
