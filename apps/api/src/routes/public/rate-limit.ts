import rateLimit from '@fastify/rate-limit';
import { PushcastError } from '@pushcast/domain';
import type { FastifyInstance } from 'fastify';
import { RATE_LIMIT_WINDOW_MS, redisWindowStore, type RateLimitOptions } from '../../rate-limit.ts';

/**
 * The browser endpoints have no token to count against: they are limited per client address
 * (`request.ip`: behind a proxy, set PUSHCAST_TRUST_PROXY so that it is the browser's, not the
 * proxy's), with the token limiter's store: one Lua script in Redis for every API replica, a fixed
 * minute, failing open with a warning when Redis does not answer. Preflights are not counted.
 */
export async function registerBrowserRateLimit(api: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  if (opts.perMinute === 0) return;
  await api.register(rateLimit, {
    global: true,
    hook: 'onRequest',
    max: opts.perMinute,
    timeWindow: RATE_LIMIT_WINDOW_MS,
    store: redisWindowStore(opts),
    skipOnError: true,
    allowList: (request) => request.method === 'OPTIONS',
    keyGenerator: (request) => `ip:${request.ip}`,
    errorResponseBuilder: (_request, context) => {
      const retryAfter = Math.max(1, Math.ceil(context.ttl / 1000));
      return new PushcastError('rate_limited', `too many requests: this address may make ${context.max} per minute to the browser endpoints; retry in ${retryAfter} s`, {
        rule: 'rate_limit',
        limit: context.max,
        retry_after: retryAfter,
      });
    },
  });
}
