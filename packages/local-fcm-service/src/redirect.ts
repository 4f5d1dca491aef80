/**
 * How to point the real firebase-admin (13.x) at a local FCM server without touching node_modules.
 *
 * firebase-admin has no emulator or endpoint option for messaging: `fcm.googleapis.com` is a constant
 * in lib/messaging/messaging.js. It reaches it two ways:
 *
 * - `sendEach()` / `sendEachForMulticast()` (HTTP/2, the default): each call builds an
 *   `Http2SessionHandler`, whose constructor runs `http2.connect('https://fcm.googleapis.com',
 *   { peerMaxConcurrentStreams: 100, ALPNProtocols: ['h2'] })` on the CommonJS `http2` module object
 *   (lib/utils/api-request.js). Nothing from AppOptions reaches that call, so the only seam is the
 *   `connect` property of that shared object: {@link redirectFcmTo}.
 * - `send()`, and `sendEach()` after `enableLegacyHttpTransport()` (HTTP/1.1): `https.request` with
 *   `agent: app.options.httpAgent`. That one is an option, no patching: {@link createFcmAgent}.
 *
 * Both dial the local server's IP directly, so `fcm.googleapis.com` is never resolved, while the
 * request keeps `:authority` / `Host: fcm.googleapis.com` as in production.
 */
import http2 from 'node:http2';
import { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

export const FCM_HOST = 'fcm.googleapis.com';

type Connect = typeof http2.connect;

/** What firebase-admin's credential contract needs; nothing is fetched from Google. */
export function localFcmCredential(accessToken = 'local-fcm-token'): {
  getAccessToken(): Promise<{ access_token: string; expires_in: number }>;
} {
  return { getAccessToken: async () => ({ access_token: accessToken, expires_in: 3600 }) };
}

/**
 * Makes every `http2.connect()` to https://fcm.googleapis.com in this process open its TLS connection
 * to `origin` instead, trusting `ca` (PEM) for that connection only. Other hosts are untouched.
 * Returns an undo. Process-wide by nature (firebase-admin offers no per-app seam for HTTP/2): two
 * redirects active at once means the later one wins; undoing in any order is safe.
 */
export function redirectFcmTo(origin: string, ca: string): () => void {
  const target = parseOrigin(origin);
  // The module object firebase-admin's `require('http2')` returns; an ESM namespace would be frozen.
  const http2Module = http2 as unknown as { connect: Connect };
  const previous = http2Module.connect;
  let active = true;

  const redirected = function connect(this: unknown, authority: string | URL, ...rest: unknown[]) {
    const [options, listener] = typeof rest[0] === 'function' ? [undefined, rest[0]] : [rest[0], rest[1]];
    // A connection chosen by the caller, or by a redirect installed later (it runs first), is kept.
    const chosen = typeof (options as { createConnection?: unknown } | undefined)?.createConnection === 'function';
    if (!active || chosen || !isFcm(authority)) {
      return Reflect.apply(previous, this, [authority, ...rest]) as ReturnType<Connect>;
    }
    const createConnection = (): Duplex =>
      tlsConnect({ host: target.host, port: target.port, ca, ALPNProtocols: ['h2'] });
    return Reflect.apply(previous, this, [
      authority,
      { ...(options as object | undefined), createConnection },
      ...(listener === undefined ? [] : [listener]),
    ]) as ReturnType<Connect>;
  } as Connect;

  http2Module.connect = redirected;
  return () => {
    if (!active) return;
    active = false;
    // If another wrapper was installed on top, this one stays in the chain as a pass-through.
    if (http2Module.connect === redirected) http2Module.connect = previous;
  };
}

/**
 * An agent for `AppOptions.httpAgent`: firebase-admin's HTTP/1.1 requests to fcm.googleapis.com go to
 * `origin` (trusting `ca`). Requests to any other host fail rather than leave the machine.
 * Keep-alive by default; `destroy()` it when done.
 */
export function createFcmAgent(origin: string, ca: string, options: AgentOptions = {}): Agent {
  const target = parseOrigin(origin);
  const agent = new Agent({ keepAlive: true, ...options });
  agent.createConnection = (requestOptions, callback) => {
    if (requestOptions.host !== FCM_HOST && requestOptions.hostname !== FCM_HOST) {
      // Node's Agent accepts (err) with no stream here and fails the request; the typings insist on a stream.
      const error = new Error(`createFcmAgent only serves ${FCM_HOST}, not ${requestOptions.host ?? '?'}`);
      callback?.(error, undefined as unknown as Duplex);
      return undefined;
    }
    return tlsConnect({ host: target.host, port: target.port, ca, ALPNProtocols: ['http/1.1'] });
  };
  return agent;
}

function parseOrigin(origin: string): { host: string; port: number } {
  const url = new URL(origin);
  if (url.protocol !== 'https:') throw new Error(`origin must be https://host:port, got ${origin}`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port === '' ? 443 : Number(url.port) };
}

function isFcm(authority: string | URL): boolean {
  try {
    const url = typeof authority === 'string' ? new URL(authority) : authority;
    return url.hostname === FCM_HOST && (url.port === '' || url.port === '443');
  } catch {
    return false;
  }
}
