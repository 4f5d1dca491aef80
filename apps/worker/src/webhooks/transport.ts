import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { rootCertificates } from 'node:tls';
import { isAllowedWebhookHost, isNonPublicAddress, WEBHOOK_TIMEOUT_MS } from '@pushcast/domain';

/** What a webhook request got: an HTTP status, or an error when there was no answer. */
export interface PostResult {
  readonly status: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/** Per request: its own deadline (Beams' 3 s), and the User-Agent its format sends. */
export interface PostOptions {
  readonly timeoutMs?: number;
  readonly userAgent?: string;
}

export type WebhookPoster = (url: string, headers: Record<string, string>, body: string, options?: PostOptions) => Promise<PostResult>;

export interface WebhookTransportOptions {
  /** PUSHCAST_ALLOWED_PUSH_HOSTS: hosts that may be private addresses. */
  readonly allowedHosts: readonly string[];
  readonly timeoutMs?: number;
  /** An extra CA to trust besides the public roots (tests' local receiver). */
  readonly ca?: string;
}

const MAX_ERROR_LENGTH = 300;
/** An answer's body is read (to reuse the connection) up to this much, then the connection is dropped. */
const MAX_BODY_BYTES = 64 * 1024;

/**
 * DNS answers are checked when connecting, not only when the URL was given: a name may resolve to
 * a private address later (or only for Pushcast). Any loopback, private, link-local, CGNAT or
 * multicast address among the answers refuses the connection.
 */
const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    const cb = callback as (err: NodeJS.ErrnoException | null, address?: string | LookupAddress[], family?: number) => void;
    if (error) return cb(error);
    const refused = addresses.find((a) => isNonPublicAddress(a.address));
    if (refused) {
      const e: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${refused.address}, a loopback, private or link-local address`);
      e.code = 'ENOTPUBLIC';
      return cb(e);
    }
    if (options.all) return cb(null, addresses);
    return cb(null, addresses[0]!.address, addresses[0]!.family);
  });
};

/**
 * POSTs webhooks: no redirects followed, a deadline over the whole request (connection included),
 * keep-alive connections, and the guarded lookup for every host the operator did not allow.
 */
export function createWebhookTransport(options: WebhookTransportOptions): { post: WebhookPoster; close(): void } {
  const timeoutMs = options.timeoutMs ?? WEBHOOK_TIMEOUT_MS;
  const httpsAgent = new https.Agent({ keepAlive: true, ...(options.ca ? { ca: [...rootCertificates, options.ca] } : {}) });
  const httpAgent = new http.Agent({ keepAlive: true });

  const post: WebhookPoster = (raw, headers, body, perRequest = {}) =>
    new Promise((resolve) => {
      const deadlineMs = perRequest.timeoutMs ?? timeoutMs;
      const started = performance.now();
      const finish = (status: number | null, error: string | null) => {
        clearTimeout(deadline);
        resolve({ status, error: error && error.slice(0, MAX_ERROR_LENGTH), durationMs: Math.round(performance.now() - started) });
      };
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        return resolve({ status: null, error: 'invalid URL', durationMs: 0 });
      }
      const secure = url.protocol === 'https:';
      const allowed = isAllowedWebhookHost(url, options.allowedHosts);
      // An IP literal is never looked up: it is checked here (the API checked it too, but rules may change).
      if (!allowed && (isNonPublicAddress(url.hostname) || !secure)) {
        return resolve({ status: null, error: `refused: ${url.host} is not allowed (private address or plain http)`, durationMs: 0 });
      }
      const request = (secure ? https : http).request(url, {
        method: 'POST',
        agent: secure ? httpsAgent : httpAgent,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': perRequest.userAgent ?? 'Pushcast-Webhooks' },
        ...(allowed ? {} : { lookup: guardedLookup }),
      });
      const deadline = setTimeout(() => request.destroy(new Error(`timeout: no answer within ${deadlineMs / 1000} s`)), deadlineMs);
      request.on('error', (err: NodeJS.ErrnoException) => finish(null, err.message || err.code || 'request failed'));
      request.on('response', (res) => {
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_BODY_BYTES) res.destroy();
        });
        const done = () => finish(res.statusCode ?? null, null);
        res.on('end', done);
        res.on('close', done);
        res.on('error', done);
      });
      request.end(body);
    });

  return {
    post,
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}
