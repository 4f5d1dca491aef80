import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const TOTAL = 10_000;
const TAGS = ['sports', 'travel', 'music', 'zip_code:28865'];

let server: TestServer;
let projectId: number;
let otherProjectId: number;
// What was stored, kept here to compute expected counts independently of the API.
const stored: { uid: string | null; tags: string[] }[] = [];

// A seeded generator: the same data on every run, with every tag combination present.
let seed = 42;
function random(): number {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
}
const deterministicTags = (_i: number): string[] => TAGS.filter(() => random() < 0.4);

beforeAll(async () => {
  server = await startTestServer('pagination');
  projectId = (await createProject(server, 'big')).projectId;
  otherProjectId = (await createProject(server, 'other')).projectId;
  for (let i = 0; i < TOTAL; i += 1) stored.push({ uid: i % 3 === 0 ? null : `user${i % 50}`, tags: deterministicTags(i) });
  // Bulk set-up straight into PostgreSQL (10,000 imports over HTTP would only slow the test);
  // everything asserted below goes through the API.
  await server.db.query(
    `INSERT INTO subscriptions (project_id, endpoint, p256dh, auth, uid, tags)
     SELECT $1, 'https://127.0.0.1/push/' || i, 'k', 'a', u, t
     FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS x(u, tj, i), LATERAL (SELECT ARRAY(SELECT json_array_elements_text(tj::json)) AS t) tt`,
    [projectId, stored.map((s) => s.uid), stored.map((s) => JSON.stringify(s.tags))],
  );
  // Noise in another project must never leak into this one's pages or counts.
  await server.db.query(
    `INSERT INTO subscriptions (project_id, endpoint, p256dh, auth, uid, tags)
     SELECT $1, 'https://127.0.0.1/other/' || i, 'k', 'a', 'user1', '{sports}' FROM generate_series(1, 500) i`,
    [otherProjectId],
  );
});
afterAll(async () => server?.close());

const get = (query: string) => call(server.apiUrl, 'GET', `/projects/${projectId}/subscriptions?${query}`, { token: server.adminToken });
const head = (query: string) => call(server.apiUrl, 'HEAD', `/projects/${projectId}/subscriptions?${query}`, { token: server.adminToken });

async function walk(query: string, perPage: number): Promise<number[]> {
  const ids: number[] = [];
  for (let page = 1; ; page += 1) {
    const res = await get(`${query}&page=${page}&per_page=${perPage}`);
    expect(res.status).toBe(200);
    ids.push(...res.body.map((s: { id: number }) => s.id));
    if (res.body.length < perPage) return ids;
  }
}

describe('pagination over 10,000 subscriptions', () => {
  it.each([1000, 333, 97])('pages of %i partition the set exactly', async (perPage) => {
    const ids = await walk('', perPage);
    expect(ids).toHaveLength(TOTAL);
    expect(new Set(ids).size).toBe(TOTAL);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('defaults to 20 a page, and a page past the end is empty', async () => {
    const first = await get('');
    expect(first.body).toHaveLength(20);
    expect(first.headers.get('x-total-count')).toBe(String(TOTAL));
    const past = await get('page=1000&per_page=1000');
    expect(past.body).toEqual([]);
    expect(past.headers.get('x-total-count')).toBe(String(TOTAL));
  });

  const filters: [string, string, (s: { uid: string | null; tags: string[] }) => boolean][] = [
    ['no filter', '', () => true],
    ['uids[]=user1&uids[]=user2', 'uids[]=user1&uids[]=user2', (s) => s.uid === 'user1' || s.uid === 'user2'],
    ['tags[]=sports', 'tags[]=sports', (s) => s.tags.includes('sports')],
    [
      'tags[]=sports && !travel, music',
      `tags[]=${encodeURIComponent('sports && !travel')}&tags[]=music`,
      (s) => (s.tags.includes('sports') && !s.tags.includes('travel')) || s.tags.includes('music'),
    ],
    [
      'uids and zip_code tag',
      `uids[]=user5&tags[]=${encodeURIComponent('zip_code:28865 || (travel && music)')}`,
      (s) => s.uid === 'user5' && (s.tags.includes('zip_code:28865') || (s.tags.includes('travel') && s.tags.includes('music'))),
    ],
    ['bare tags= (Ruby client)', `tags=${encodeURIComponent('!sports')}`, (s) => !s.tags.includes('sports')],
  ];

  it.each(filters)('X-Total-Count is right under %s, on GET and HEAD, and pages partition the filtered set', async (_l, query, predicate) => {
    const expected = stored.filter(predicate).length;
    expect(expected).toBeGreaterThan(0);
    const viaGet = await get(`${query}&per_page=1`);
    expect(viaGet.headers.get('x-total-count')).toBe(String(expected));
    const viaHead = await head(query);
    expect(viaHead.status).toBe(200);
    expect(viaHead.headers.get('x-total-count')).toBe(String(expected));
    const ids = await walk(query, 1000);
    expect(new Set(ids).size).toBe(expected);
  });
});
