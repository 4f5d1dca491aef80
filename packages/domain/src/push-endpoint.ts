import { isIP } from 'node:net';
import { err, ok, type Result } from './result.ts';

/**
 * Hosts of the public push services browsers subscribe with. An endpoint is a URL a stranger gave
 * us, and workers POST to it: anything else must be allowed explicitly by the operator.
 */
export const PUBLIC_PUSH_HOSTS: readonly string[] = [
  'fcm.googleapis.com',
  'android.googleapis.com',
  'updates.push.services.mozilla.com',
  '*.push.services.mozilla.com',
  '*.notify.windows.com',
  'web.push.apple.com',
  '*.push.apple.com',
];

export const MAX_ENDPOINT_BYTES = 2048;

export interface EndpointRuleBroken {
  readonly rule: 'url' | 'max_length' | 'https_required' | 'private_host' | 'host_not_allowed';
  readonly message: string;
}

/** `host` or `host:port`, a leading `*.` matching any subdomain; no port = any port. */
export function hostMatches(entry: string, hostname: string, port: string): boolean {
  const lower = entry.toLowerCase();
  const bracketed = lower.match(/^(\[[^\]]+\])(?::(\d+))?$/);
  const [host, entryPort] = bracketed ? [bracketed[1]!, bracketed[2]] : splitHostPort(lower);
  if (entryPort !== undefined && entryPort !== port) return false;
  if (host.startsWith('*.')) return hostname.endsWith(host.slice(1)) && hostname.length > host.length - 1;
  return host === hostname;
}

function splitHostPort(entry: string): [string, string | undefined] {
  const i = entry.lastIndexOf(':');
  return i === -1 ? [entry, undefined] : [entry.slice(0, i), entry.slice(i + 1)];
}

/**
 * Is this IP literal loopback, private, link-local, unspecified, CGNAT, multicast or otherwise not
 * a public unicast address? (Cloud metadata at 169.254.169.254 is link-local.)
 */
export function isNonPublicAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, '');
  const family = isIP(ip);
  if (family === 4) return isNonPublicV4(ip);
  if (family === 6) {
    const lower = ip.toLowerCase();
    const mapped = lower.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/);
    if (mapped) return isNonPublicV4(mapped[1]!);
    if (lower.startsWith('::ffff:')) return true; // hex-written mapped v4: refuse rather than decode
    return (
      lower === '::' ||
      lower === '::1' ||
      /^f[cd]/.test(lower) || // unique local fc00::/7
      /^fe[89ab]/.test(lower) || // link-local fe80::/10
      /^ff/.test(lower) || // multicast
      lower.startsWith('64:ff9b:') || // NAT64 can reach private v4
      lower.startsWith('2001:db8:')
    );
  }
  return false;
}

function isNonPublicV4(ip: string): boolean {
  const [a, b] = ip.split('.').map(Number) as [number, number, number, number];
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) ||
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 192 && b === 0) ||
    (a === 198 && (b === 18 || b === 19)) ||
    a >= 224
  );
}

/**
 * The rule for a Web Push endpoint: https on a public push service, or any scheme-appropriate URL
 * on a host the operator allowed (plain http only there).
 */
export function checkPushEndpoint(raw: string, allowedHosts: readonly string[]): Result<URL, EndpointRuleBroken> {
  if (Buffer.byteLength(raw) > MAX_ENDPOINT_BYTES) {
    return err({ rule: 'max_length', message: `must be at most ${MAX_ENDPOINT_BYTES} bytes` });
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return err({ rule: 'url', message: 'must be an absolute URL' });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    return err({ rule: 'url', message: 'must be an https URL' });
  }
  if (url.username || url.password) return err({ rule: 'url', message: 'must not carry credentials' });
  const hostname = url.hostname.toLowerCase();
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  if (allowedHosts.some((entry) => hostMatches(entry, hostname, port))) return ok(url);
  if (url.protocol !== 'https:') {
    return err({ rule: 'https_required', message: 'must use https (plain http only for allowed push hosts)' });
  }
  if (isNonPublicAddress(hostname) || hostname === 'localhost' || hostname.endsWith('.localhost')) {
    return err({ rule: 'private_host', message: `host ${hostname} is loopback, link-local or private` });
  }
  // The public push services listen on 443: a stranger's endpoint on another port of their host is
  // refused (operators list other ports in PUSHCAST_ALLOWED_PUSH_HOSTS).
  if (port !== '443' || !PUBLIC_PUSH_HOSTS.some((entry) => hostMatches(entry, hostname, port))) {
    return err({
      rule: 'host_not_allowed',
      message: `host ${hostname} is not a known push service nor listed in PUSHCAST_ALLOWED_PUSH_HOSTS`,
    });
  }
  return ok(url);
}
