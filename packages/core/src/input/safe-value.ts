import { PushcastError, validationError, type Rule } from '@pushcast/domain';

/**
 * Input that no schema should meet: strings PostgreSQL cannot store (a NUL character; a lone UTF-16
 * surrogate, which JSONB and text refuse) and values nested deeper than any route takes (zod, the
 * payload mapping and JSONB all recurse). Checked on every body, query string and path parameter
 * before anything parses them further, by one walk with an explicit stack: a body nested a million
 * levels costs a loop, not the call stack.
 */

/**
 * How deep objects and arrays may nest: the widest legitimate body is a notification's APNs custom
 * payload (`apns.<key>…`, a few levels in practice and at most 4 KB on the wire); 32 leaves it
 * 30 levels of its own.
 */
export const MAX_INPUT_DEPTH = 32;

export interface UnsafeInput {
  /** Dotted path as parseInput names fields (`actions.0.title`); for a key, the object holding it. */
  readonly field: string;
  readonly rule: Extract<Rule, 'no_nul' | 'well_formed_unicode' | 'max_depth'>;
  readonly message: string;
}

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function stringProblem(s: string): UnsafeInput['rule'] | null {
  if (s.includes('\u0000')) return 'no_nul';
  if (LONE_SURROGATE.test(s)) return 'well_formed_unicode';
  return null;
}

const MESSAGES: Record<UnsafeInput['rule'], { value: string; key: string }> = {
  no_nul: { value: 'contains a NUL character (U+0000)', key: 'has a key containing a NUL character (U+0000)' },
  well_formed_unicode: { value: 'contains a lone UTF-16 surrogate', key: 'has a key containing a lone UTF-16 surrogate' },
  max_depth: { value: `is nested more than ${MAX_INPUT_DEPTH} levels deep`, key: '' },
};

interface Frame {
  readonly value: unknown;
  /** Its key in its parent (an array index as a string), null at the root. */
  readonly key: string | null;
  readonly ofObject: boolean;
  readonly parent: Frame | null;
  readonly depth: number;
}

function pathOf(frame: Frame | null): string[] {
  const path: string[] = [];
  for (let f = frame; f !== null && f.key !== null; f = f.parent) path.push(f.key);
  return path.reverse();
}

function problem(frame: Frame | null, rule: UnsafeInput['rule'], where: string, ofKey: boolean): UnsafeInput {
  const path = pathOf(frame);
  const field = path.length > 0 ? path.join('.') : where;
  return { field, rule, message: ofKey ? MESSAGES[rule].key : MESSAGES[rule].value };
}

/**
 * The first unsafe string, key or nesting in `value`, in document order, or null. `where` names
 * the whole value when the problem is at its root (`body`, `query`, `params`). A value deeper than
 * MAX_INPUT_DEPTH (the root is level 0) is named by its path; a key by the object holding it, since
 * the key itself is what cannot be echoed safely.
 */
export function findUnsafe(value: unknown, where: string): UnsafeInput | null {
  const stack: Frame[] = [{ value, key: null, ofObject: false, parent: null, depth: 0 }];
  while (stack.length > 0) {
    const frame = stack.pop()!;
    if (frame.ofObject) {
      const rule = stringProblem(frame.key!);
      if (rule) return problem(frame.parent, rule, where, true);
    }
    const v = frame.value;
    if (typeof v === 'string') {
      const rule = stringProblem(v);
      if (rule) return problem(frame, rule, where, false);
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (frame.depth > MAX_INPUT_DEPTH) return problem(frame, 'max_depth', where, false);
    const depth = frame.depth + 1;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ value: v[i], key: String(i), ofObject: false, parent: frame, depth });
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i]!;
      stack.push({ value: (v as Record<string, unknown>)[key], key, ofObject: true, parent: frame, depth });
    }
  }
  return null;
}

/** Throws the 422 for the first unsafe part of `value` (see findUnsafe). */
export function assertSafeInput(value: unknown, where: 'body' | 'query' | 'params'): void {
  const unsafe = findUnsafe(value, where);
  if (unsafe) throw validationError(unsafe.field, unsafe.rule, unsafe.message);
}

/**
 * A JSON body as text: blank is no body (some clients send `Content-Type: application/json` on a
 * DELETE without one); unparsable is a 400 (`json`); unsafe a 422 (see findUnsafe).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new PushcastError('bad_request', 'body: is not valid JSON', { field: 'body', rule: 'json' });
  }
  assertSafeInput(value, 'body');
  return value;
}
