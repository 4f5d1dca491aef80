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
 * A real service-account credential, `cert(serviceAccount, httpAgent)`, fetches its access token with
 * `POST https://oauth2.googleapis.com/token` (HTTP/1.1) through google-auth-library → gaxios →
 * node-fetch → `https.request`, which the local server answers too (oauth.ts). Which agent that request
 * uses depends on what `cert()` got (firebase-admin 13.9, lib/app/credential-internal.js):
 *
 * - a file path: `GoogleAuth` builds the client with `clientOptions.transporterOptions.agent`, so
 *   `httpAgent` is used, and {@link createFcmAgent} (which serves oauth2.googleapis.com as well) routes it;
 * - an object (what Pushcast passes, from its database): `populateGoogleAuth` calls
 *   `GoogleAuth.fromJSON(json)` without the client options, so `httpAgent` is silently dropped and the
 *   request goes out on Node's `https.globalAgent` (firebase/firebase-admin-node#2960, open). The seam
 *   for that is {@link redirectOAuthTo}.
 *
 *   const agent = createFcmAgent(service.origin, service.caPem);
 *   const undoFcm = redirectFcmTo(service.origin, service.caPem);
 *   const undoOAuth = redirectOAuthTo(service.origin, service.caPem);
 *   initializeApp({ credential: cert(serviceAccountJson, agent), projectId, httpAgent: agent }, name);
 *
 * All of them dial the local server's IP directly, so no Google host is ever resolved, while the
 * request keeps `:authority` / `Host: fcm.googleapis.com` (or `oauth2.googleapis.com`) as in production.
 */
import http2 from 'node:http2';
import https, { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { OAUTH_HOST } from './oauth.ts';

export const FCM_HOST = 'fcm.googleapis.com';
/** The hosts {@link createFcmAgent} serves. */
const AGENT_HOSTS: ReadonlySet<string> = new Set([FCM_HOST, OAUTH_HOST]);

type Connect = typeof http2.connect;

/**
 * What firebase-admin's credential contract needs, with a fixed token; nothing is fetched, not even
 * from the local token endpoint. Pair with `trustProject` on a guarded server. For the real credential
 * path use `cert(generateServiceAccount(...).json, agent)` with `trustServiceAccount` and
 * {@link redirectOAuthTo}.
 */
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
 * An agent for `AppOptions.httpAgent` and for `cert(serviceAccount, httpAgent)`: firebase-admin's
 * HTTP/1.1 requests to fcm.googleapis.com, and google-auth-library's token requests to
 * oauth2.googleapis.com when it passes them the agent (a `cert()` of a file path, not of an object: see
 * {@link redirectOAuthTo}), go to `origin` (trusting `ca`). Requests to any other host fail rather than
 * leave the machine. Keep-alive by default; `destroy()` it when done.
 */
export function createFcmAgent(origin: string, ca: string, options: AgentOptions = {}): Agent {
  const target = parseOrigin(origin);
  const agent = new Agent({ keepAlive: true, ...options });
  agent.createConnection = (requestOptions, callback) => {
    if (!AGENT_HOSTS.has(requestOptions.host ?? '') && !AGENT_HOSTS.has(requestOptions.hostname ?? '')) {
      // Node's Agent accepts (err) with no stream here and fails the request; the typings insist on a stream.
      const error = new Error(`createFcmAgent only serves ${[...AGENT_HOSTS].join(' and ')}, not ${requestOptions.host ?? '?'}`);
      callback?.(error, undefined as unknown as Duplex);
      return undefined;
    }
    return tlsConnect({ host: target.host, port: target.port, ca, ALPNProtocols: ['http/1.1'] });
  };
  return agent;
}

type CreateConnection = (options: { host?: string | null; hostname?: string | null; port?: number | string | null }, callback?: unknown) => unknown;

/**
 * Makes HTTPS requests to oauth2.googleapis.com that run on Node's `https.globalAgent` (no agent of
 * their own) dial `origin` instead, trusting `ca`; other hosts, and requests that bring an agent, are
 * untouched. This is where firebase-admin 13.9 sends the token request of `cert(object, httpAgent)`,
 * since it drops that agent (see the top of this file). Returns an undo, which also drops the pooled
 * keep-alive connections it made. Process-wide by nature, like {@link redirectFcmTo}: the later of two
 * active redirects wins; undoing in any order is safe.
 */
export function redirectOAuthTo(origin: string, ca: string): () => void {
  const target = parseOrigin(origin);
  const agent = https.globalAgent as unknown as Omit<Agent, 'createConnection'> & { createConnection: CreateConnection };
  const hadOwn = Object.prototype.hasOwnProperty.call(agent, 'createConnection');
  const previous = agent.createConnection;
  let active = true;

  const redirected: CreateConnection = function createConnection(this: unknown, options, callback) {
    const host = options.hostname ?? options.host;
    const port = options.port === undefined || options.port === null || options.port === '' ? 443 : Number(options.port);
    if (!active || host !== OAUTH_HOST || port !== 443) return Reflect.apply(previous, this, [options, callback]);
    return tlsConnect({ host: target.host, port: target.port, ca, ALPNProtocols: ['http/1.1'] });
  };

  agent.createConnection = redirected;
  return () => {
    if (!active) return;
    active = false;
    if (agent.createConnection === redirected) {
      if (hadOwn) agent.createConnection = previous;
      else delete (agent as { createConnection?: unknown }).createConnection;
    }
    // Idle keep-alive sockets pooled under oauth2.googleapis.com lead to the local server.
    for (const [name, sockets] of Object.entries(agent.freeSockets)) {
      if (name.startsWith(`${OAUTH_HOST}:`)) for (const socket of sockets ?? []) socket.destroy();
    }
  };
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
