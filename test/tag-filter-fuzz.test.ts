import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { browserKeys, call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Hostile tag filters through the real HTTP API: the answer is a page (200) or a JSON 400 naming
// the entry, the rule and the position, never a 500.

let server: TestServer;
let projectId: number;
beforeAll(async () => {
  server = await startTestServer('tagfuzz');
  ({ projectId } = await createProject(server));
  await call(server.apiUrl, 'POST', `/projects/${projectId}/subscriptions`, {
    token: server.adminToken,
    body: { endpoint: 'https://127.0.0.1/push/1', ...browserKeys(), tags: ['a', 'b:1'] },
  });
});
afterAll(async () => server?.close());

const grammarish = fc.string({
  unit: fc.constantFrom('a', 'b:1', 'c', '(', ')', '!', '&&', '||', '&', '|', ' ', '"', "'", ';', '%', '\\', '\u0000', 'é', '{', ','),
  maxLength: 40,
});
const anything = fc.string({ unit: 'binary', maxLength: 60 });

describe('tag filters over HTTP', () => {
  it('never answer 500, and refusals point inside the expression', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(grammarish, anything), { minLength: 1, maxLength: 3 }), async (entries) => {
        const query = entries.map((e) => `tags[]=${encodeURIComponent(e)}`).join('&');
        const res = await call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions?${query}`, { token: server.adminToken });
        expect(res.headers.get('content-type')).toMatch(/^application\/json/);
        if (res.status === 200) {
          expect(Array.isArray(res.body)).toBe(true);
          return;
        }
        // A NUL or a lone surrogate is refused before any parsing, as in every query string.
        if (res.status === 422) {
          expect(['no_nul', 'well_formed_unicode']).toContain(res.body.rule);
          expect(entries.some((e) => e.includes('\u0000') || /\p{Cs}/u.test(e))).toBe(true);
          return;
        }
        expect(res.status).toBe(400);
        expect(res.body.rule).toBe('tag_expression_syntax');
        const index = Number(String(res.body.field).split('.')[1]);
        expect(res.body.position).toBeGreaterThanOrEqual(0);
        expect(res.body.position).toBeLessThanOrEqual(entries[index]!.length);
      }),
      { numRuns: 300 },
    );
  });
});
