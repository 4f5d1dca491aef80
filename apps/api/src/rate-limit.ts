import { readFileSync } from 'node:fs';
import rateLimit, { type FastifyRateLimitStore, type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { PushcastError, type Principal } from '@pushcast/domain';
import type { createRedis } from '@pushcast/redis-state';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/**
 * The API rate limit per access token: @fastify/rate-limit (its hooks, `X-RateLimit-*` and
 * `Retry-After` headers, 429) over a store of our own, because its Redis store fails open without
 * a word (`skipOnError`) and a Redis that hangs would hang every request. Ours counts with one Lua
 * script (INCR + PEXPIRE, atomic for every API process sharing Redis) under the queue prefix with a
 * hash tag per token, gives Redis 500 ms, and logs a warning when it lets a request through unchecked.
 */
type Redis = ReturnType<typeof createRedis>;

export const RATE_LIMIT_WINDOW_MS = 60_000;
/** A Redis that has not answered by then counts as unreachable: the request goes through. */
export const RATE_LIMIT_REDIS_TIMEOUT_MS = 500;
/** At most one "rate limit not checked" warning per process this often (Redis down means every request). */
const WARN_EVERY_MS = 10_000;

const COUNT_REQUEST = readFileSync(new URL('./lua/count-request-1.lua', import.meta.url), 'utf8');

/** Who a request counts against: the token's id; the env admin token has none, so it has a name. */
export function rateLimitIdentity(principal: Principal): string {
  return principal.tokenId === null ? 'env-admin' : `t${principal.tokenId}`;
}

/** One counter per token; the hash tag keeps it whole in one Redis Cluster slot. */
export const rateLimitKey = (prefix: string, identity: string): string => `${prefix}:rate-limit:{${identity}}`;

export interface RateLimitOptions {
  /** Requests per token per minute; 0 = no limit (nothing registered, no headers). */
  readonly perMinute: number;
  readonly redis: Redis;
  readonly prefix: string;
  readonly logger: Logger;
}

/** What a fixed-window limit counts: a key per request (null = not counted), and whom a 429 speaks of. */
export interface WindowLimit {
  readonly key: (request: FastifyRequest) => string | null;
  /** e.g. "this token": the 429 says "<who> may make N per minute". */
  readonly who: string;
  /** Another window than the minute (Beams' APIs count per second), with as many requests as `opts.perMinute` says. */
  readonly window?: { readonly ms: number; readonly name: string };
}

/**
 * A fixed-window limit on an instance, as an `onRequest` hook (after the instance's own
 * `onRequest` hooks, e.g. authentication), counted in Redis by every API replica.
 */
export async function registerWindowLimit(api: FastifyInstance, opts: RateLimitOptions, limit: WindowLimit): Promise<void> {
  if (opts.perMinute === 0) return;
  await api.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: opts.perMinute,
    timeWindow: limit.window?.ms ?? RATE_LIMIT_WINDOW_MS,
    store: redisWindowStore(opts),
    skipOnError: true,
    allowList: (request) => limit.key(request) === null,
    keyGenerator: (request) => limit.key(request) ?? '',
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new PushcastError('rate_limited', `too many requests: ${limit.who} may make ${context.max} per ${limit.window?.name ?? 'minute'}; retry in ${retryAfter} s`, {
        rule: 'rate_limit',
        limit: context.max,
        retry_after: retryAfter,
      });
    },
  });
}

/**
 * The limit per access token, on an instance whose `onRequest` hook has already authenticated.
 * Requests without a principal are not counted (a route that does not authenticate is not limited here).
 */
export async function registerRateLimit(api: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  await registerWindowLimit(api, opts, {
    key: (request) => (request.principal ? rateLimitIdentity(request.principal) : null),
    who: 'this token',
  });
}

type CountRequest = (key: string, windowMs: number) => Promise<[number, number]>;

export function redisWindowStore({ redis, prefix, logger }: RateLimitOptions): FastifyRateLimitStoreCtor {
  redis.defineCommand('pushcastCountRequest', { numberOfKeys: 1, lua: COUNT_REQUEST });
  const run = (redis as unknown as Record<string, CountRequest>).pushcastCountRequest!.bind(redis);
  let lastWarning = 0;
  let unchecked = 0;
  const failOpen = (err: unknown) => {
    unchecked += 1;
    const now = Date.now();
    if (now - lastWarning < WARN_EVERY_MS) return;
    logger.warn({ err, unchecked }, 'rate limit not checked (Redis unreachable): requests go through unlimited');
    lastWarning = now;
    unchecked = 0;
  };

  return class RedisWindowStore implements FastifyRateLimitStore {
    incr(identity: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${RATE_LIMIT_REDIS_TIMEOUT_MS} ms`)), RATE_LIMIT_REDIS_TIMEOUT_MS);
      });
      Promise.race([run(rateLimitKey(prefix, identity), timeWindow), timeout])
        .then(
          ([current, ttl]) => callback(null, { current: Number(current), ttl: Number(ttl) }),
          (err: unknown) => {
            failOpen(err);
            callback(err instanceof Error ? err : new Error(String(err)));
          },
        )
        .finally(() => clearTimeout(timer));
    }

    // Only route-level limits (none here) ask for a child store.
    child(): FastifyRateLimitStore {
      return this;
    }
  };
}
