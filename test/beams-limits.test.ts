import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fcmToken } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call, type ApiResponse } from './support/http.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Beams' limits at their edges (issue 15), over HTTP: what is just within is taken, what is just
// over is refused with Beams' status, title and description (pusher/docs, reference/api/*.md), and
// every refusal is exactly {error, description}.

let server: TestServer;
let instanceId: string;
let secretKey: string;
beforeAll(async () => {
  server = await startTestServer('beamslimits');
  const { projectId } = await createProject(server, 'limits');
  instanceId = (await call(server.apiUrl, 'GET', `/projects/${projectId}`, { token: server.adminToken })).body.beams_instance_id;
  secretKey = (await call(server.apiUrl, 'POST', `/projects/${projectId}/secret_keys`, { token: server.adminToken })).body.secret_key;
});
afterAll(async () => server?.close());

const web = { notification: { title: 'Hi', body: 'Limits' } };
const publish = (audience: 'interests' | 'users', body: unknown) =>
  call(server.url, 'POST', `/publish_api/v1/instances/${instanceId}/publishes/${audience}`, { authorization: `Bearer ${secretKey}`, body });
const deviceApi = (method: string, path: string, opts: Parameters<typeof call>[3] = {}, instance = instanceId) =>
  call(server.url, method, `/device_api/v1/instances/${instance}${path}`, opts);
const report = (body: unknown, instance = instanceId) => call(server.url, 'POST', `/reporting_api/v2/instances/${instance}/events`, { body });

/** A refusal exactly as Beams shapes it. */
function expectRefusal(res: ApiResponse, status: number, error: string, description?: string): void {
  expect(res.status).toBe(status);
  expect(Object.keys(res.body).sort()).toEqual(['description', 'error']);
  expect(res.body.error).toBe(error);
  if (description !== undefined) expect(res.body.description).toBe(description);
}

describe('Publish API', () => {
  it('100 interests and names of 164 characters are taken; 101, or 165 characters, are 422', async () => {
    const hundred = Array.from({ length: 100 }, (_, n) => `interest-${n}`);
    expect((await publish('interests', { interests: hundred, web })).status).toBe(200);
    expectRefusal(await publish('interests', { interests: [...hundred, 'one-more'], web }), 422, 'Unprocessable Entity');
    expect((await publish('interests', { interests: ['i'.repeat(164)], web })).status).toBe(200);
    expectRefusal(await publish('interests', { interests: ['i'.repeat(165)], web }), 422, 'Unprocessable Entity');
    expectRefusal(await publish('interests', { interests: [], web }), 422, 'Unprocessable Entity');
  });

  it('1,000 users of 164 bytes are taken (within 200 KiB); 1,001, or 165 bytes, are 422; over 200 KiB is 400', async () => {
    const users = Array.from({ length: 1000 }, (_, n) => `${String(n).padStart(4, '0')}${'u'.repeat(160)}`);
    expect((await publish('users', { users, web })).status).toBe(200);
    expectRefusal(await publish('users', { users: [...users.slice(0, 999), 'x', 'y'], web }), 422, 'Unprocessable Entity');
    expectRefusal(await publish('users', { users: ['u'.repeat(165)], web }), 422, 'Unprocessable Entity');
    expectRefusal(await publish('users', { users: [], web }), 422, 'Unprocessable Entity');
    const big = { users: ['u'], web, padding: 'p'.repeat(201 * 1024) };
    expectRefusal(await publish('users', big), 400, 'Bad request', 'Request body size is too large (max 200KiB)');
    expectRefusal(await publish('interests', { ...big, users: undefined, interests: ['a'] }), 400, 'Bad request', 'Request body size is too large (max 10KiB)');
  });

  it('an instance id that is not a UUID is an instance not found', async () => {
    const res = await call(server.url, 'POST', '/publish_api/v1/instances/not-a-uuid/publishes/interests', {
      authorization: `Bearer ${secretKey}`,
      body: { interests: ['a'], web },
    });
    expectRefusal(res, 404, 'Instance not found', 'Could not find the instance');
  });
});

describe('Device API', () => {
  const register = async (label: string) => (await deviceApi('POST', '/devices/fcm', { body: { token: fcmToken(label), knownPreviousClientIds: [] } })).body.id as string;

  it('5,000 interests of 164 characters per device are taken; one more, set or added, is 400 Interest set too large', async () => {
    const id = await register('limits-interests');
    const names = Array.from({ length: 5000 }, (_, n) => `${String(n).padStart(4, '0')}${'n'.repeat(160)}`);
    expect((await deviceApi('PUT', `/devices/fcm/${id}/interests`, { body: { interests: names } })).status).toBe(200);
    const description = 'Too many interests are being set for this device. Only 5000 interests per device are allowed';
    expectRefusal(await deviceApi('POST', `/devices/fcm/${id}/interests/one-more`), 400, 'Interest set too large', description);
    expectRefusal(await deviceApi('PUT', `/devices/fcm/${id}/interests`, { body: { interests: [...names, 'one-more'] } }), 400, 'Interest set too large', description);
    // The set is as it was: the last page ends with the 5,000th name.
    const last = await deviceApi('GET', `/devices/fcm/${id}/interests?limit=1&cursor=${Buffer.from(names[4998]!).toString('base64url')}`);
    expect(last.body).toEqual({ interests: [names[4999]], responseMetadata: {} });
    // Adding one it has already is not one more.
    expect((await deviceApi('POST', `/devices/fcm/${id}/interests/${names[0]}`)).status).toBe(200);
  });

  it('bodies over 10 KiB are 400 in Beams wording', async () => {
    const id = await register('limits-bodies');
    const huge = 'm'.repeat(11 * 1024);
    const tooLarge = 'Request body size is too large (max 10KiB)';
    expectRefusal(await deviceApi('POST', '/devices/fcm', { body: { token: fcmToken('limits-big'), metadata: { sdkVersion: huge } } }), 400, 'Bad request', tooLarge);
    expectRefusal(await deviceApi('PUT', `/devices/fcm/${id}/metadata`, { body: { sdkVersion: huge } }), 400, 'Bad request', tooLarge);
    expectRefusal(await deviceApi('PUT', `/devices/fcm/${id}/token`, { body: { token: huge } }), 400, 'Bad request', tooLarge);
    expect((await deviceApi('PUT', `/devices/fcm/${id}/metadata`, { body: { sdkVersion: 'm'.repeat(9 * 1024) } })).status).toBe(200);
    expectRefusal(
      await deviceApi('PUT', `/devices/fcm/${id}/interests`, { body: { interests: ['a'], padding: 'p'.repeat(1024 * 1024) } }),
      400,
      'Bad request',
      'Request body size is too large (max 1024KiB)',
    );
  });

  it('an instance id that is not a UUID is 400; an unknown one 404', async () => {
    expectRefusal(await deviceApi('GET', '/web-vapid-public-key', {}, 'not-a-uuid'), 400, 'Bad Request', '`instance-id` given is not valid');
    expectRefusal(await deviceApi('POST', '/devices/fcm', { body: { token: fcmToken('x') } }, 'not-a-uuid'), 400, 'Bad Request');
    expectRefusal(await deviceApi('GET', '/web-vapid-public-key', {}, '7b5c1b1e-0000-4000-8000-000000000000'), 404, 'Instance not found');
  });
});

describe('Reporting API', () => {
  const event = { event: 'open', publishId: 'pubid-00000000-0000-4000-8000-000000000000', deviceId: 'd', timestampSecs: 1_700_000_000 };

  it.each(['event', 'publishId', 'deviceId', 'timestampSecs'])('a report without %s is 400, naming it as Beams does', async (field) => {
    const { [field as keyof typeof event]: _, ...rest } = event;
    expectRefusal(await report(rest), 400, 'Bad request', `\`${field}\` is missing from body`);
  });

  it('a wrong value is 400 too (the Reporting API has no 422), bodies over 10 KiB are 400, a malformed instance id 400', async () => {
    expectRefusal(await report({ ...event, event: 'seen' }), 400, 'Bad request');
    expectRefusal(await report({ ...event, timestampSecs: 'yesterday' }), 400, 'Bad request');
    expectRefusal(await report({ ...event, padding: 'p'.repeat(11 * 1024) }), 400, 'Bad request', 'Request body size is too large (max 10KiB)');
    expectRefusal(
      await report(event, 'not-a-uuid'),
      400,
      'Bad request',
      'The instance id given is invalid. It is expected to be in this format: 426abfc7-41fe-492f-bcf1-27586fa9bd3f',
    );
    // Well formed, of a publish this instance never made.
    expectRefusal(await report(event), 404, 'Not Found');
  });
});
