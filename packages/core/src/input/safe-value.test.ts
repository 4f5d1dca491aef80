import { describe, expect, it } from 'vitest';
import { findUnsafe, MAX_INPUT_DEPTH, parseJsonBody } from './safe-value.ts';

const nest = (levels: number, leaf: unknown = 1): unknown => {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = { k: v };
  return v;
};

describe('findUnsafe', () => {
  it('takes ordinary values, surrogate pairs included', () => {
    expect(findUnsafe({ a: ['x', 1, null, true, { '😀': 'é😀' }] }, 'body')).toBeNull();
  });

  it('names NULs and lone surrogates by their path, keys by their object', () => {
    expect(findUnsafe({ actions: [{ title: 'a\u0000' }] }, 'body')).toMatchObject({ field: 'actions.0.title', rule: 'no_nul' });
    expect(findUnsafe({ a: 'x\ud800' }, 'body')).toMatchObject({ field: 'a', rule: 'well_formed_unicode' });
    expect(findUnsafe({ a: '\udc00x' }, 'body')).toMatchObject({ field: 'a', rule: 'well_formed_unicode' });
    expect(findUnsafe({ fcm: { data: { ['k\ud800']: 'v' } } }, 'body')).toMatchObject({ field: 'fcm.data', rule: 'well_formed_unicode' });
    expect(findUnsafe({ ['\u0000']: 1 }, 'query')).toMatchObject({ field: 'query', rule: 'no_nul' });
    expect(findUnsafe('\u0000', 'body')).toMatchObject({ field: 'body', rule: 'no_nul' });
  });

  it('reports the first problem in document order', () => {
    expect(findUnsafe({ a: [{ b: 'ok' }, '\ud800'], c: '\u0000' }, 'body')).toMatchObject({ field: 'a.1' });
  });

  it(`takes ${MAX_INPUT_DEPTH} levels of nesting below the root, not one more`, () => {
    expect(findUnsafe(nest(MAX_INPUT_DEPTH + 1), 'body')).toBeNull();
    expect(findUnsafe(nest(MAX_INPUT_DEPTH + 2), 'body')).toMatchObject({ rule: 'max_depth', field: Array(MAX_INPUT_DEPTH + 1).fill('k').join('.') });
  });

  it('walks 200,000 levels without the call stack', () => {
    const text = `${'['.repeat(200_000)}${']'.repeat(200_000)}`;
    expect(() => parseJsonBody(text)).toThrow(expect.objectContaining({ kind: 'validation', details: expect.objectContaining({ rule: 'max_depth' }) }));
  });
});

describe('parseJsonBody', () => {
  it('a blank body is no body; text that is not JSON is a 400 naming the body', () => {
    expect(parseJsonBody('  \n')).toBeUndefined();
    expect(() => parseJsonBody('{"a":')).toThrow(expect.objectContaining({ kind: 'bad_request', details: { field: 'body', rule: 'json' } }));
  });
});
