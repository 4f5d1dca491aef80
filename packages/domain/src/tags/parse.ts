import { PushcastError } from '../errors.ts';
import { err, ok, type Result } from '../result.ts';
import { MAX_TAG_LENGTH, type TagExpr } from './ast.ts';

/** Longer input is rejected before tokenizing, which also bounds the work done on hostile input. */
export const MAX_EXPRESSION_LENGTH = 4096;
/** Every `(` and `!` nests one level; the bound keeps the recursion far from the stack limit. */
export const MAX_NESTING_DEPTH = 64;

export interface TagSyntaxError {
  readonly expression: string;
  /** 0-based UTF-16 offset into `expression`; `expression.length` means "at the end". */
  readonly position: number;
  /** Ends with ` at position <position>`, e.g. `expected a tag or '(' at position 7`. */
  readonly message: string;
}

export type TagFilterSyntaxError = TagSyntaxError & { readonly index: number };

type Token =
  | { readonly type: 'tag'; readonly pos: number; readonly text: string }
  | { readonly type: 'not' | 'and' | 'or' | 'lparen' | 'rparen' | 'eof'; readonly pos: number }
  // A lexical error becomes the last token rather than failing the lexer, so that an earlier
  // syntax error is still the one reported: errors always come out in input order.
  | { readonly type: 'invalid'; readonly pos: number; readonly reason: string };

const isTagChar = (c: number): boolean =>
  (c >= 0x61 && c <= 0x7a) || // a-z
  (c >= 0x41 && c <= 0x5a) || // A-Z
  (c >= 0x30 && c <= 0x3a) || // 0-9 and ':'
  c === 0x5f || // _
  c === 0x2d || // -
  c === 0x2e || // .
  c === 0x40 || // @
  c === 0x23 || // #
  c === 0x3d || // = (Beams' interests)
  c === 0x2c || // ,
  c === 0x3b; // ;

const WHITESPACE = /\s/;

/** Shows an offending character unambiguously, even a quote, a control character or a lone surrogate. */
function describeChar(input: string, pos: number): string {
  const cp = input.codePointAt(pos) ?? 0;
  return JSON.stringify(String.fromCodePoint(cp));
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const ch = input[i] as string;
    const code = input.charCodeAt(i);
    if (WHITESPACE.test(ch)) {
      i++;
    } else if (isTagChar(code)) {
      const start = i;
      while (i < input.length && isTagChar(input.charCodeAt(i))) i++;
      if (i - start > MAX_TAG_LENGTH) {
        tokens.push({ type: 'invalid', pos: start, reason: `tag longer than ${MAX_TAG_LENGTH} characters` });
        return tokens;
      }
      tokens.push({ type: 'tag', pos: start, text: input.slice(start, i) });
    } else if (ch === '(' || ch === ')' || ch === '!') {
      tokens.push({ type: ch === '(' ? 'lparen' : ch === ')' ? 'rparen' : 'not', pos: i });
      i++;
    } else if (ch === '&' || ch === '|') {
      if (input[i + 1] !== ch) {
        tokens.push({ type: 'invalid', pos: i, reason: `a single '${ch}' is not an operator, use '${ch}${ch}'` });
        return tokens;
      }
      tokens.push({ type: ch === '&' ? 'and' : 'or', pos: i });
      i += 2;
    } else {
      tokens.push({ type: 'invalid', pos: i, reason: `unexpected character ${describeChar(input, i)}` });
      return tokens;
    }
  }
  tokens.push({ type: 'eof', pos: input.length });
  return tokens;
}

/** Builds a flat n-ary node: `(a && b) && c` becomes and(a, b, c), and a single item stands alone. */
function combine(kind: 'and' | 'or', items: TagExpr[]): TagExpr {
  if (items.length === 1) return items[0] as TagExpr;
  const flat: TagExpr[] = [];
  for (const item of items) {
    if (item.kind === kind) flat.push(...item.items);
    else flat.push(item);
  }
  return { kind, items: flat };
}

/** Thrown only inside the parser, to unwind the recursion in one step; never escapes this module. */
class SyntaxFailure {
  constructor(
    readonly position: number,
    readonly reason: string,
  ) {}
}

class Parser {
  private next = 0;
  private depth = 0;

  constructor(private readonly tokens: readonly Token[]) {}

  parse(): TagExpr {
    const expr = this.parseOr();
    const tok = this.peek();
    if (tok.type !== 'eof') {
      this.fail(tok, tok.type === 'rparen' ? "unmatched ')'" : "expected '&&', '||' or end of expression");
    }
    return expr;
  }

  private parseOr(): TagExpr {
    const items = [this.parseAnd()];
    while (this.peek().type === 'or') {
      this.next++;
      items.push(this.parseAnd());
    }
    return combine('or', items);
  }

  private parseAnd(): TagExpr {
    const items = [this.parseUnary()];
    while (this.peek().type === 'and') {
      this.next++;
      items.push(this.parseUnary());
    }
    return combine('and', items);
  }

  private parseUnary(): TagExpr {
    const tok = this.peek();
    if (tok.type !== 'not') return this.parsePrimary();
    this.next++;
    this.enter(tok);
    const expr = this.parseUnary();
    this.depth--;
    return { kind: 'not', expr };
  }

  private parsePrimary(): TagExpr {
    const tok = this.peek();
    if (tok.type === 'tag') {
      this.next++;
      return { kind: 'tag', tag: tok.text };
    }
    if (tok.type !== 'lparen') this.fail(tok, "expected a tag or '('");
    this.next++;
    this.enter(tok);
    const expr = this.parseOr();
    const close = this.peek();
    if (close.type !== 'rparen') {
      this.fail(close, close.type === 'eof' ? "expected ')'" : "expected '&&', '||' or ')'");
    }
    this.next++;
    this.depth--;
    return expr;
  }

  private enter(tok: Token): void {
    if (++this.depth > MAX_NESTING_DEPTH) this.fail(tok, `nesting deeper than ${MAX_NESTING_DEPTH} levels`);
  }

  private peek(): Token {
    // The token list always ends with 'eof' or 'invalid', and the parser never consumes either.
    return this.tokens[this.next] as Token;
  }

  private fail(tok: Token, expected: string): never {
    throw tok.type === 'invalid' ? new SyntaxFailure(tok.pos, tok.reason) : new SyntaxFailure(tok.pos, expected);
  }
}

const syntaxError = (expression: string, position: number, reason: string): TagSyntaxError => ({
  expression,
  position,
  message: `${reason} at position ${position}`,
});

/** Parses one Pushpad tag expression, e.g. `zip_code:28865 && !optout:local_events || friend_of:Organizer123`. */
export function parseTagExpression(input: string): Result<TagExpr, TagSyntaxError> {
  if (input.length > MAX_EXPRESSION_LENGTH) {
    return err(syntaxError(input, MAX_EXPRESSION_LENGTH, `expression longer than ${MAX_EXPRESSION_LENGTH} characters`));
  }
  if (input.trim() === '') return err(syntaxError(input, 0, 'empty tag expression'));
  try {
    return ok(new Parser(tokenize(input)).parse());
  } catch (e) {
    if (e instanceof SyntaxFailure) return err(syntaxError(input, e.position, e.reason));
    throw e;
  }
}

/**
 * Parses a Pushpad tag filter: an array of expressions whose entries are OR-ed. An empty array
 * means "no tag condition" and yields null.
 */
export function parseTagFilter(entries: readonly string[]): Result<TagExpr | null, TagFilterSyntaxError> {
  const exprs: TagExpr[] = [];
  for (const [index, entry] of entries.entries()) {
    const parsed = parseTagExpression(entry);
    if (!parsed.ok) return err({ ...parsed.error, index });
    exprs.push(parsed.value);
  }
  return ok(exprs.length === 0 ? null : combine('or', exprs));
}

/** Keeps error messages and response bodies small when the offending expression is huge. */
const MAX_QUOTED_LENGTH = 256;

/**
 * The API error for a bad entry of a tag filter, e.g.
 * `tags.1: syntax error in tag expression "a && (b" at position 7: expected ')'`.
 */
export function tagFilterError(e: TagFilterSyntaxError, field = 'tags'): PushcastError {
  const path = `${field}.${e.index}`;
  const suffix = ` at position ${e.position}`;
  const reason = e.message.endsWith(suffix) ? e.message.slice(0, -suffix.length) : e.message;
  const expression =
    e.expression.length > MAX_QUOTED_LENGTH ? `${e.expression.slice(0, MAX_QUOTED_LENGTH)}…` : e.expression;
  return new PushcastError(
    'bad_request',
    `${path}: syntax error in tag expression ${JSON.stringify(expression)} at position ${e.position}: ${reason}`,
    { field: path, rule: 'tag_expression_syntax', expression, position: e.position },
  );
}
