/**
 * Points firebase-admin (13.x) at a local FCM server (PUSHCAST_FCM_URL: tests, the demo, the
 * benchmark) without touching node_modules. firebase-admin has no emulator or endpoint option for
 * messaging, and reaches Google three ways:
 *
 * - `sendEach()` (HTTP/2): each call runs `http2.connect('https://fcm.googleapis.com', …)` on the
 *   CommonJS `http2` module object; nothing from AppOptions reaches it, so the only seam is that
 *   object's `connect` property: {@link redirectFcmTo}.
 * - `send()` and the legacy transport (HTTP/1.1): `https.request` with `app.options.httpAgent`.
 * - A service-account credential, `cert(serviceAccount, httpAgent)`, fetches its access token from
 *   `POST https://oauth2.googleapis.com/token` through google-auth-library → gaxios → node-fetch. For a
 *   key file path it passes the agent ({@link createFcmAgent} serves both hosts); for an object, as
 *   Pushcast gives it, firebase-admin 13.9 drops the agent (firebase/firebase-admin-node#2960) and the
 *   request runs on `https.globalAgent`: {@link redirectOAuthTo}.
 *
 * All of them dial the local server directly, so no Google host is ever resolved, while requests
 * keep `:authority` / `Host` as in production.
 */
import http2 from 'node:http2';
import https, { Agent, type AgentOptions } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';

export const FCM_HOST = 'fcm.googleapis.com';
export const OAUTH_HOST = 'oauth2.googleapis.com';
/** The hosts {@link createFcmAgent} serves. */
const AGENT_HOSTS: ReadonlySet<string> = new Set([FCM_HOST, OAUTH_HOST]);

type Connect = typeof http2.connect;

/**
 * Makes every `http2.connect()` to https://fcm.googleapis.com in this process open its TLS connection
 * to `origin` instead, trusting `ca` (PEM; NODE_EXTRA_CA_CERTS when omitted) for that connection
 * only. Other hosts are untouched. Returns an undo. Process-wide by nature (firebase-admin offers no
 * per-app seam for HTTP/2): two redirects active at once means the later one wins; undoing in any
 * order is safe.
 */
export function redirectFcmTo(origin: string, ca?: string): () => void {
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
      tlsConnect({ host: target.host, port: target.port, ...(ca ? { ca } : {}), ALPNProtocols: ['h2'] });
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
 * An agent for `AppOptions.httpAgent` and for `cert(serviceAccount, httpAgent)`: HTTP/1.1 requests
 * to fcm.googleapis.com and oauth2.googleapis.com go to `origin` (trusting `ca`). Requests to any
 * other host fail rather than leave the machine. Keep-alive by default; `destroy()` it when done.
 */
export function createFcmAgent(origin: string, ca?: string, options: AgentOptions = {}): Agent {
  const target = parseOrigin(origin);
  const agent = new Agent({ keepAlive: true, ...options });
  agent.createConnection = (requestOptions, callback) => {
    if (!AGENT_HOSTS.has(requestOptions.host ?? '') && !AGENT_HOSTS.has(requestOptions.hostname ?? '')) {
      // Node's Agent accepts (err) with no stream here and fails the request; the typings insist on a stream.
      const error = new Error(`createFcmAgent only serves ${[...AGENT_HOSTS].join(' and ')}, not ${requestOptions.host ?? '?'}`);
      callback?.(error, undefined as unknown as Duplex);
      return undefined;
    }
    return tlsConnect({ host: target.host, port: target.port, ...(ca ? { ca } : {}), ALPNProtocols: ['http/1.1'] });
  };
  return agent;
}

type CreateConnection = (options: { host?: string | null; hostname?: string | null; port?: number | string | null }, callback?: unknown) => unknown;

/**
 * Makes HTTPS requests to oauth2.googleapis.com that run on Node's `https.globalAgent` (no agent of
 * their own) dial `origin` instead, trusting `ca`; other hosts, and requests that bring an agent, are
 * untouched. Returns an undo, which also drops the pooled keep-alive connections it made.
 * Process-wide by nature, like {@link redirectFcmTo}: the later of two active redirects wins;
 * undoing in any order is safe.
 */
export function redirectOAuthTo(origin: string, ca?: string): () => void {
  const target = parseOrigin(origin);
  const agent = https.globalAgent as unknown as Omit<Agent, 'createConnection'> & { createConnection: CreateConnection };
  const hadOwn = Object.prototype.hasOwnProperty.call(agent, 'createConnection');
  const previous = agent.createConnection;
  let active = true;

  const redirected: CreateConnection = function createConnection(this: unknown, options, callback) {
    const host = options.hostname ?? options.host;
    const port = options.port === undefined || options.port === null || options.port === '' ? 443 : Number(options.port);
    if (!active || host !== OAUTH_HOST || port !== 443) return Reflect.apply(previous, this, [options, callback]);
    return tlsConnect({ host: target.host, port: target.port, ...(ca ? { ca } : {}), ALPNProtocols: ['http/1.1'] });
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

/** Every seam at once, for a worker whose PUSHCAST_FCM_URL points at a local server. */
export function localFcmTransport(origin: string, ca?: string): { httpAgent: Agent; close(): void } {
  const httpAgent = createFcmAgent(origin, ca);
  const undoFcm = redirectFcmTo(origin, ca);
  const undoOAuth = redirectOAuthTo(origin, ca);
  return {
    httpAgent,
    close() {
      undoOAuth();
      undoFcm();
      httpAgent.destroy();
    },
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
