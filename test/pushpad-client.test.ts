import { generateKeyPairSync } from 'node:crypto';
import Pushpad, { PushpadError } from 'pushpad';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uidSignatureFromState } from '@pushcast/domain';
import { call, browserKeys, localEndpoint } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Every senders/projects/subscriptions call of the seed README (Pushpad's Python client), made
// with the official Node client (same calls), its baseUrl pointed at Pushcast.

let server: TestServer;
let client: Pushpad;

beforeAll(async () => {
  // example.com: the README's import example uses it as the endpoint host.
  server = await startTestServer('pushpad', { PUSHCAST_ALLOWED_PUSH_HOSTS: '127.0.0.1,example.com' });
  client = new Pushpad({ authToken: server.adminToken, baseUrl: server.apiUrl });
});
afterAll(async () => server?.close());

async function rejection(promise: Promise<unknown>): Promise<PushpadError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PushpadError);
  return error as PushpadError;
}

describe('senders', () => {
  it('creates a sender with generated VAPID keys (PEM)', async () => {
    const sender = await client.sender.create({ name: 'My sender' });
    expect(sender).toMatchObject({ name: 'My sender' });
    expect(sender.id).toEqual(expect.any(Number));
    expect(sender.vapid_private_key).toMatch(/^-----BEGIN EC PRIVATE KEY-----\n/);
    expect(sender.vapid_public_key).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(new Date(sender.created_at).getTime()).not.toBeNaN();
  });

  it('creates a sender with the keys given, and finds, lists, renames and deletes it', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const vapid_private_key = privateKey.export({ format: 'pem', type: 'sec1' }).toString();
    const vapid_public_key = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const created = await client.sender.create({ name: 'Imported', vapid_private_key, vapid_public_key });
    expect(created.vapid_private_key).toBe(vapid_private_key);
    expect(created.vapid_public_key).toBe(vapid_public_key);

    expect((await client.sender.findAll()).map((s) => s.id)).toContain(created.id);
    expect(await client.sender.find(created.id)).toEqual(created);
    const renamed = await client.sender.update(created.id, { name: 'The New Sender Name' });
    expect(renamed).toEqual({ ...created, name: 'The New Sender Name' });

    await client.sender.delete(created.id);
    expect((await rejection(client.sender.find(created.id))).status).toBe(404);
  });
});

describe('projects', () => {
  it('creates, lists, finds, updates and deletes (202) a project', async () => {
    const sender = await client.sender.create({ name: 'for projects' });
    const attributes = {
      sender_id: sender.id,
      name: 'My project',
      website: 'https://example.com',
      icon_url: 'https://example.com/icon.png',
      badge_url: 'https://example.com/badge.png',
      notifications_ttl: 604800,
      notifications_require_interaction: false,
      notifications_silent: false,
    };
    const project = await client.project.create(attributes);
    expect(project).toMatchObject({ ...attributes, id: expect.any(Number), created_at: expect.any(String) });

    expect((await client.project.findAll()).map((p) => p.id)).toContain(project.id);
    expect(await client.project.find(project.id)).toEqual(project);
    const updated = await client.project.update(project.id, { name: 'The New Project Name' });
    expect(updated).toEqual({ ...project, name: 'The New Project Name' });

    await client.project.delete(project.id);
    expect((await rejection(client.project.find(project.id))).status).toBe(404);
    expect((await client.project.findAll()).map((p) => p.id)).not.toContain(project.id);
  });

  it('defaults optional settings like Pushpad does', async () => {
    const sender = await client.sender.create({ name: 'defaults' });
    const project = await client.project.create({ sender_id: sender.id, name: 'Minimal', website: 'https://example.org' });
    expect(project).toMatchObject({
      icon_url: null,
      badge_url: null,
      notifications_ttl: 604800,
      notifications_require_interaction: false,
      notifications_silent: false,
    });
  });
});

describe('subscriptions', () => {
  let projectId: number;
  let scoped: Pushpad;

  beforeAll(async () => {
    const sender = await client.sender.create({ name: 'subs' });
    projectId = (await client.project.create({ sender_id: sender.id, name: 'Subs', website: 'https://example.com' })).id;
    scoped = new Pushpad({ authToken: server.adminToken, projectId, baseUrl: server.apiUrl });
    const people = [
      { uid: 'user1', tags: ['sports', 'travel'] },
      { uid: 'user1', tags: ['sports'] },
      { uid: 'user2', tags: ['travel'] },
      { uid: undefined, tags: ['sports', 'travel', 'music'] },
      { uid: 'user3', tags: [] },
    ];
    for (const p of people) await scoped.subscription.create({ endpoint: localEndpoint(), ...browserKeys(), ...p });
  });

  it('imports the README example subscription', async () => {
    const attributes = {
      endpoint: 'https://example.com/push/f7Q1Eyf7EyfAb1',
      p256dh: 'BCQVDTlYWdl05lal3lG5SKr3VxTrEWpZErbkxWrzknHrIKFwihDoZpc_2sH6Sh08h-CacUYI-H8gW4jH-uMYZQ4=',
      auth: 'cdKMlhgVeSPzCXZ3V7FtgQ==',
      uid: 'exampleUid',
      tags: ['exampleTag1', 'exampleTag2'],
    };
    const subscription = await scoped.subscription.create(attributes);
    expect(subscription).toMatchObject({ ...attributes, id: expect.any(Number), project_id: projectId, last_click_at: null });
    expect(await scoped.subscription.find(subscription.id)).toEqual(subscription);
    await scoped.subscription.delete(subscription.id);
    expect((await rejection(scoped.subscription.find(subscription.id))).status).toBe(404);
  });

  it('counts like the README (HEAD + X-Total-Count)', async () => {
    expect(await scoped.subscription.count()).toBe(5);
    expect(await scoped.subscription.count({ uids: ['user1'] })).toBe(2);
    expect(await scoped.subscription.count({ tags: ['sports'] })).toBe(3);
    expect(await scoped.subscription.count({ tags: ['sports && travel'] })).toBe(2);
    expect(await scoped.subscription.count({ uids: ['user1'], tags: ['sports && travel'] })).toBe(1);
    expect(await scoped.subscription.count({ uids: ['nobody'] })).toBe(0);
    // The project passed per call instead of on the client (README: `count(project_id=123)`).
    expect(await client.subscription.count({ tags: ['sports'] }, { projectId })).toBe(3);
    expect(await client.subscription.findAll({ uids: ['user2'] }, { projectId })).toHaveLength(1);
  });

  it('lists like the README, with filters and pages', async () => {
    const all = await scoped.subscription.findAll();
    expect(all).toHaveLength(5);
    expect((await scoped.subscription.findAll({ uids: ['user1'] })).every((s) => s.uid === 'user1')).toBe(true);
    expect(await scoped.subscription.findAll({ tags: ['sports'] })).toHaveLength(3);
    expect(await scoped.subscription.findAll({ tags: ['sports && travel'] })).toHaveLength(2);
    expect(await scoped.subscription.findAll({ uids: ['user1'], tags: ['sports && travel'] })).toHaveLength(1);
    const page2 = await scoped.subscription.findAll({ page: 2, per_page: 2 });
    expect(page2.map((s) => s.id)).toEqual(all.slice(2, 4).map((s) => s.id));
  });

  it('updates uid and tags like the README loop', async () => {
    for (const subscription of await scoped.subscription.findAll({ uids: ['user2'] })) {
      const withUid = await scoped.subscription.update(subscription.id, { uid: 'myuser1' });
      expect(withUid).toMatchObject({ id: subscription.id, uid: 'myuser1', tags: subscription.tags });
      const tags = [...(subscription.tags ?? []), 'another_tag'];
      const withTags = await scoped.subscription.update(subscription.id, { tags });
      expect(withTags).toMatchObject({ uid: 'myuser1', tags });
      await scoped.subscription.update(subscription.id, { uid: 'user2', tags: subscription.tags });
    }
    expect(await scoped.subscription.count({ tags: ['another_tag'] })).toBe(0);
  });

  it('signature_for(uid) is verifiable from what Pushcast stores of a token', async () => {
    const res = await call(server.apiUrl, 'POST', '/access_tokens', {
      token: server.adminToken,
      body: { name: 'site', project_ids: [projectId] },
    });
    const site = new Pushpad({ authToken: res.body.token, projectId, baseUrl: server.apiUrl });
    const { rows } = await server.db.query('SELECT hmac_key_state FROM access_tokens WHERE id = $1', [res.body.id]);
    expect(uidSignatureFromState(rows[0].hmac_key_state, 'user1')).toBe(site.signatureFor('user1'));
    expect(uidSignatureFromState(rows[0].hmac_key_state, 'user2')).not.toBe(site.signatureFor('user1'));
  });
});

describe('errors reach the client as PushpadError with a JSON body', () => {
  it('401 for an unknown token', async () => {
    const stranger = new Pushpad({ authToken: 'not-a-token', baseUrl: server.apiUrl });
    const error = await rejection(stranger.project.findAll());
    expect(error.status).toBe(401);
    expect(error.body).toMatchObject({ error: expect.any(String) });
  });

  it('422 naming the field for a bad project', async () => {
    const sender = await client.sender.create({ name: 'errors' });
    const error = await rejection(client.project.create({ sender_id: sender.id, name: 'x', website: 'not a url' }));
    expect(error.status).toBe(422);
    expect(error.body).toMatchObject({ field: 'website', rule: 'url' });
  });
});
