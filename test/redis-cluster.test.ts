import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { apnsToken, fcmToken, giveProjectCredentials } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { seedSubscribers, startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { startRedisCluster, type LocalRedisCluster } from './support/redis-cluster.ts';

// Pushcast on a real three-master Redis Cluster: BullMQ's keys under a hash-tagged prefix (one
// slot per queue), Pushcast's own keys (ledgers, quotas, provider tokens) each with a tag of its own.

const run = promisify(execFile);
let cluster: LocalRedisCluster;
let p: Pipeline;
beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const env = { REDIS_URL: cluster.url, REDIS_CLUSTER: 'true' };
  p = await startPipeline('cluster', env);
  for (let i = 0; i < 2; i += 1) await p.startWorker({}, { ...env, WORKER_CONCURRENCY: '4' });
}, 60_000);
afterAll(async () => {
  await p?.close();
  await cluster?.stop();
});

describe('Redis Cluster', () => {
  it('a broadcast completes exactly once per recipient', { timeout: 120_000 }, async () => {
    const { projectId } = await createProject(p.server, 'cluster');
    await giveProjectCredentials(p, projectId);
    expect((await call(p.server.apiUrl, 'PATCH', `/projects/${projectId}`, { token: p.server.adminToken, body: { quota_hourly: 100_000 } })).status).toBe(200);
    const web = await seedSubscribers(p.server.db, p.push, projectId, 5_000, { idPrefix: 'rc' });
    for (const id of web.filter((_, i) => i % 50 === 1)) p.push.script(id, [{ status: 429, retryAfterSeconds: 1 }]);
    for (const id of web.filter((_, i) => i % 50 === 2)) p.push.script(id, [{ status: 410 }], { sticky: true });
    const apns = Array.from({ length: 1_000 }, (_, i) => apnsToken(`rc-${i}`));
    const fcm = Array.from({ length: 1_000 }, (_, i) => fcmToken(`rc-${i}`));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', apns.map((token) => ({ token })));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'fcm', fcm.map((token) => ({ token })));

    const res = await call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, {
      token: p.server.adminToken,
      body: { body: 'Over the cluster', throttle_rate_per_minute: 10_000_000 },
    });
    expect(res.status).toBe(201);
    const n = await waitForNotification(p.server, res.body.id);

    const gone = web.filter((_, i) => i % 50 === 2);
    const live = web.filter((_, i) => i % 50 !== 2);
    for (const id of live) expect(p.push.receivedFor(id).filter((m) => m.status === 201)).toHaveLength(1);
    for (const t of apns) expect(p.apns.receivedFor(t)).toHaveLength(1);
    for (const t of fcm) expect(p.fcm.receivedFor(t)).toHaveLength(1);
    expect(n).toMatchObject({
      status: 'sent',
      successfully_sent_count: live.length + apns.length + fcm.length,
      pruned_count: gone.length,
      failed_count: 0,
    });

    // The keys really are spread over the masters (each holds some), and BullMQ's under one tag.
    const perNode = await Promise.all(cluster.ports.map(async (port) => Number((await run('redis-cli', ['-p', String(port), 'dbsize'])).stdout)));
    expect(perNode.filter((k) => k > 0).length).toBeGreaterThanOrEqual(2);
    const quota = await call(p.server.apiUrl, 'GET', `/projects/${projectId}/quota`, { token: p.server.adminToken });
    expect(quota.body.hourly_used).toBe(live.length + apns.length + fcm.length);
  });
});
