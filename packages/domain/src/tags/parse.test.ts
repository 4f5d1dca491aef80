import { describe, expect, it } from 'vitest';
import { PushcastError } from '../errors.ts';
import type { TagExpr } from './ast.ts';
import { matchesTags } from './evaluate.ts';
import {
  MAX_EXPRESSION_LENGTH,
  MAX_NESTING_DEPTH,
  parseTagExpression,
  parseTagFilter,
  tagFilterError,
} from './parse.ts';

const tag = (t: string): TagExpr => ({ kind: 'tag', tag: t });
const not = (expr: TagExpr): TagExpr => ({ kind: 'not', expr });
const and = (...items: TagExpr[]): TagExpr => ({ kind: 'and', items });
const or = (...items: TagExpr[]): TagExpr => ({ kind: 'or', items });

function parsed(input: string): TagExpr {
  const r = parseTagExpression(input);
  if (!r.ok) throw new Error(`unexpected syntax error: ${r.error.message}`);
  return r.value;
}

function failure(input: string): { position: number; message: string } {
  const r = parseTagExpression(input);
  if (r.ok) throw new Error(`expected a syntax error for ${JSON.stringify(input)}`);
  expect(r.error.expression).toBe(input);
  return { position: r.error.position, message: r.error.message };
}

describe('parseTagExpression', () => {
  it('parses a single tag', () => {
    expect(parsed('a')).toEqual(tag('a'));
    expect(parsed('  spaced\t')).toEqual(tag('spaced'));
  });

  it('gives ! precedence over && and && over ||', () => {
    expect(parsed('a || b && !c')).toEqual(or(tag('a'), and(tag('b'), not(tag('c')))));
    expect(parsed('!a && b || c')).toEqual(or(and(not(tag('a')), tag('b')), tag('c')));
    expect(parsed('a && b || c && d')).toEqual(or(and(tag('a'), tag('b')), and(tag('c'), tag('d'))));
  });

  it('lets parentheses override precedence', () => {
    expect(parsed('(a || b) && !c')).toEqual(and(or(tag('a'), tag('b')), not(tag('c'))));
    expect(parsed('!(a && b)')).toEqual(not(and(tag('a'), tag('b'))));
    expect(parsed('((a))')).toEqual(tag('a'));
    expect(parsed('!!a')).toEqual(not(not(tag('a'))));
  });

  it('flattens nested and/or of the same kind', () => {
    expect(parsed('a && b && c')).toEqual(and(tag('a'), tag('b'), tag('c')));
    expect(parsed('(a && b) && (c && d)')).toEqual(and(tag('a'), tag('b'), tag('c'), tag('d')));
    expect(parsed('a || (b || c)')).toEqual(or(tag('a'), tag('b'), tag('c')));
    expect(parsed('a && (b || c)')).toEqual(and(tag('a'), or(tag('b'), tag('c'))));
  });

  it('ignores whitespace between tokens, including none at all', () => {
    expect(parsed('a&&!b||c')).toEqual(parsed(' a  &&  ! b \n|| c '));
    expect(parsed('(a)&&(b)')).toEqual(and(tag('a'), tag('b')));
  });

  it('parses the Pushpad examples', () => {
    const expr = parsed('zip_code:28865 && !optout:local_events || friend_of:Organizer123');
    expect(expr).toEqual(
      or(and(tag('zip_code:28865'), not(tag('optout:local_events'))), tag('friend_of:Organizer123')),
    );
    expect(matchesTags(expr, new Set(['zip_code:28865']))).toBe(true);
    expect(matchesTags(expr, new Set(['zip_code:28865', 'optout:local_events']))).toBe(false);
    expect(matchesTags(expr, new Set(['optout:local_events', 'friend_of:Organizer123']))).toBe(true);
    expect(matchesTags(expr, new Set())).toBe(false);
  });

  it('accepts every character of the tag alphabet inside a tag', () => {
    expect(parsed('user@example.com')).toEqual(tag('user@example.com'));
    expect(parsed('#channel-1.2_x:y')).toEqual(tag('#channel-1.2_x:y'));
    expect(parsed('a:b && c@d || #e.f-g_h')).toEqual(or(and(tag('a:b'), tag('c@d')), tag('#e.f-g_h')));
    expect(parsed('::')).toEqual(tag('::'));
  });

  it('accepts a tag of exactly the maximum length and nesting of exactly the maximum depth', () => {
    expect(parsed('t'.repeat(164))).toEqual(tag('t'.repeat(164)));
    const deep = '('.repeat(MAX_NESTING_DEPTH) + 'a' + ')'.repeat(MAX_NESTING_DEPTH);
    expect(parsed(deep)).toEqual(tag('a'));
    expect(parsed('!'.repeat(MAX_NESTING_DEPTH) + 'a').kind).toBe('not');
  });

  it('reports the exact position of syntax errors', () => {
    expect(failure('')).toEqual({ position: 0, message: 'empty tag expression at position 0' });
    expect(failure('   ')).toEqual({ position: 0, message: 'empty tag expression at position 0' });
    expect(failure('a && (b')).toEqual({ position: 7, message: "expected ')' at position 7" });
    expect(failure('a && ')).toEqual({ position: 5, message: "expected a tag or '(' at position 5" });
    expect(failure('a && || b')).toEqual({ position: 5, message: "expected a tag or '(' at position 5" });
    expect(failure('a & b')).toEqual({
      position: 2,
      message: "a single '&' is not an operator, use '&&' at position 2",
    });
    expect(failure('a | b').position).toBe(2);
    expect(failure('a &&& b').position).toBe(4);
    expect(failure('a b')).toEqual({
      position: 2,
      message: "expected '&&', '||' or end of expression at position 2",
    });
    expect(failure('a)')).toEqual({ position: 1, message: "unmatched ')' at position 1" });
    expect(failure('(a b)')).toEqual({ position: 3, message: "expected '&&', '||' or ')' at position 3" });
    expect(failure('()').position).toBe(1);
    expect(failure('!').position).toBe(1);
    expect(failure('a !b').position).toBe(2);
    expect(failure('tag$').position).toBe(3);
    expect(failure('a && b$c')).toEqual({ position: 6, message: 'unexpected character "$" at position 6' });
    // Beams' interest characters are part of a tag.
    expect(parsed('a && b,c=d;e')).toEqual({ kind: 'and', items: [tag('a'), tag('b,c=d;e')] });
    expect(failure("it's").message).toBe(`unexpected character "'" at position 2`);
    expect(failure('a && 😀').message).toBe('unexpected character "😀" at position 5');
    expect(failure('a\u0000').message).toBe('unexpected character "\\u0000" at position 1');
  });

  it('reports the first error in input order, lexical or syntactic', () => {
    // The syntax error at 2 comes before the bad character at 5.
    expect(failure('a b  $').position).toBe(2);
    expect(failure('a && $ b').position).toBe(5);
  });

  it('rejects over-long tags, over-long expressions and too deep nesting', () => {
    expect(failure('a && ' + 't'.repeat(165))).toEqual({
      position: 5,
      message: 'tag longer than 164 characters at position 5',
    });
    const long = 'a || '.repeat(1000) + 'a';
    expect(failure(long)).toEqual({
      position: MAX_EXPRESSION_LENGTH,
      message: `expression longer than ${MAX_EXPRESSION_LENGTH} characters at position ${MAX_EXPRESSION_LENGTH}`,
    });
    const tooDeep = '('.repeat(MAX_NESTING_DEPTH + 1) + 'a' + ')'.repeat(MAX_NESTING_DEPTH + 1);
    expect(failure(tooDeep)).toEqual({
      position: MAX_NESTING_DEPTH,
      message: `nesting deeper than ${MAX_NESTING_DEPTH} levels at position ${MAX_NESTING_DEPTH}`,
    });
    expect(failure('!'.repeat(MAX_NESTING_DEPTH + 1) + 'a').position).toBe(MAX_NESTING_DEPTH);
    expect(failure('!('.repeat(40) + 'a' + ')'.repeat(40)).position).toBe(MAX_NESTING_DEPTH);
  });
});

describe('parseTagFilter', () => {
  it('returns null for an empty filter', () => {
    expect(parseTagFilter([])).toEqual({ ok: true, value: null });
  });

  it('returns a single entry as it is', () => {
    expect(parseTagFilter(['a && b'])).toEqual({ ok: true, value: and(tag('a'), tag('b')) });
  });

  it('ORs the entries, as if joined with ||', () => {
    const r = parseTagFilter(['tag1 && tag2', 'tag3']);
    expect(r).toEqual({ ok: true, value: or(and(tag('tag1'), tag('tag2')), tag('tag3')) });
    expect(r).toEqual({ ok: true, value: parsed('tag1 && tag2 || tag3') });
    expect(parseTagFilter(['a || b', 'c'])).toEqual({ ok: true, value: or(tag('a'), tag('b'), tag('c')) });
  });

  it('carries the index of the failing entry', () => {
    const r = parseTagFilter(['ok', 'a && (b', '&']);
    expect(r).toEqual({
      ok: false,
      error: { index: 1, expression: 'a && (b', position: 7, message: "expected ')' at position 7" },
    });
    const blank = parseTagFilter(['a', 'b', ' ']);
    expect(blank.ok ? null : blank.error.index).toBe(2);
  });
});

describe('tagFilterError', () => {
  it('builds a bad_request error quoting the expression and the position', () => {
    const r = parseTagFilter(['x', 'a && (b']);
    if (r.ok) throw new Error('expected an error');
    const e = tagFilterError(r.error);
    expect(e).toBeInstanceOf(PushcastError);
    expect(e.kind).toBe('bad_request');
    expect(e.message).toBe(`tags.1: syntax error in tag expression "a && (b" at position 7: expected ')'`);
    expect(e.details).toEqual({ field: 'tags.1', rule: 'tag_expression_syntax', expression: 'a && (b', position: 7 });
  });

  it('uses the given field and escapes quotes in the expression', () => {
    const r = parseTagFilter(['say "hi"']);
    if (r.ok) throw new Error('expected an error');
    const e = tagFilterError(r.error, 'filter.tags');
    expect(e.message).toBe(
      'filter.tags.0: syntax error in tag expression "say \\"hi\\"" at position 4: unexpected character "\\""',
    );
    expect(e.details.field).toBe('filter.tags.0');
  });

  it('truncates a huge expression in the message', () => {
    const r = parseTagFilter(['('.repeat(100_000)]);
    if (r.ok) throw new Error('expected an error');
    const e = tagFilterError(r.error);
    expect(e.message.length).toBeLessThan(400);
    expect(e.details.position).toBe(MAX_EXPRESSION_LENGTH);
  });
});
