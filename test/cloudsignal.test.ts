import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rateLimitKey } from '@pushcast/api';
import { createQueues } from '@pushcast/queues';
import { createRedis } from '@pushcast/redis-state';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, type Pipeline } from './support/pipeline.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// Issue 16: CloudSignal's push API at /v2/push, its users' code with only the base URL changed.

const run = promisify(execFile);
const SEED_BASE = 'https://api.cloudsignal.io';

let p: Pipeline;
beforeAll(async () => {
  p = await startPipeline('cloudsignal');
  await p.startWorker();
});
afterAll(async () => {
  await p?.close();
});

interface Service {
  readonly projectId: number;
  readonly senderId: number;
  readonly secretKey: string;
}

async function newService(name: string): Promise<Service> {
  const { projectId, senderId } = await createProject(p.server, name);
  const key = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: p.server.adminToken });
  expect(key.status).toBe(201);
  return { projectId, senderId, secretKey: key.body.secret_key };
}

/** A browser subscribed through Pushcast's own API (Pushpad's dialect), with a uid and a user email. */
async function subscribe(s: Service, pushId: string, fields: { uid?: string; user_email?: string } = {}): Promise<number> {
  const res = await call(p.server.apiUrl, 'POST', `/projects/${s.projectId}/subscriptions`, {
    token: p.server.adminToken,
    body: { ...p.push.subscription(pushId), ...fields },
  });
  expect(res.status).toBe(201);
  expect(res.body.user_email).toBe(fields.user_email ?? null);
  return res.body.id;
}

const cs = (s: Pick<Service, 'secretKey'>, method: string, path: string, body?: unknown, rawBody?: string) =>
  fetch(`${p.server.url}/v2/push${path}`, {
    method,
    headers: { 'X-Secret-Key': s.secretKey, ...(body !== undefined || rawBody !== undefined ? { 'Content-Type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : rawBody !== undefined ? { body: rawBody } : {}),
  }).then(async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any }));

/** A seed's curl command, its base URL changed to this server, run by bash with the key in the environment. */
async function curl(command: string, secretKey: string): Promise<{ status: number; body: any }> {
  const changed = command.replaceAll(SEED_BASE, p.server.url).replaceAll('sk_your_secret_key', secretKey);
  const { stdout } = await run('bash', ['-c', `${changed} -s -w '\\n%{http_code}'`], { env: { ...process.env, CLOUDSIGNAL_SECRET_KEY: secretKey } });
  const at = stdout.lastIndexOf('\n');
  return { status: Number(stdout.slice(at + 1)), body: JSON.parse(stdout.slice(0, at)) };
}

const webMessages = (pushId: string) => p.push.receivedFor(pushId).filter((m) => m.status === 201).map((m) => ({ urgency: m.urgency, payload: JSON.parse(m.plaintext!) }));

const REQUEST_ID = /^req_[0-9a-f]{32}$/;

describe('the seed’s curl examples, base URL changed', () => {
  it('send your first notification (target_all): completed, every recipient counted', async () => {
    const s = await newService('first');
    await subscribe(s, 'first-a', { user_email: 'a@example.com' });
    await subscribe(s, 'first-b');
    const res = await curl(
      `curl -X POST https://api.cloudsignal.io/v2/push/send \\
-H "Content-Type: application/json" \\
-H "X-Secret-Key: sk_your_secret_key" \\
-d '{
"title": "Hello!",
"body": "This is your first push notification",
"target_all": true
}'`,
      s.secretKey,
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      request_id: expect.stringMatching(REQUEST_ID),
      total_targets: 2,
      successful_sends: 2,
      failed_sends: 0,
      invalid_registrations: [],
      message: 'Notifications sent successfully',
      status: 'completed',
      notification_id: expect.any(Number),
    });
    for (const id of ['first-a', 'first-b']) {
      expect(webMessages(id).map((m) => [m.payload.title, m.payload.body])).toEqual([['Hello!', 'This is your first push notification']]);
    }
  });

  it('send to specific users (target_user_emails, urgency high), broadcast to all, check quota', async () => {
    const s = await newService('examples');
    const userId = await subscribe(s, 'ex-user', { user_email: 'User@Example.com', uid: 'u1' });
    await subscribe(s, 'ex-other', { user_email: 'other@example.com' });
    const reset = await curl(
      `curl -X POST https://api.cloudsignal.io/v2/push/send \\
-H "Content-Type: application/json" \\
-H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY" \\
-d '{
"title": "Password Reset",
"body": "Click to reset your password",
"target_user_emails": ["user@example.com"],
"urgency": "high"
}'`,
      s.secretKey,
    );
    expect(reset.status).toBe(200);
    expect(reset.body).toMatchObject({ total_targets: 1, successful_sends: 1, failed_sends: 0, invalid_registrations: [], status: 'completed' });
    // Matched case-insensitively; sent as urgent; nobody else got it.
    expect(webMessages('ex-user')).toEqual([{ urgency: 'high', payload: expect.objectContaining({ title: 'Password Reset', body: 'Click to reset your password' }) }]);
    expect(webMessages('ex-other')).toEqual([]);
    // Nobody with that address: over at once, with nothing to count.
    const nobody = await cs(s, 'POST', '/send', { title: 't', body: 'b', target_user_emails: ['nobody@example.com'] });
    expect(nobody.body).toMatchObject({ total_targets: 0, successful_sends: 0, failed_sends: 0, status: 'completed' });

    const broadcast = await curl(
      `curl -X POST https://api.cloudsignal.io/v2/push/broadcast \\
-H "Content-Type: application/json" \\
-H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY" \\
-d '{
"title": "Maintenance Notice",
"body": "System maintenance at 2 AM UTC"
}'`,
      s.secretKey,
    );
    expect(broadcast.status).toBe(200);
    expect(broadcast.body).toMatchObject({ total_targets: 2, successful_sends: 2, failed_sends: 0, invalid_registrations: [], status: 'completed' });
    expect(webMessages('ex-other').map((m) => [m.urgency, m.payload.title])).toEqual([['normal', 'Maintenance Notice']]);

    const quota = await curl(
      `curl https://api.cloudsignal.io/v2/push/quota \\
-H "X-Secret-Key: $CLOUDSIGNAL_SECRET_KEY"`,
      s.secretKey,
    );
    expect(quota.status).toBe(200);
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    expect(quota.body).toEqual({
      organization_id: `org_${s.senderId}`,
      service_id: `svc_${s.projectId}`,
      // The deployment's default: unlimited.
      hourly_limit: null,
      daily_limit: null,
      hourly_remaining: null,
      daily_remaining: null,
      reset_hourly_at: expect.any(String),
      reset_daily_at: expect.any(String),
    });
    expect([hour + 3_600_000, hour + 7_200_000]).toContain(Date.parse(quota.body.reset_hourly_at));
    expect(quota.body.reset_daily_at).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/);

    // With a quota set on the project, the numbers: a broadcast to 2 counted against it.
    await call(p.server.apiUrl, 'PATCH', `/projects/${s.projectId}`, { token: p.server.adminToken, body: { quota_hourly: 1000, quota_daily: 10000 } });
    expect((await cs(s, 'POST', '/broadcast', { title: 't', body: 'b' })).body).toMatchObject({ successful_sends: 2 });
    const limited = await cs(s, 'GET', '/quota');
    expect(limited.body).toMatchObject({ hourly_limit: 1000, daily_limit: 10000, hourly_remaining: 998, daily_remaining: 9998 });
    expect(userId).toBeGreaterThan(0);
  });

  it('the JavaScript fetch example (Node.js / Edge Functions), base URL changed', async () => {
    const s = await newService('fetch');
    await subscribe(s, 'fetch-customer', { user_email: 'customer@example.com' });
    process.env.CLOUDSIGNAL_SECRET_KEY = s.secretKey;
    const base = p.server.url;
    // The seed's function, with only 'https://api.cloudsignal.io' replaced.
    async function sendPushNotification(options: { title: string; body: string; emails: string[]; data: unknown }) {
      const response = await fetch(`${base}/v2/push/send`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          'X-Secret-Key': process.env.CLOUDSIGNAL_SECRET_KEY!,
        },
        body: JSON.stringify({
          title: options.title,
          body: options.body,
          target_user_emails: options.emails,
          data: options.data,
        }),
      });
      if (!response.ok) {
        throw new Error(`Push failed: ${response.status}`);
      }
      return response.json();
    }
    const answer = await sendPushNotification({
      title: 'Order Shipped!',
      body: 'Your order #12345 is on its way',
      emails: ['customer@example.com'],
      data: { orderId: '12345', trackingUrl: 'https://...' },
    });
    expect(answer).toMatchObject({ total_targets: 1, successful_sends: 1, failed_sends: 0, invalid_registrations: [], status: 'completed' });
    const [message] = webMessages('fetch-customer');
    expect(message!.payload).toMatchObject({ title: 'Order Shipped!', body: 'Your order #12345 is on its way' });
    expect(JSON.parse(message!.payload.custom_data)).toEqual({ orderId: '12345', trackingUrl: 'https://...' });
  });
});

describe('errors in CloudSignal’s shape', () => {
  it('401 without a key or with a wrong one; a key reaches its own project only', async () => {
    const a = await newService('auth-a');
    const b = await newService('auth-b');
    const bClient = await subscribe(b, 'auth-b-1');
    const none = await fetch(`${p.server.url}/v2/push/quota`);
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ detail: 'missing X-Secret-Key header', code: 'UNAUTHORIZED', rule: 'token_required' });
    const wrong = await cs({ secretKey: 'sk_nope' }, 'GET', '/quota');
    expect(wrong).toMatchObject({ status: 401, body: { detail: 'invalid secret key', code: 'UNAUTHORIZED' } });
    // A malformed body without a key is still a 401: the key is checked first.
    const unauthBody = await cs({ secretKey: '' }, 'POST', '/send', undefined, '{');
    expect(unauthBody.status).toBe(401);
    expect((await cs(a, 'GET', `/clients/${bClient}`)).body).toMatchObject({ code: 'NOT_FOUND' });
    expect((await cs(b, 'GET', `/clients/${bClient}`)).status).toBe(200);
  });

  it('400 INVALID_REQUEST for malformed JSON and every broken field, naming field and rule; 404 for unknown routes', async () => {
    const s = await newService('invalid');
    const cases: [unknown, string, string][] = [
      [{ body: 'b', target_all: true }, 'title', 'required'],
      [{ title: 't', target_all: true }, 'body', 'required'],
      [{ title: 'x'.repeat(101), body: 'b', target_all: true }, 'title', 'max_length'],
      [{ title: 't', body: 'x'.repeat(256), target_all: true }, 'body', 'max_length'],
      [{ title: 't', body: 'b' }, 'target_all', 'one_target'],
      [{ title: 't', body: 'b', target_all: false }, 'target_all', 'one_target'],
      [{ title: 't', body: 'b', target_all: true, target_user_ids: ['u'] }, 'target_all', 'one_target'],
      [{ title: 't', body: 'b', target_user_emails: ['not-an-email'] }, 'target_user_emails.0', 'email'],
      [{ title: 't', body: 'b', target_user_emails: [] }, 'target_user_emails', 'min_items'],
      [{ title: 't', body: 'b', target_registration_ids: ['reg_abc'] }, 'target_registration_ids.0', 'invalid_type'],
      [{ title: 't', body: 'b', target_all: true, urgency: 'urgent' }, 'urgency', 'invalid_value'],
      [{ title: 't', body: 'b', target_all: true, ttl: 2_419_201 }, 'ttl', 'max'],
      [{ title: 't', body: 'b', target_all: true, icon: 'ftp://x' }, 'icon', 'url'],
      [{ title: 't', body: 'b', target_all: true, colour: 'red' }, 'colour', 'unknown_field'],
    ];
    for (const [body, field, rule] of cases) {
      const res = await cs(s, 'POST', '/send', body);
      expect([JSON.stringify(body), res.status, res.body.code, res.body.field, res.body.rule]).toEqual([JSON.stringify(body), 400, 'INVALID_REQUEST', field, rule]);
      expect(typeof res.body.detail).toBe('string');
    }
    const bad = await cs(s, 'POST', '/send', undefined, '{"title": ');
    expect(bad).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', rule: 'json' } });
    const array = await cs(s, 'POST', '/broadcast', [1]);
    expect(array).toMatchObject({ status: 400, body: { code: 'INVALID_REQUEST', field: 'body' } });
    expect(await cs(s, 'GET', '/clients?limit=1001')).toMatchObject({ status: 400, body: { field: 'limit', rule: 'max' } });
    expect(await cs(s, 'GET', '/clients?status=gone')).toMatchObject({ status: 400, body: { field: 'status', rule: 'invalid_value' } });
    expect(await cs(s, 'GET', '/nothing')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    expect(await cs(s, 'GET', '/requests/req_unknown')).toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
  });

  it('429 RATE_LIMITED past the API limit per minute, counted per project', async () => {
    const s = await newService('limited');
    const other = await newService('unlimited');
    // The project's counter at the limit (6,000 a minute by default): a minute of requests is too slow to make from a test.
    const redis = createRedis(TEST_REDIS_URL, 'worker', false);
    try {
      await redis.set(rateLimitKey(p.server.queuePrefix, `cs:${s.projectId}`), '6000', 'PX', 60_000);
    } finally {
      redis.disconnect();
    }
    const refused = await cs(s, 'GET', '/quota');
    expect(refused).toMatchObject({ status: 429, body: { code: 'RATE_LIMITED' } });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await cs(other, 'GET', '/quota')).status).toBe(200);
  });

  it('429 QUOTA_EXCEEDED when a reject quota has no room', async () => {
    const s = await newService('quota');
    await subscribe(s, 'quota-1');
    await subscribe(s, 'quota-2');
    await call(p.server.apiUrl, 'PATCH', `/projects/${s.projectId}`, { token: p.server.adminToken, body: { quota_daily: 1, quota_policy: 'reject' } });
    const res = await cs(s, 'POST', '/broadcast', { title: 't', body: 'b' });
    expect(res).toMatchObject({ status: 429, body: { code: 'QUOTA_EXCEEDED', rule: 'quota_exceeded' } });
  });
});

describe('clients and service', () => {
  it('lists with status, user_email, limit and offset; gets one; deregisters with a reason', async () => {
    const s = await newService('clients');
    const ids = [
      await subscribe(s, 'cl-1', { user_email: 'one@example.com', uid: 'u1' }),
      await subscribe(s, 'cl-2', { user_email: 'two@example.com' }),
      await subscribe(s, 'cl-3'),
    ];
    const all = await cs(s, 'GET', '/clients');
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, limit: 100, offset: 0 });
    expect(all.body.clients.map((c: any) => c.registration_id)).toEqual(ids.map(String));
    expect(all.body.clients[0]).toEqual({
      registration_id: String(ids[0]),
      organization_id: `org_${s.senderId}`,
      service_id: `svc_${s.projectId}`,
      status: 'active',
      is_active: true,
      is_online: false,
      is_installed: false,
      is_subscribed: true,
      user_email: 'one@example.com',
      uid: 'u1',
      platform: 'web',
      last_active: expect.any(String),
      notification_count: 0,
      device_info: { browser_name: null, browser_version: null, os_name: null, device_type: null },
      created_at: expect.any(String),
    });
    const page = await cs(s, 'GET', '/clients?limit=1&offset=1');
    expect(page.body).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.body.clients.map((c: any) => c.registration_id)).toEqual([String(ids[1])]);
    const byEmail = await cs(s, 'GET', '/clients?user_email=TWO@example.com');
    expect(byEmail.body.clients.map((c: any) => c.registration_id)).toEqual([String(ids[1])]);
    expect(byEmail.body.total).toBe(1);

    // A send counts towards notification_count (a small send records every delivery).
    await cs(s, 'POST', '/send', { title: 't', body: 'b', target_registration_ids: [String(ids[0]), ids[1]] });
    const one = await cs(s, 'GET', `/clients/${ids[0]}`);
    expect(one.body).toMatchObject({ registration_id: String(ids[0]), notification_count: 1 });
    expect((await cs(s, 'GET', `/clients/${ids[2]}`)).body.notification_count).toBe(0);

    const gone = await cs(s, 'DELETE', `/clients/${ids[2]}?reason=user_requested`);
    expect(gone).toMatchObject({ status: 200, body: { success: true, registration_id: String(ids[2]), message: 'Client deregistered successfully' } });
    // Again: already gone, nothing changes; an id that is not the project's is 404.
    expect((await cs(s, 'DELETE', `/clients/${ids[2]}`)).status).toBe(200);
    expect((await cs(s, 'DELETE', `/clients/999999999`)).body).toMatchObject({ code: 'NOT_FOUND' });
    expect((await cs(s, 'GET', `/clients/${ids[2]}`)).body).toMatchObject({ status: 'unregistered', is_subscribed: false });
    expect((await cs(s, 'GET', '/clients?status=unregistered')).body.clients.map((c: any) => c.registration_id)).toEqual([String(ids[2])]);
    const broadcast = await cs(s, 'POST', '/broadcast', { title: 't', body: 'b' });
    expect(broadcast.body).toMatchObject({ total_targets: 2, successful_sends: 2 });
    expect(webMessages('cl-3')).toEqual([]);
    // Registered again (the same endpoint): active and targeted again.
    expect(await subscribe(s, 'cl-3')).toBe(ids[2]);
    expect((await cs(s, 'GET', `/clients/${ids[2]}`)).body.status).toBe('active');
    expect((await cs(s, 'POST', '/broadcast', { title: 't', body: 'b' })).body).toMatchObject({ total_targets: 3, successful_sends: 3 });

    // Not seen (registered again, or clicked) for 30 days: inactive, still subscribed and targeted.
    await p.server.db.query(`UPDATE subscriptions SET updated_at = now() - interval '31 days' WHERE id = $1`, [ids[1]]);
    expect((await cs(s, 'GET', '/clients?status=inactive')).body.clients.map((c: any) => [c.registration_id, c.status, c.is_subscribed])).toEqual([
      [String(ids[1]), 'inactive', true],
    ]);
    expect((await cs(s, 'GET', '/clients?status=active')).body.total).toBe(2);
    expect((await cs(s, 'POST', '/send', { title: 't', body: 'b', target_user_emails: ['two@example.com'] })).body).toMatchObject({ successful_sends: 1 });
  });

  it('service: the project as CloudSignal’s PWA service', async () => {
    const s = await newService('service');
    await subscribe(s, 'svc-1');
    const key = await call(p.server.apiUrl, 'GET', `/projects/${s.projectId}/vapid_public_key`, {});
    const res = await cs(s, 'GET', '/service');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      service_id: `svc_${s.projectId}`,
      organization_id: `org_${s.senderId}`,
      service_identifier: `project-${s.projectId}`,
      service_name: 'service',
      vapid_public_key: key.body.vapid_public_key,
      contact_email: null,
      notifications_enabled: true,
      is_active: true,
      hourly_notification_limit: null,
      daily_notification_limit: null,
      active_registrations: 1,
      push_subscribers: 1,
    });
  });
});

describe('gone clients', () => {
  it('are deleted by the maintenance job 30 days after they went, not before', async () => {
    const s = await newService('purge');
    const [old, recent, active] = [await subscribe(s, 'purge-1'), await subscribe(s, 'purge-2'), await subscribe(s, 'purge-3')];
    await cs(s, 'DELETE', `/clients/${old}`);
    await cs(s, 'DELETE', `/clients/${recent}`);
    await p.server.db.query(`UPDATE subscriptions SET state_changed_at = now() - interval '31 days' WHERE id = $1`, [old]);
    const redis = createRedis(TEST_REDIS_URL, 'producer', false);
    const queues = createQueues(redis, p.server.queuePrefix);
    try {
      await queues.enqueue('maintain-delivery-records', {}, { jobId: 'purge-gone-clients' });
      await until(async () => (await cs(s, 'GET', `/clients/${old}`)).status === 404);
    } finally {
      await queues.close();
      redis.disconnect();
    }
    expect((await cs(s, 'GET', `/clients/${recent}`)).body.status).toBe('unregistered');
    expect((await cs(s, 'GET', `/clients/${active}`)).body.status).toBe('active');
    expect((await cs(s, 'GET', '/clients')).body.total).toBe(2);
  });
});

describe('clients registered by browsers', () => {
  const CHROME_WINDOWS = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36';
  const SAFARI_IPHONE =
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1';

  it('device_info from the subscribing browser’s User-Agent; user_email signed as a uid is', async () => {
    const s = await newService('browsers');
    const token = (await call(p.server.apiUrl, 'POST', '/access_tokens', { token: p.server.adminToken, body: { name: 'site', project_ids: [s.projectId] } })).body.token;
    const sign = (value: string) => createHmac('sha256', token).update(value).digest('hex');
    const register = (pushId: string, userAgent: string, extra: Record<string, unknown> = {}) => {
      const sub = p.push.subscription(pushId);
      return fetch(`${p.server.apiUrl}/projects/${s.projectId}/web_subscriptions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', origin: 'https://example.com', 'user-agent': userAgent },
        body: JSON.stringify({ endpoint: sub.endpoint, keys: { p256dh: sub.p256dh, auth: sub.auth }, ...extra }),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as any }));
    };
    const chrome = await register('br-chrome', CHROME_WINDOWS, { user_email: 'ann@example.com', user_email_signature: sign('ann@example.com') });
    expect(chrome.status).toBe(201);
    expect(chrome.body.user_email).toBe('ann@example.com');
    const iphone = await register('br-iphone', SAFARI_IPHONE);
    const unknown = await register('br-curl', 'curl/8.5.0');
    const forged = await register('br-forged', CHROME_WINDOWS, { user_email: 'ceo@example.com', user_email_signature: sign('ann@example.com') });
    expect(forged).toMatchObject({ status: 403, body: { field: 'user_email_signature', rule: 'uid_signature' } });
    const unsigned = await register('br-unsigned', CHROME_WINDOWS, { user_email: 'ceo@example.com' });
    expect(unsigned).toMatchObject({ status: 400, body: { field: 'user_email_signature', rule: 'required' } });

    const info = async (id: number) => (await cs(s, 'GET', `/clients/${id}`)).body.device_info;
    expect(await info(chrome.body.id)).toEqual({ browser_name: 'Chrome', browser_version: '120', os_name: 'Windows', device_type: 'desktop' });
    expect(await info(iphone.body.id)).toEqual({ browser_name: 'Safari', browser_version: '17', os_name: 'iOS', device_type: 'mobile' });
    expect(await info(unknown.body.id)).toEqual({ browser_name: null, browser_version: null, os_name: null, device_type: null });
    // Beams' web SDK registering from a browser: its User-Agent too.
    const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0';
    const instanceId = (await call(p.server.apiUrl, 'GET', `/projects/${s.projectId}`, { token: p.server.adminToken })).body.beams_instance_id;
    const fx = p.push.subscription('br-beams-firefox');
    const beamsToken = Buffer.from(JSON.stringify({ endpoint: fx.endpoint, keys: { p256dh: fx.p256dh, auth: fx.auth } })).toString('base64');
    const beamsDevice = await fetch(`${p.server.url}/device_api/v1/instances/${instanceId}/devices/web`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': FIREFOX_MAC },
      body: JSON.stringify({ token: beamsToken, metadata: { sdkVersion: '2.1.0' } }),
    });
    expect(beamsDevice.status).toBe(200);
    const fxClient = (await cs(s, 'GET', '/clients')).body.clients.find((c: any) => c.device_info.browser_name === 'Firefox');
    expect(fxClient?.device_info).toEqual({ browser_name: 'Firefox', browser_version: '121', os_name: 'macOS', device_type: 'desktop' });
    // A subscription made through the server-side API has no browser's User-Agent.
    expect(await info(await subscribe(s, 'br-server'))).toEqual({ browser_name: null, browser_version: null, os_name: null, device_type: null });

    const byEmail = await cs(s, 'POST', '/send', { title: 't', body: 'b', target_user_emails: ['ANN@example.com'] });
    expect(byEmail.body).toMatchObject({ total_targets: 1, successful_sends: 1 });
    expect(webMessages('br-chrome')).toHaveLength(1);

    // Deregistered, then the browser subscribes again with the same endpoint: active again, a new registration as far as the browser knows.
    await cs(s, 'DELETE', `/clients/${iphone.body.id}`);
    const back = await register('br-iphone', SAFARI_IPHONE);
    expect(back).toMatchObject({ status: 201, body: { id: iphone.body.id } });
    expect((await cs(s, 'GET', `/clients/${iphone.body.id}`)).body.status).toBe('active');
  });
});

describe('synchronous small sends, queued large ones', () => {
  it('30 recipients of whom 8 are gone at the push service: exact counts, and the gone ones named', async () => {
    const s = await newService('thirty');
    const ids: number[] = [];
    const gone: number[] = [];
    for (let i = 0; i < 30; i += 1) {
      const pushId = `thirty-${i}`;
      const id = await subscribe(s, pushId, { uid: `user-${i}` });
      ids.push(id);
      if (i % 4 === 1) {
        p.push.script(pushId, [{ status: 410 }], { sticky: true });
        gone.push(id);
      }
    }
    expect(gone).toHaveLength(8);
    const res = await cs(s, 'POST', '/send', { title: 'Thirty', body: 'b', target_user_ids: ids.map((_, i) => `user-${i}`) });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ total_targets: 30, successful_sends: 22, failed_sends: 8, status: 'completed' });
    expect(res.body.invalid_registrations).toEqual(gone.map(String));
    // The same later, by request id.
    const later = await cs(s, 'GET', `/requests/${res.body.request_id}`);
    expect(later.body).toEqual(res.body);
    // The gone ones stay listed as expired, no longer subscribed, and are never targeted nor counted again.
    expect((await cs(s, 'GET', '/clients')).body.total).toBe(30);
    expect((await cs(s, 'GET', '/clients?status=active')).body.total).toBe(22);
    const expired = await cs(s, 'GET', '/clients?status=expired');
    expect(expired.body.clients.map((c: any) => [c.registration_id, c.status, c.is_subscribed, c.is_active])).toEqual(gone.map((id) => [String(id), 'expired', false, false]));
    expect((await cs(s, 'GET', `/clients/${gone[0]}`)).body).toMatchObject({ status: 'expired', is_subscribed: false });
    expect((await cs(s, 'GET', '/service')).body).toMatchObject({ active_registrations: 22, push_subscribers: 22 });
    const admin = (path: string) => call(p.server.apiUrl, 'GET', path, { token: p.server.adminToken });
    expect((await admin(`/projects/${s.projectId}/audience`)).body).toEqual({ count: 22, exact: true });
    expect((await admin(`/projects/${s.projectId}/subscriptions?per_page=100`)).body).toHaveLength(22);
    expect((await admin(`/projects/${s.projectId}/subscriptions/${gone[0]}`)).status).toBe(404);
    const again = await cs(s, 'POST', '/broadcast', { title: 'Again', body: 'b' });
    expect(again.body).toMatchObject({ total_targets: 22, successful_sends: 22, invalid_registrations: [] });
    expect(p.push.receivedFor('thirty-1')).toHaveLength(1);
  });

  it('more than 100 recipients, or async_mode: queued at once; GET /requests/{id} gives the counts later', async () => {
    const s = await newService('large');
    await seedSubscribers(p.server.db, p.push, s.projectId, 101, { idPrefix: 'large-' });
    const res = await cs(s, 'POST', '/broadcast', { title: 'Large', body: 'b' });
    expect(res.body).toEqual({
      request_id: expect.stringMatching(REQUEST_ID),
      total_targets: 101,
      successful_sends: 0,
      failed_sends: 0,
      invalid_registrations: [],
      message: 'Notifications queued for processing',
      status: 'queued',
      notification_id: expect.any(Number),
    });
    const done = await until(async () => {
      const r = await cs(s, 'GET', `/requests/${res.body.request_id}`);
      return r.body.status === 'completed' && r.body;
    });
    expect(done).toMatchObject({ total_targets: 101, successful_sends: 101, failed_sends: 0, invalid_registrations: [], message: 'Notifications sent successfully' });

    const small = await newService('async');
    await subscribe(small, 'async-1');
    const queued = await cs(small, 'POST', '/send', { title: 't', body: 'b', target_all: true, async_mode: true });
    expect(queued.body).toMatchObject({ status: 'queued', total_targets: 1, successful_sends: 0 });
    const later = await until(async () => {
      const r = await cs(small, 'GET', `/requests/${queued.body.request_id}`);
      return r.body.status === 'completed' && r.body;
    });
    expect(later).toMatchObject({ total_targets: 1, successful_sends: 1, failed_sends: 0 });
  });
});

describe("Pushpad's create with ?wait= (synchronous small sends in Pushcast's own API)", () => {
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    fetch(`${p.server.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${p.server.adminToken}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }).then(async (res) => ({ status: res.status, headers: res.headers, body: (await res.json()) as any }));

  it('answers when every recipient has an outcome, each with subscription_id, uid, platform, outcome, provider_status, reason', async () => {
    const s = await newService('wait');
    const ids: number[] = [];
    for (let i = 0; i < 5; i += 1) ids.push(await subscribe(s, `wait-${i}`, { uid: i < 4 ? 'alice' : 'bob' }));
    p.push.script('wait-1', [{ status: 410 }], { sticky: true });
    p.push.script('wait-2', [{ status: 400 }], { sticky: true });
    const res = await api('POST', `/projects/${s.projectId}/notifications?wait=10`, { body: 'Your password was reset', uids: ['alice', 'carol'] });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.any(Number),
      scheduled: 4,
      uids: ['alice'],
      completed: true,
      results: [
        { subscription_id: ids[0], uid: 'alice', platform: 'web', outcome: 'delivered', provider_status: null, reason: null },
        { subscription_id: ids[1], uid: 'alice', platform: 'web', outcome: 'pruned', provider_status: 410, reason: null },
        { subscription_id: ids[2], uid: 'alice', platform: 'web', outcome: 'failed', provider_status: 400, reason: expect.any(String) },
        { subscription_id: ids[3], uid: 'alice', platform: 'web', outcome: 'delivered', provider_status: null, reason: null },
      ],
    });
    expect(webMessages('wait-4')).toEqual([]);
    // The notification as Pushcast's API shows it agrees.
    const n = await api('GET', `/notifications/${res.body.id}`);
    expect(n.body).toMatchObject({ status: 'sent', successfully_sent_count: 2, pruned_count: 1, failed_count: 1 });

    // A repeat with the same idempotency key answers the same (and says it is a replay).
    const key = { 'idempotency-key': 'wait-once' };
    const first = await api('POST', `/projects/${s.projectId}/notifications?wait=5`, { body: 'b', uids: ['bob'] }, key);
    const again = await api('POST', `/projects/${s.projectId}/notifications?wait=5`, { body: 'b', uids: ['bob'] }, key);
    expect(first.body).toMatchObject({ completed: true, results: [{ subscription_id: ids[4], outcome: 'delivered' }] });
    expect(again.body).toEqual(first.body);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('refuses a wait for more than 100 recipients or for a scheduled notification (422 wait_audience), and a wait out of 1-10', async () => {
    const s = await newService('wait-large');
    await seedSubscribers(p.server.db, p.push, s.projectId, 101, { idPrefix: 'wl-' });
    const large = await api('POST', `/projects/${s.projectId}/notifications?wait=5`, { body: 'b' });
    expect(large).toMatchObject({ status: 422, body: { field: 'wait', rule: 'wait_audience', audience: 101, limit: 100 } });
    const scheduled = await api('POST', `/projects/${s.projectId}/notifications?wait=5`, { body: 'b', send_at: new Date(Date.now() + 3_600_000).toISOString() });
    expect(scheduled).toMatchObject({ status: 422, body: { field: 'wait', rule: 'wait_audience' } });
    // Nothing was created by either.
    expect((await api('GET', `/projects/${s.projectId}/notifications`)).body).toEqual([]);
    for (const wait of ['0', '11', 'x', '1.5']) {
      expect((await api('POST', `/projects/${s.projectId}/notifications?wait=${wait}`, { body: 'b' })).body).toMatchObject({ field: 'wait' });
    }
  });
});

/** Polls until `check` holds (the test's own timeout bounds it). */
async function until<T>(check: () => Promise<T | undefined | false>): Promise<T> {
  for (;;) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
}
