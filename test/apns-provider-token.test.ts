import { Redis } from 'ioredis';
import { signApnsProviderToken } from '@pushcast/local-apns-service';
import { insertDeviceSubscriptionsBulk } from '@pushcast/store';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apnsToken, giveProjectCredentials } from './support/devices.ts';
import { createProject } from './support/fixtures.ts';
import { call } from './support/http.ts';
import { startPipeline, waitForNotification, type Pipeline } from './support/pipeline.ts';
import { TEST_REDIS_URL } from './support/server.ts';

// Apple refuses a key whose provider token changes more often than every 20 minutes
// (429 TooManyProviderTokenUpdates): every worker must use the same token.

let p: Pipeline;
let redis: Redis;
beforeAll(async () => {
  p = await startPipeline('apns-token');
  // Three worker processes' worth of workers, each with its own token cache.
  for (let i = 0; i < 3; i += 1) await p.startWorker({}, { WORKER_CONCURRENCY: '1' });
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await p?.close();
});

const create = (projectId: number, body: Record<string, unknown>) =>
  call(p.server.apiUrl, 'POST', `/projects/${projectId}/notifications`, { token: p.server.adminToken, body });

describe('APNs provider tokens', () => {
  it('several workers sending for one key use one provider token', async () => {
    const { projectId } = await createProject(p.server, 'shared-token');
    const creds = await giveProjectCredentials(p, projectId);
    const tokens = Array.from({ length: 6_000 }, (_, i) => apnsToken(`shared-${i}`));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', tokens.map((token) => ({ token })));
    const res = await create(projectId, { body: 'One token for all' });
    const n = await waitForNotification(p.server, res.body.id);
    expect(n.platforms.apns.successfully_sent_count).toBe(6_000);
    // Six chunks (a broadcast too small for chunks of 4,000 is spread over chunks of 1,000),
    // handled by three workers (one chunk at a time each): one token minted for the key, used by all.
    const chunks = await p.server.db.query<{ n: number }>('SELECT count(*)::int AS n FROM notification_chunks WHERE notification_id = $1', [res.body.id]);
    expect(chunks.rows[0]!.n).toBe(6);
    expect(p.apns.counters().tokensMintedByKey[creds.apnsKey.keyId]).toBe(1);
    expect(p.apns.counters().byStatus[403] ?? 0).toBe(0);
  });

  it('a token APNs calls expired is replaced once, and its pushes are retried, not lost', async () => {
    const { projectId } = await createProject(p.server, 'expired-token');
    const creds = await giveProjectCredentials(p, projectId);
    // A token older than Apple's hour, but recorded as fresh: as if a clock had been wrong.
    const stale = signApnsProviderToken(creds.apnsKey, Math.floor(Date.now() / 1000) - 7200);
    // Tokens are shared per Apple key (team id and key id), as Apple counts their updates.
    const key = `${p.server.queuePrefix}:apns-token:{k${creds.apnsKey.teamId}.${creds.apnsKey.keyId}}`;
    await redis.hset(key, 'token', stale, 'iat', Math.floor(Date.now() / 1000), 'minting', 0);

    const tokens = Array.from({ length: 50 }, (_, i) => apnsToken(`expired-${i}`));
    await insertDeviceSubscriptionsBulk(p.server.db, projectId, 'apns', tokens.map((token) => ({ token })));
    const before = p.apns.counters().byReason.ExpiredProviderToken ?? 0;
    const res = await create(projectId, { body: 'After the refresh' });
    const n = await waitForNotification(p.server, res.body.id);

    expect(n.platforms.apns).toMatchObject({ successfully_sent_count: 50, failed_count: 0 });
    expect(n.failed_count).toBe(0);
    expect((p.apns.counters().byReason.ExpiredProviderToken ?? 0) - before).toBe(50);
    for (const t of tokens) expect(p.apns.receivedFor(t).map((r) => r.status)).toEqual([403, 200]);
    // The stale token was replaced by exactly one new one.
    const fresh = new Set(tokens.map((t) => p.apns.receivedFor(t)[1]!.jwt.iat));
    expect(fresh.size).toBe(1);
    expect(await redis.hget(key, 'token')).not.toBe(stale);
  });
});
