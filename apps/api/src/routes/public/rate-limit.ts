import type { FastifyInstance } from 'fastify';
import { registerWindowLimit, type RateLimitOptions } from '../../rate-limit.ts';

/**
 * The browser endpoints have no token to count against: they are limited per client address
 * (`request.ip`: behind a proxy, set PUSHCAST_TRUST_PROXY so that it is the browser's, not the
 * proxy's), with the token limiter's store: one Lua script in Redis for every API replica, a fixed
 * minute, failing open with a warning when Redis does not answer. Preflights are not counted.
 */
export async function registerBrowserRateLimit(api: FastifyInstance, opts: RateLimitOptions): Promise<void> {
  if (opts.perMinute === 0) return;
  // The 429 comes before any route has looked at the Origin: without CORS headers an allowed page
  // would see a network error instead of "retry in N s". The answer reveals nothing else.
  api.addHook('onSend', async (request, reply, payload) => {
    const origin = request.headers.origin;
    if (reply.statusCode === 429 && origin) void reply.header('access-control-allow-origin', origin).header('vary', 'Origin');
    return payload;
  });
  await registerWindowLimit(api, opts, {
    // Preflights are not counted: a page's every call would count twice.
    key: (request) => (request.method === 'OPTIONS' ? null : `ip:${clientKey(request.ip)}`),
    who: 'this address (browser endpoints)',
  });
}

/**
 * What one client is: an IPv4 address, or an IPv6 /64 (one subscriber line gets a whole /64, so
 * counting single IPv6 addresses would let one client rotate through millions).
 */
export function clientKey(ip: string): string {
  if (!ip.includes(':')) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  const [head = '', tail = ''] = ip.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = ip.includes('::') ? [...headGroups, ...Array(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : ip.split(':');
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
