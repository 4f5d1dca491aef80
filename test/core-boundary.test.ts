import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// One core for every dialect: the use cases know nothing of HTTP, and no route writes what a use
// case owns (a second dialect copying a route would otherwise copy the orchestration too).

const root = new URL('..', import.meta.url).pathname;

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

const importsOf = (file: string) => [...readFileSync(join(root, file), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]!);

describe('the core', () => {
  it('imports nothing of HTTP', () => {
    const offending = sources('packages/core/src').flatMap((f) => importsOf(f).filter((i) => /fastify|^node:http|undici/.test(i)).map((i) => `${f}: ${i}`));
    expect(offending).toEqual([]);
  });

  it('is the only caller of the statements that create notifications and subscriptions', () => {
    const owned = /\b(insertNotification|cancelNotification|upsertWebSubscription|upsertDeviceSubscription|updateSubscription|deleteSubscription|estimateAudience)\b/;
    const offending = sources('apps/api/src')
      .filter((f) => {
        const text = readFileSync(join(root, f), 'utf8');
        const storeImport = text.match(/import \{([^}]*)\} from '@pushcast\/store'/);
        return storeImport !== null && owned.test(storeImport[1]!);
      });
    expect(offending).toEqual([]);
  });
});
