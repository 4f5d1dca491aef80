import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { APNS_TOKEN_REUSE_S, mintApnsProviderToken, type ApnsProviderTokens, type ApnsSigningKey } from '@pushcast/providers';
import type { RedisConnection } from './connection.ts';

const TAKE = readFileSync(new URL('./lua/take-apns-token-1.lua', import.meta.url), 'utf8');
const PUT = readFileSync(new URL('./lua/put-apns-token-1.lua', import.meta.url), 'utf8');

/** How long a minter may hold the claim before another process may mint instead. */
const CLAIM_MS = 5_000;
/** A token a process read from Redis is used without asking again for this long. */
const LOCAL_REUSE_S = 60;

type Scripts = {
  pushcastTakeApnsToken(key: string, nowS: number, reuseS: number, claimMs: number, nowMs: number): Promise<[token: string, iatOrMayMint: number]>;
  pushcastPutApnsToken(key: string, op: 'put' | 'reject', token: string, iat?: number, expireS?: number): Promise<number>;
};

/**
 * APNs provider tokens shared by every worker through Redis: one token per key, minted by one
 * process when the current one is 50 minutes old (Apple: refresh after 20 and before 60), reused by
 * all the others. Each process also keeps the token a minute, so Redis sees one read per key per
 * minute per process, not one per send.
 */
export class RedisApnsTokenStore implements ApnsProviderTokens {
  readonly #local = new Map<string, { token: string; readAt: number; iat: number }>();
  readonly #scripts: Scripts;

  constructor(
    redis: RedisConnection,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {
    redis.defineCommand('pushcastTakeApnsToken', { numberOfKeys: 1, lua: TAKE });
    redis.defineCommand('pushcastPutApnsToken', { numberOfKeys: 1, lua: PUT });
    this.#scripts = redis as unknown as Scripts;
  }

  // Keys of one credential share a hash tag: a single slot on Redis Cluster.
  #key(key: ApnsSigningKey): string {
    return `${this.prefix}:apns-token:{k${key.id}}`;
  }

  async current(key: ApnsSigningKey): Promise<string> {
    const nowS = Math.floor(this.now() / 1000);
    const held = this.#local.get(key.id);
    if (held && nowS - held.readAt < LOCAL_REUSE_S && nowS - held.iat < APNS_TOKEN_REUSE_S) return held.token;
    for (let attempt = 0; ; attempt += 1) {
      const now = this.now();
      const s = Math.floor(now / 1000);
      const [token, second] = await this.#scripts.pushcastTakeApnsToken(this.#key(key), s, APNS_TOKEN_REUSE_S, CLAIM_MS, now);
      if (token) {
        this.#local.set(key.id, { token, readAt: s, iat: second });
        return token;
      }
      if (second === 1) {
        const minted = mintApnsProviderToken(key, s);
        await this.#scripts.pushcastPutApnsToken(this.#key(key), 'put', minted, s, 3600);
        this.#local.set(key.id, { token: minted, readAt: s, iat: s });
        return minted;
      }
      // Another process is minting: its token appears within milliseconds.
      await sleep(Math.min(200, 10 * 2 ** Math.min(attempt, 4)));
    }
  }

  async rejected(key: ApnsSigningKey, token: string): Promise<void> {
    if (this.#local.get(key.id)?.token === token) this.#local.delete(key.id);
    await this.#scripts.pushcastPutApnsToken(this.#key(key), 'reject', token);
  }
}
