import { readdirSync, readFileSync } from 'node:fs';
import { RULES } from '@pushcast/domain';
import { describe, expect, it } from 'vitest';

// The rules a client can meet are one catalogue in code; the documentation lists exactly those.

const root = new URL('..', import.meta.url);

function documentedRules(): string[] {
  const text = readFileSync(new URL('docs/api.md', root), 'utf8');
  const start = text.indexOf('\n### Rules\n');
  if (start < 0) throw new Error('no "### Rules" section in docs/api.md');
  const section = text.slice(start + 1).split(/\n#{2,3} /)[0]!;
  return [...section.matchAll(/^\| `([a-z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe('the rule catalogue', () => {
  it('is documented rule for rule, in its order', () => {
    expect(documentedRules()).toEqual(Object.keys(RULES));
  });

  it('is the only source of rule names: no rule is written as a bare literal in code', () => {
    // Custom zod checks name their rule through ruleParam(), typed by the catalogue.
    const offending: string[] = [];
    const files = ['apps', 'packages'].flatMap((top) =>
      readdirSync(new URL(top, root), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts') && !f.includes('node_modules'))
        .map((f) => `${top}/${f}`),
    );
    for (const file of files) {
      const text = readFileSync(new URL(file, root), 'utf8');
      for (const m of text.matchAll(/params: \{ rule: '([a-z0-9_]+)' \}/g)) offending.push(`${file}: ${m[1]}`);
    }
    expect(offending).toEqual([]);
  });
});
