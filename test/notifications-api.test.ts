import Pushpad, { PushpadError } from 'pushpad';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProject, scopedToken } from './support/fixtures.ts';
import { browserKeys, call, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// The notifications API as the official client uses it. No worker runs in this file: what is
// checked is what the API answers and stores (delivery is tested in broadcast.test.ts).

let server: TestServer;
let projectId: number;
let client: Pushpad;

beforeAll(async () => {
  server = await startTestServer('notifapi');
  ({ projectId } = await createProject(server, 'Website Name'));
  client = new Pushpad({ authToken: server.adminToken, projectId, baseUrl: server.apiUrl });
  const people: [string | undefined, string[]][] = [
    ['user1', ['events', 'zip_code:28865']],
    ['user1', ['events']],
    ['user2', ['segment1', 'optout:local_events', 'zip_code:28865']],
    [undefined, ['segment2', 'friend_of:Organizer123']],
    ['user3', ['tag1', 'tag2']],
    [undefined, ['tag3']],
  ];
  for (const [uid, tags] of people) await client.subscription.create({ endpoint: localEndpoint(), ...browserKeys(), uid, tags });
});
afterAll(async () => server?.close());

const everyField = {
  body: 'Hello world!',
  title: 'Website Name',
  target_url: 'https://example.com',
  icon_url: 'https://example.com/assets/icon.png',
  badge_url: 'https://example.com/assets/badge.png',
  image_url: 'https://example.com/assets/image.png',
  ttl: 604800,
  require_interaction: true,
  silent: false,
  urgent: false,
  custom_data: '123',
  actions: [
    { title: 'My Button 1', target_url: 'https://example.com/button-link', icon: 'https://example.com/assets/button-icon.png', action: 'myActionName' },
  ],
  starred: true,
  custom_metrics: ['examples', 'another_metric'],
};

describe('create (the seed README calls)', () => {
  it('with every optional field, then get returns them with statistics', async () => {
    const created = await client.notification.create(everyField);
    expect(created).toEqual({ id: expect.any(Number), scheduled: 6 });
    const n = await client.notification.find(created.id);
    expect(n).toMatchObject({
      ...everyField,
      id: created.id,
      project_id: projectId,
      created_at: expect.any(String),
      scheduled_count: 6,
      successfully_sent_count: 0,
      opened_count: 0,
      scheduled: false,
      cancelled: false,
      uids: null,
      tags: null,
      send_at: null,
    });
  });

  it.each([
    ['a simple notification (send alias)', { body: 'Your message' }, 6, undefined],
    ['a group of users', { body: 'Hello world!', uids: ['user1', 'user2'] }, 3, ['user1', 'user2']],
    ['users with a preference', { body: 'Hello world!', uids: ['user1', 'user2'], tags: ['events'] }, 2, ['user1']],
    ['unsubscribed uids are ignored', { body: 'x', uids: ['user3', 'ghost'] }, 1, ['user3']],
    ['segments', { body: 'Hello world!', tags: ['segment1', 'segment2'] }, 2, undefined],
    ['a boolean expression', { body: 'x', tags: ['zip_code:28865 && !optout:local_events || friend_of:Organizer123'] }, 2, undefined],
    ['OR-ed entries', { body: 'x', tags: ['tag1 && tag2', 'tag3'] }, 2, undefined],
  ])('targets %s', async (_label, params, scheduled, uids) => {
    const created = await client.notification.send(params);
    expect(created).toEqual({ id: expect.any(Number), scheduled, ...(uids ? { uids } : {}) });
  });

  it('defaults title, target_url, icon, badge and ttl from the project', async () => {
    const project = await client.project.update(projectId, {
      icon_url: 'https://example.com/p-icon.png',
      badge_url: 'https://example.com/p-badge.png',
      notifications_ttl: 3600,
      notifications_require_interaction: true,
    });
    const created = await client.notification.create({ body: 'defaults' });
    const n = await client.notification.find(created.id);
    expect(n).toMatchObject({
      title: project.name,
      target_url: project.website,
      icon_url: 'https://example.com/p-icon.png',
      badge_url: 'https://example.com/p-badge.png',
      ttl: 3600,
      require_interaction: true,
    });
  });

  it('accepts the wrapped body shape of the docs and the Ruby client', async () => {
    const res = await call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      token: server.adminToken,
      body: { notification: { body: 'wrapped', title: 'T' }, uids: ['user1'] },
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(Number), scheduled: 2, uids: ['user1'] });
    const n = await client.notification.find(res.body.id);
    expect(n).toMatchObject({ body: 'wrapped', title: 'T', uids: ['user1'] });
  });
});

describe('scheduling and cancel', () => {
  it('send_at answers {id, send_at}; no zone means UTC; cancel → 204 and cancelled: true', async () => {
    const at = new Date(Date.now() + 3600_000);
    const noZone = at.toISOString().slice(0, 16); // 2025-07-25T10:09
    const created = await client.notification.create({ body: 'later', send_at: noZone });
    expect(created).toEqual({ id: expect.any(Number), send_at: `${noZone}:00.000Z` });
    const before = await client.notification.find(created.id);
    expect(before).toMatchObject({ scheduled: true, cancelled: false, send_at: `${noZone}:00.000Z` });
    await client.notification.cancel(created.id);
    expect(await client.notification.find(created.id)).toMatchObject({ scheduled: false, cancelled: true });
  });

  it('refuses send_at more than 5 days ahead, and a malformed one', async () => {
    const far = new Date(Date.now() + 5 * 24 * 3600_000 + 60_000).toISOString();
    const error = await client.notification.create({ body: 'x', send_at: far }).catch((e: PushpadError) => e);
    expect(error).toBeInstanceOf(PushpadError);
    expect((error as PushpadError).status).toBe(422);
    expect((error as PushpadError).body).toMatchObject({ field: 'send_at', rule: 'max_schedule_ahead' });
    const bad = await call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      token: server.adminToken,
      body: { body: 'x', send_at: 'tomorrow' },
    });
    expect(bad.body).toMatchObject({ field: 'send_at', rule: 'iso8601' });
  });
});

describe('list', () => {
  it('pages newest first', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 3; i += 1) ids.push((await client.notification.create({ body: `list ${i}` })).id);
    const page1 = await client.notification.findAll();
    expect(page1.slice(0, 3).map((n) => n.id)).toEqual([...ids].reverse());
    const all: number[] = [];
    for (let page = 1; ; page += 1) {
      const items = await client.notification.findAll({ page });
      if (items.length === 0) break;
      all.push(...items.map((n) => n.id));
    }
    expect(all).toEqual([...all].sort((a, b) => b - a));
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('refusals', () => {
  const create = (body: unknown) => call(server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: server.adminToken, body });

  it('a payload that would not fit one Web Push record names its size and the limit', async () => {
    const res = await create({ body: 'x'.repeat(2000), custom_data: 'y'.repeat(1990) });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ field: 'payload', rule: 'payload_too_large', limit: 3993, size: expect.any(Number) });
    expect(res.body.size).toBeGreaterThan(3993);
    expect(res.body.error).toContain(`${res.body.size} bytes`);
    expect(res.body.error).toContain('3993');
  });

  it.each([
    [{}, 400, 'body', 'required'],
    [{ body: '' }, 422, 'body', 'min_length'],
    [{ body: 'x', custom_metrics: ['a', 'b', 'c', 'd'] }, 422, 'custom_metrics', 'max_items'],
    [{ body: 'x', ttl: -1 }, 422, 'ttl', 'min'],
    [{ body: 'x', target_url: 'ftp://x' }, 422, 'target_url', 'url'],
    [{ body: 'x', actions: [{ target_url: 'https://e.com' }] }, 400, 'actions.0.title', 'required'],
    [{ body: 'x', tags: ['a &&'] }, 400, 'tags.0', 'tag_expression_syntax'],
    [{ body: 'x', surprise: 1 }, 422, 'surprise', 'unknown_field'],
    [{ body: 'x', topic: 'not a topic!' }, 422, 'topic', 'topic'],
    [{ notification: { title: 'no body' } }, 400, 'notification.body', 'required'],
  ])('%j → %i naming %s', async (body, status, field, rule) => {
    const res = await create(body);
    expect(res.status, JSON.stringify(res.body)).toBe(status);
    expect(res.body).toMatchObject({ field, rule });
  });

  it('a token for another project gets 403 on every notification route', async () => {
    const other = (await createProject(server, 'other')).projectId;
    const token = await scopedToken(server, [other]);
    const created = await client.notification.create({ body: 'mine', send_at: new Date(Date.now() + 60_000).toISOString() });
    const routes = [
      ['POST', `/projects/${projectId}/notifications`, { body: 'x' }],
      ['GET', `/projects/${projectId}/notifications`],
      ['GET', `/notifications/${created.id}`],
      ['DELETE', `/notifications/${created.id}/cancel`],
      // One that does not exist answers the same: ids of other tenants cannot be probed.
      ['GET', `/notifications/${created.id + 1_000_000}`],
    ] as const;
    for (const [method, path, body] of routes) {
      const res = await call(server.apiUrl, method, path, { token, body });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect(await client.notification.find(created.id)).toMatchObject({ cancelled: false });
  });
});
