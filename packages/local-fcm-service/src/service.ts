import { createServer as createHttp1Server, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  createServer as createHttp2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { Duplex, type Readable } from 'node:stream';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { createLocalCertificate } from '@pushcast/local-tls';
import {
  ACCESS_TOKEN_LIFETIME_SECONDS,
  checkJwtBearerGrant,
  newAccessToken,
  trustedKeyOf,
  type ServiceAccountToTrust,
  type TrustedAccount,
} from './oauth.ts';
import { createSchemeFixer, needsSchemeFilter } from './scheme-fix.ts';
import { validateSendBody, type Violation } from './validate.ts';

export type FcmErrorCode =
  | 'UNREGISTERED'
  | 'INVALID_ARGUMENT'
  | 'QUOTA_EXCEEDED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'SENDER_ID_MISMATCH'
  | 'THIRD_PARTY_AUTH_ERROR';

export interface ScriptedFcmAnswer {
  /** HTTP status; 2xx answers a success, anything else an FCM error body. */
  status: number;
  /** FcmError detail; defaults from the status (404 UNREGISTERED, 429 QUOTA_EXCEEDED, 503 UNAVAILABLE, ...). */
  errorCode?: FcmErrorCode;
  message?: string;
  /** Sent as `retry-after` (firebase-admin honours it on the 503s it retries). */
  retryAfterSeconds?: number;
  /** Delay before answering, e.g. to exercise a sender's timeout or its concurrency. */
  delayMs?: number;
}

export interface ReceivedFcmMessage {
  /** `message.token`; '' for topic and condition messages, or when the body did not parse. */
  token: string;
  project: string;
  /** What we answered. */
  status: number;
  /** The FcmError errorCode we answered, or the canonical status (`UNAUTHENTICATED`...) when there is none. */
  errorCode?: string;
  /** The `message` object as sent (firebase-admin has already renamed fields to FCM's snake_case). */
  message: unknown;
  validateOnly: boolean;
  authorization?: string;
  httpVersion: '1.1' | '2.0';
  /** `:authority` / Host: `fcm.googleapis.com` when a redirected firebase-admin sent it. */
  authority: string;
  /**
   * The service account whose access token (issued by this server's `POST /token`) the bearer is,
   * also when the request was refused (expired, another project). Absent for other bearers.
   */
  clientEmail?: string;
  /** Date.now() when the request was evaluated. */
  at: number;
}

/** One `POST /token` exchange (a service account's JWT bearer grant). */
export interface OAuthTokenRequest {
  /** 200, or the status of the OAuth error. */
  status: number;
  /** The assertion's `iss` once it could be read (refusals for a malformed assertion have none). */
  clientEmail?: string;
  /** On success: the project the token may send for, the token, and the granted scope. */
  projectId?: string;
  accessToken?: string;
  scope?: string;
  /** On refusal: Google's OAuth `error` and `error_description`. */
  error?: string;
  errorDescription?: string;
  httpVersion: '1.1' | '2.0';
  /** `oauth2.googleapis.com` when firebase-admin came through `redirectOAuthTo` or `createFcmAgent`. */
  authority: string;
  at: number;
}

export interface FcmCounters {
  /** FCM API requests: everything but `POST /token` and the `/__` control paths. */
  requests: number;
  byStatus: Record<number, number>;
  byErrorCode: Record<string, number>;
  /** HTTP/2 sessions (connections) opened. */
  sessions: number;
  /** Sessions retired with a graceful GOAWAY (`maxRequestsPerSession`). */
  goaways: number;
  http1: number;
  http2: number;
  /** Most `messages:send` requests in flight at once: shows a client's real concurrency. */
  peakInFlight: number;
  /** `:scheme` values rewritten from firebase-admin's `https:` (see scheme-fix.ts). */
  schemeFixes: number;
  /** HTTP/2 sessions whose bytes pass through the `:scheme` filter: those whose first request needed it. */
  filteredSessions: number;
  /** Access tokens issued by `POST /token`. */
  oauthTokensIssued: number;
  /** `POST /token` requests refused, in all and by OAuth `error` (`invalid_grant`, ...). */
  oauthRefusals: number;
  oauthRefusalsByError: Record<string, number>;
}

export interface LocalFcmServiceOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default true: keep ReceivedFcmMessage objects; false = counters only (the benchmark). */
  record?: boolean;
  /**
   * Told of every answer to a send, recorded or not: the benchmark counts each device's deliveries
   * with it, without keeping 200,000 messages alive in a heap the server's GC must walk.
   */
  onAnswer?: (token: string, status: number) => void;
  /** SETTINGS_MAX_CONCURRENT_STREAMS, default 100 like FCM. */
  maxConcurrentStreams?: number;
  /**
   * Default true: accept firebase-admin's `:scheme: https:` by rewriting it before nghttp2 sees it.
   * A connection whose first request carries a valid `:scheme` skips the filter (and would be refused
   * a broken one later, which no client sends). false shows Node's own behaviour (the stream is reset
   * with PROTOCOL_ERROR) and skips the filter.
   */
  acceptSchemeWithColon?: boolean;
  /**
   * Default unlimited. After this many streams on one HTTP/2 session, the server retires it as
   * Google's front ends retire long-lived connections: a graceful GOAWAY (NO_ERROR) naming the last
   * stream it took; streams it took are answered, later ones are refused (REFUSED_STREAM), and the
   * connection closes once the taken ones are done.
   */
  maxRequestsPerSession?: number;
}

export interface LocalFcmService {
  /** e.g. https://127.0.0.1:43210 */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** Its self-signed certificate (PEM), valid for 127.0.0.1 and localhost. */
  readonly caPem: string;
  /** The same PEM in a temp file, for NODE_EXTRA_CA_CERTS of child processes. Removed by close(). */
  readonly caFile: string;
  /**
   * Only trusted bearers are accepted once any project or service account has been trusted: an unknown
   * bearer gets 401 UNAUTHENTICATED, a bearer trusted for another project 403 PERMISSION_DENIED.
   * Default: any bearer. This trusts a fixed (project id, access token) pair, for fake credentials.
   */
  trustProject(projectId: string, accessToken: string): void;
  /**
   * Lets this service account get access tokens from `POST /token` (Google's JWT bearer grant, see
   * oauth.ts): an assertion whose `iss` is `clientEmail` must be signed by this key. Each token it gets
   * is trusted for `projectId` only, for 3599 s. Calling again with another key adds that key (Google
   * allows several per account); a different project for a known account throws. Takes
   * `generateServiceAccount()`'s result as is. Throws on a missing, non-RSA or mismatched key.
   */
  trustServiceAccount(sa: ServiceAccountToTrust): void;
  /** Forgets the account and revokes the tokens issued to it. False if it was not trusted. */
  untrustServiceAccount(clientEmail: string): boolean;
  /**
   * Successive answers for this registration token, consumed by requests that pass authentication and
   * validation (validate_only ones too: FCM checks the token then). Once used up it answers 200, or
   * repeats the last answer if `sticky`.
   */
  script(token: string, answers: ScriptedFcmAnswer[], opts?: { sticky?: boolean }): void;
  /** Live view; empty when `record: false`. */
  received(): readonly ReceivedFcmMessage[];
  /** `POST /token` exchanges, issued and refused; empty when `record: false`. */
  tokenRequests(): readonly OAuthTokenRequest[];
  receivedFor(token: string): readonly ReceivedFcmMessage[];
  counters(): FcmCounters;
  /** Forget received messages, token requests, counters and scripts; trusted projects and service accounts, and issued tokens, stay. */
  reset(): void;
  /** Closes every connection now, without GOAWAY: a network failure or a crashed front end. Returns how many. */
  dropConnections(): number;
  close(): Promise<void>;
}

/** Google's front end refuses larger bodies with this wording. */
const MAX_BODY_BYTES = 1024 * 1024;
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
/** oauth2.googleapis.com's token endpoint; any authority is served, as everything here is Google. */
const TOKEN_PATH = '/token';
const MAX_TOKEN_BODY_BYTES = 64 * 1024;
const OAUTH_JSON_TYPE = 'application/json; charset=utf-8';
const FCM_ERROR_TYPE = 'type.googleapis.com/google.firebase.fcm.v1.FcmError';
const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';
const JSON_TYPE = 'application/json; charset=UTF-8';
const NO_HEADERS: Readonly<Record<string, string>> = {};

const CANONICAL_STATUS: Readonly<Record<number, string>> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  499: 'CANCELLED',
  500: 'INTERNAL',
  501: 'UNIMPLEMENTED',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** What FCM pairs with each status; a script giving only a status gets these. */
const ERROR_CODE_FOR_STATUS: Readonly<Record<number, FcmErrorCode>> = {
  400: 'INVALID_ARGUMENT',
  401: 'THIRD_PARTY_AUTH_ERROR',
  403: 'SENDER_ID_MISMATCH',
  404: 'UNREGISTERED',
  429: 'QUOTA_EXCEEDED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

const DEFAULT_MESSAGES: Readonly<Record<FcmErrorCode, string>> = {
  UNREGISTERED: 'Requested entity was not found.',
  INVALID_ARGUMENT: 'The registration token is not a valid FCM registration token',
  QUOTA_EXCEEDED: 'Sending limit exceeded for the message target.',
  UNAVAILABLE: 'The service is currently unavailable.',
  INTERNAL: 'Internal error encountered.',
  SENDER_ID_MISMATCH: 'SenderId mismatch',
  THIRD_PARTY_AUTH_ERROR: 'Auth error from APNS or Web Push Service',
};

interface Script {
  answers: ScriptedFcmAnswer[];
  next: number;
  sticky: boolean;
}

interface Answer {
  status: number;
  headers: Readonly<Record<string, string>>;
  text: string;
  delayMs: number;
  errorCode: string | undefined;
}

type Respond = (status: number, headers: Readonly<Record<string, string>>, text: string) => void;

interface Incoming {
  method: string;
  path: string;
  authority: string;
  headers: IncomingHttpHeaders;
  httpVersion: '1.1' | '2.0';
  body: Readable;
  respond: Respond;
  /** Runs once, when the exchange is over (answered or abandoned by the client). */
  onClose: (listener: () => void) => void;
}

/**
 * Starts the server on 127.0.0.1 (TLS, ALPN h2 or http/1.1). It serves:
 * - `POST /v1/projects/<project>/messages:send`: FCM HTTP v1, with FCM's checks, errors and scripts;
 * - `POST /token`: oauth2.googleapis.com's JWT bearer grant for trusted service accounts (oauth.ts),
 *   whose tokens then authorize sends for the account's project;
 * - `/__counters`, `/__reset`, `/__script/<token>`, `/__trust-service-account`,
 *   `/__untrust-service-account`: control paths for a process that runs it elsewhere (main.ts).
 */
export async function startLocalFcmService(opts: LocalFcmServiceOptions = {}): Promise<LocalFcmService> {
  const record = opts.record ?? true;
  const onAnswer = opts.onAnswer;
  const acceptSchemeWithColon = opts.acceptSchemeWithColon ?? true;

  const certificate = await createLocalCertificate('fcm');
  const caPem = certificate.certPem;
  const caFile = certificate.caFile;

  const scripts = new Map<string, Script>();
  const trusted = new Map<string, Set<string>>();
  const trustedTokens = new Set<string>();
  const accounts = new Map<string, TrustedAccount>();
  /** Access tokens issued by POST /token. */
  const issued = new Map<string, { clientEmail: string; projectId: string; expiresAt: number }>();
  /** Set by the first trustProject / trustServiceAccount, and never cleared: untrusting does not open the door. */
  let guarded = false;
  let tokenRequests: OAuthTokenRequest[] = [];
  const sockets = new Set<TLSSocket>();
  const sessions = new Set<ServerHttp2Session>();
  const timers = new Set<NodeJS.Timeout>();
  let received: ReceivedFcmMessage[] = [];
  let receivedByToken = new Map<string, ReceivedFcmMessage[]>();
  let counters = freshCounters();
  let inFlight = 0;
  let messageSeq = 0;
  let closing: Promise<void> | undefined;

  const takeScripted = (token: string): ScriptedFcmAnswer | undefined => {
    const script = scripts.get(token);
    if (script === undefined) return undefined;
    const answer = script.answers[script.next];
    if (answer !== undefined) {
      script.next++;
      if (script.next >= script.answers.length && !script.sticky) scripts.delete(token);
      return answer;
    }
    return script.sticky ? script.answers[script.answers.length - 1] : undefined;
  };

  /** Google checks the OAuth token before it looks at the body. */
  const authenticate = (project: string, bearer: string | undefined, at: number): Answer | undefined => {
    if (bearer === undefined) {
      return errorAnswer(
        401,
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    }
    const denied = (): Answer =>
      errorAnswer(
        403,
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
      );
    const invalid = (): Answer =>
      errorAnswer(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    const token = issued.get(bearer);
    if (token !== undefined) {
      if (token.expiresAt <= at) return invalid();
      return token.projectId === project ? undefined : denied();
    }
    if (!guarded || trusted.get(project)?.has(bearer) === true) return undefined;
    return trustedTokens.has(bearer) ? denied() : invalid();
  };

  const evaluateSend = (req: Incoming, project: string, text: string | undefined): Answer => {
    const at = Date.now();
    const authorization = headerValue(req.headers['authorization']);
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    // Parsed even when authentication fails, so the record shows which message was refused.
    const parsed = text === undefined ? undefined : validateSendBody(text);
    const decide = (): Answer => {
      if (parsed === undefined) return errorAnswer(400, `Request payload size exceeds the limit: ${MAX_BODY_BYTES} bytes.`);
      if (!parsed.ok) return violationAnswer(parsed.violation);
      const scripted = parsed.token === undefined ? undefined : takeScripted(parsed.token);
      return scripted === undefined || (scripted.status >= 200 && scripted.status < 300)
        ? successAnswer(project, parsed.validateOnly, scripted?.status ?? 200, scripted?.delayMs ?? 0, ++messageSeq)
        : scriptedError(scripted);
    };
    const answer = authenticate(project, bearer, at) ?? decide();

    counters.byStatus[answer.status] = (counters.byStatus[answer.status] ?? 0) + 1;
    if (answer.errorCode !== undefined) {
      counters.byErrorCode[answer.errorCode] = (counters.byErrorCode[answer.errorCode] ?? 0) + 1;
    }
    const token = parsed?.token ?? '';
    onAnswer?.(token, answer.status);
    if (record) {
      const entry: ReceivedFcmMessage = {
        token,
        project,
        status: answer.status,
        message: parsed?.message,
        validateOnly: parsed?.validateOnly ?? false,
        httpVersion: req.httpVersion,
        authority: req.authority,
        at,
      };
      if (answer.errorCode !== undefined) entry.errorCode = answer.errorCode;
      if (authorization !== undefined) entry.authorization = authorization;
      const clientEmail = bearer === undefined ? undefined : issued.get(bearer)?.clientEmail;
      if (clientEmail !== undefined) entry.clientEmail = clientEmail;
      received.push(entry);
      let forToken = receivedByToken.get(token);
      if (forToken === undefined) receivedByToken.set(token, (forToken = []));
      forToken.push(entry);
    }
    return answer;
  };

  /** `POST /token`: a service account's JWT bearer grant, checked by oauth.ts. */
  const handleToken = (req: Incoming): void => {
    if (req.method !== 'POST') {
      req.body.resume();
      req.respond(405, { allow: 'POST' }, 'POST only');
      return;
    }
    readBody(req.body, MAX_TOKEN_BODY_BYTES, (text) => {
      const at = Date.now();
      const contentType = headerValue(req.headers['content-type']) ?? '';
      // Only a form body carries parameters; anything else reads as none (so: no grant_type).
      const form = text !== undefined && /^application\/x-www-form-urlencoded\b/i.test(contentType) ? new URLSearchParams(text) : new URLSearchParams();
      const outcome = checkJwtBearerGrant(form, (email) => accounts.get(email), at);
      const entry: OAuthTokenRequest = {
        status: outcome.ok ? 200 : outcome.status,
        httpVersion: req.httpVersion,
        authority: req.authority,
        at,
      };
      let body: object;
      if (outcome.ok) {
        const accessToken = newAccessToken();
        issued.set(accessToken, {
          clientEmail: outcome.clientEmail,
          projectId: outcome.projectId,
          expiresAt: at + ACCESS_TOKEN_LIFETIME_SECONDS * 1000,
        });
        counters.oauthTokensIssued++;
        Object.assign(entry, { clientEmail: outcome.clientEmail, projectId: outcome.projectId, accessToken, scope: outcome.scope });
        body = { access_token: accessToken, expires_in: ACCESS_TOKEN_LIFETIME_SECONDS, token_type: 'Bearer' };
      } else {
        counters.oauthRefusals++;
        counters.oauthRefusalsByError[outcome.error] = (counters.oauthRefusalsByError[outcome.error] ?? 0) + 1;
        if (outcome.clientEmail !== undefined) entry.clientEmail = outcome.clientEmail;
        Object.assign(entry, { error: outcome.error, errorDescription: outcome.description });
        body = { error: outcome.error, error_description: outcome.description };
      }
      if (record) tokenRequests.push(entry);
      req.respond(entry.status, { 'content-type': OAUTH_JSON_TYPE, 'cache-control': 'no-cache, no-store, max-age=0, must-revalidate' }, JSON.stringify(body));
    });
  };

  const send = (req: Incoming, answer: Answer): void => {
    if (answer.delayMs <= 0) {
      req.respond(answer.status, answer.headers, answer.text);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      req.respond(answer.status, answer.headers, answer.text);
    }, answer.delayMs);
    timers.add(timer);
  };

  const handleControl = (req: Incoming): void => {
    const path = req.path;
    if (req.method === 'GET' && path === '/__counters') {
      req.body.resume();
      req.respond(200, { 'content-type': JSON_TYPE }, JSON.stringify(service.counters()));
    } else if (req.method === 'POST' && path === '/__reset') {
      req.body.resume();
      service.reset();
      req.respond(204, NO_HEADERS, '');
    } else if (req.method === 'POST' && (path === '/__trust-service-account' || path === '/__untrust-service-account')) {
      // {clientEmail, projectId, publicKeyPem?, privateKeyPem?, privateKeyId?}, or a console JSON key file.
      readBody(req.body, 64 * 1024, (body) => {
        try {
          const sa = serviceAccountFromJson(JSON.parse(body ?? ''));
          if (path === '/__trust-service-account') {
            service.trustServiceAccount(sa);
            req.respond(204, NO_HEADERS, '');
          } else {
            req.respond(service.untrustServiceAccount(sa.clientEmail) ? 204 : 404, NO_HEADERS, '');
          }
        } catch (e) {
          req.respond(400, NO_HEADERS, e instanceof Error ? e.message : String(e));
        }
      });
    } else if (req.method === 'POST' && path.startsWith('/__script/')) {
      // Lets a benchmark that runs the service in another process script answers too.
      readBody(req.body, 64 * 1024, (body) => {
        try {
          const { answers, sticky } = JSON.parse(body ?? '') as { answers: unknown; sticky?: unknown };
          if (!Array.isArray(answers)) throw new Error('answers must be an array');
          service.script(decodeURIComponent(path.slice('/__script/'.length)), answers as ScriptedFcmAnswer[], {
            sticky: sticky === true,
          });
          req.respond(204, NO_HEADERS, '');
        } catch (e) {
          req.respond(400, NO_HEADERS, e instanceof Error ? e.message : String(e));
        }
      });
    } else {
      req.body.resume();
      req.respond(404, NO_HEADERS, 'unknown control path');
    }
  };

  const handle = (req: Incoming): void => {
    if (req.path.startsWith('/__')) {
      handleControl(req);
      return;
    }
    if (stripQuery(req.path) === TOKEN_PATH) {
      handleToken(req);
      return;
    }
    counters.requests++;
    if (req.httpVersion === '2.0') counters.http2++;
    else counters.http1++;

    const project = SEND_PATH.exec(stripQuery(req.path))?.[1];
    if (project === undefined) {
      // Google answers unknown URLs with an HTML page, which firebase-admin reports as an unknown error.
      req.body.resume();
      counters.byStatus[404] = (counters.byStatus[404] ?? 0) + 1;
      req.respond(404, NO_HEADERS, 'Not Found');
      return;
    }
    if (req.method !== 'POST') {
      req.body.resume();
      counters.byStatus[405] = (counters.byStatus[405] ?? 0) + 1;
      req.respond(405, { allow: 'POST' }, 'POST only');
      return;
    }
    inFlight++;
    if (inFlight > counters.peakInFlight) counters.peakInFlight = inFlight;
    req.onClose(() => inFlight--);
    readBody(req.body, MAX_BODY_BYTES, (text) => send(req, evaluateSend(req, safeDecode(project), text)));
  };

  const h1Server = createHttp1Server((req: IncomingMessage, res: ServerResponse) => {
    res.on('error', noop);
    handle({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      headers: req.headers,
      httpVersion: '1.1',
      body: req,
      respond: (status, headers, text) => {
        if (res.destroyed || res.headersSent) return;
        res.writeHead(status, text === '' ? headers : { 'content-type': 'text/plain; charset=utf-8', ...headers });
        res.end(text);
      },
      onClose: (listener) => res.once('close', listener),
    });
  });

  // Raw streams, no compatibility layer: this is the benchmark's hot path.
  const h2Server = createHttp2Server({
    // What FCM advertises; a sender that ignores the peer's limit should fail here, not in production.
    settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 100 },
  });
  h2Server.on('session', (session: ServerHttp2Session) => {
    counters.sessions++;
    sessions.add(session);
    session.on('error', noop);
    session.once('close', () => sessions.delete(session));
  });
  const streamsBySession = new WeakMap<object, number>();
  h2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', noop);
    const session = stream.session;
    if (opts.maxRequestsPerSession !== undefined && session !== undefined) {
      const seen = (streamsBySession.get(session) ?? 0) + 1;
      streamsBySession.set(session, seen);
      if (seen === opts.maxRequestsPerSession) {
        counters.goaways++;
        // close(): GOAWAY with the last stream nghttp2 has taken, then waits for those to finish.
        session.close();
      }
    }
    handle({
      method: headerValue(headers[':method']) ?? 'GET',
      path: headerValue(headers[':path']) ?? '/',
      authority: headerValue(headers[':authority']) ?? headerValue(headers['host']) ?? '',
      headers,
      httpVersion: '2.0',
      body: stream,
      respond: (status, responseHeaders, text) => {
        if (stream.destroyed || stream.closed || stream.headersSent) return;
        const all: Record<string, string | number> = { ':status': status, ...responseHeaders };
        if (text === '') {
          stream.respond(all, { endStream: true });
        } else {
          all['content-type'] ??= 'text/plain; charset=utf-8';
          stream.respond(all);
          stream.end(text);
        }
      },
      onClose: (listener) => stream.once('close', listener),
    });
  });
  h2Server.on('sessionError', noop);

  // TLS is terminated here rather than by http2.createSecureServer so that the HTTP/2 bytes can pass
  // through the `:scheme` filter on their way to nghttp2; ALPN picks the protocol per connection.
  const tlsServer = createTlsServer({ key: certificate.keyPem, cert: certificate.certPem, ALPNProtocols: ['h2', 'http/1.1'] });
  tlsServer.on('secureConnection', (socket: TLSSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    if (socket.alpnProtocol !== 'h2') {
      h1Server.emit('connection', socket);
    } else if (acceptSchemeWithColon) {
      // The filter costs this server a fifth of its CPU, and only firebase-admin needs it.
      whenFirstRequestSeen(socket, (filter) => {
        if (filter) counters.filteredSessions++;
        h2Server.emit('connection', filter ? filteredSocket(socket, createSchemeFixer((n) => (counters.schemeFixes += n))) : socket);
      });
    } else {
      h2Server.emit('connection', socket);
    }
  });
  tlsServer.on('tlsClientError', noop);

  await new Promise<void>((resolve, reject) => {
    tlsServer.once('error', reject);
    tlsServer.listen(opts.port ?? 0, '127.0.0.1', () => {
      tlsServer.off('error', reject);
      resolve();
    });
  });
  const host = '127.0.0.1';
  const port = (tlsServer.address() as AddressInfo).port;
  const origin = `https://${host}:${port}`;

  const service: LocalFcmService = {
    origin,
    host,
    port,
    caPem,
    caFile,
    trustProject(projectId, accessToken) {
      guarded = true;
      let tokens = trusted.get(projectId);
      if (tokens === undefined) trusted.set(projectId, (tokens = new Set()));
      tokens.add(accessToken);
      trustedTokens.add(accessToken);
    },
    trustServiceAccount(sa) {
      const key = trustedKeyOf(sa);
      const known = accounts.get(sa.clientEmail);
      if (known !== undefined && known.projectId !== sa.projectId) {
        throw new Error(`${sa.clientEmail} belongs to project ${known.projectId}, not ${sa.projectId}`);
      }
      guarded = true;
      if (known === undefined) {
        accounts.set(sa.clientEmail, { projectId: sa.projectId, keys: [key] });
        return;
      }
      const same = known.keys.findIndex((k) => k.fingerprint === key.fingerprint);
      if (same < 0) known.keys.push(key);
      else known.keys[same] = key;
    },
    untrustServiceAccount(clientEmail) {
      if (!accounts.delete(clientEmail)) return false;
      for (const [token, owner] of issued) if (owner.clientEmail === clientEmail) issued.delete(token);
      return true;
    },
    script(token, answers, scriptOpts) {
      if (answers.length === 0) {
        scripts.delete(token);
        return;
      }
      scripts.set(token, { answers: [...answers], next: 0, sticky: scriptOpts?.sticky === true });
    },
    received: () => received,
    tokenRequests: () => tokenRequests,
    receivedFor: (token) => receivedByToken.get(token) ?? [],
    counters: () => ({
      ...counters,
      byStatus: { ...counters.byStatus },
      byErrorCode: { ...counters.byErrorCode },
      oauthRefusalsByError: { ...counters.oauthRefusalsByError },
    }),
    reset() {
      received = [];
      tokenRequests = [];
      receivedByToken = new Map();
      counters = freshCounters();
      scripts.clear();
    },
    dropConnections() {
      const n = sockets.size;
      for (const socket of sockets) socket.destroy();
      return n;
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const closed = new Promise<void>((resolve) => tlsServer.close(() => resolve()));
        // Waiting for clients to hang up (as server.close() does) helps nobody in a test.
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
        await closed;
        await certificate.remove();
      })();
      return closing;
    },
  };
  return service;
}

function freshCounters(): FcmCounters {
  return {
    requests: 0,
    byStatus: {},
    byErrorCode: {},
    sessions: 0,
    goaways: 0,
    http1: 0,
    http2: 0,
    peakInFlight: 0,
    schemeFixes: 0,
    filteredSessions: 0,
    oauthTokensIssued: 0,
    oauthRefusals: 0,
    oauthRefusalsByError: {},
  };
}

/** A control-path body: our camelCase fields, or a console JSON key file (snake_case). */
function serviceAccountFromJson(value: unknown): ServiceAccountToTrust {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('expected a JSON object');
  const o = value as Record<string, unknown>;
  const text = (camel: string, snake: string): string | undefined => {
    const v = o[camel] ?? o[snake];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw new Error(`${camel} must be a string`);
    return v;
  };
  const sa: ServiceAccountToTrust = { clientEmail: text('clientEmail', 'client_email') ?? '', projectId: text('projectId', 'project_id') ?? '' };
  const publicKeyPem = text('publicKeyPem', 'public_key');
  const privateKeyPem = text('privateKeyPem', 'private_key');
  const privateKeyId = text('privateKeyId', 'private_key_id');
  if (publicKeyPem !== undefined) sa.publicKeyPem = publicKeyPem;
  if (privateKeyPem !== undefined) sa.privateKeyPem = privateKeyPem;
  if (privateKeyId !== undefined) sa.privateKeyId = privateKeyId;
  return sa;
}

function successAnswer(project: string, validateOnly: boolean, status: number, delayMs: number, seq: number): Answer {
  // FCM names a dry run's message `fake_message_id`; real ids look like 0:<micros>%<hex>.
  const id = validateOnly ? 'fake_message_id' : `0:${Date.now()}${String(seq % 1e6).padStart(6, '0')}%fcmlocal`;
  return {
    status,
    headers: { 'content-type': JSON_TYPE },
    text: JSON.stringify({ name: `projects/${project}/messages/${id}` }),
    delayMs,
    errorCode: undefined,
  };
}

function scriptedError(scripted: ScriptedFcmAnswer): Answer {
  const errorCode = scripted.errorCode ?? ERROR_CODE_FOR_STATUS[scripted.status];
  const message = scripted.message ?? (errorCode === undefined ? `HTTP ${scripted.status}` : DEFAULT_MESSAGES[errorCode]);
  const answer = errorAnswer(scripted.status, message, errorCode);
  const headers: Record<string, string> = { ...answer.headers };
  if (scripted.retryAfterSeconds !== undefined) headers['retry-after'] = String(scripted.retryAfterSeconds);
  return { ...answer, headers, delayMs: scripted.delayMs ?? 0 };
}

function violationAnswer(violation: Violation): Answer {
  return errorAnswer(400, violation.description, violation.semantic ? 'INVALID_ARGUMENT' : undefined, violation);
}

/**
 * Google's error envelope. firebase-admin takes the FcmError detail's errorCode if present, else
 * `status`, and maps it to its `messaging/...` code (messaging-errors-internal.js, utils/error.js).
 */
function errorAnswer(status: number, message: string, errorCode?: string, violation?: Violation): Answer {
  const canonical = CANONICAL_STATUS[status] ?? (status >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION');
  const details: object[] = [];
  if (errorCode !== undefined) details.push({ '@type': FCM_ERROR_TYPE, errorCode });
  if (violation !== undefined) {
    details.push({ '@type': BAD_REQUEST_TYPE, fieldViolations: [{ field: violation.field, description: violation.description }] });
  }
  const error: Record<string, unknown> = { code: status, message, status: canonical };
  if (details.length > 0) error['details'] = details;
  return {
    status,
    headers: { 'content-type': JSON_TYPE },
    text: JSON.stringify({ error }),
    delayMs: 0,
    errorCode: errorCode ?? canonical,
  };
}

/**
 * Holds a new connection's first bytes until `needsSchemeFilter` can judge them, then puts them back
 * for the HTTP/2 session: Node's session reads what a socket already buffered before its first
 * native read (nodejs/node#34532).
 */
function whenFirstRequestSeen(socket: TLSSocket, decide: (filter: boolean) => void): void {
  let seen: Buffer = Buffer.alloc(0);
  const onData = (chunk: Buffer): void => {
    seen = seen.length === 0 ? chunk : Buffer.concat([seen, chunk]);
    const filter = needsSchemeFilter(seen);
    if (filter === undefined) return;
    socket.off('data', onData);
    socket.off('error', onError);
    socket.pause();
    socket.unshift(seen);
    decide(filter);
  };
  // Until the session owns the socket, its errors are this function's (a reset before a request).
  const onError = (): void => {
    socket.off('data', onData);
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('error', onError);
}

/**
 * The TLS socket's plaintext, filtered, as a stream an HTTP/2 session can run on (Node wraps a
 * non-native stream in a JSStreamSocket). Backpressure goes both ways.
 */
function filteredSocket(socket: TLSSocket, filter: (chunk: Buffer) => Buffer[]): Duplex {
  // Node's HTTP/2 disables Nagle on a native socket, not on a stream it has to wrap; without this,
  // small responses wait for delayed ACKs and throughput drops sixfold.
  socket.setNoDelay(true);
  const duplex = new Duplex({
    read() {
      socket.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      socket.write(chunk, (err) => callback(err ?? null));
    },
    // One TLS record for a batch of frames instead of one per frame: fewer syscalls and less crypto overhead.
    writev(chunks: Array<{ chunk: Buffer }>, callback) {
      socket.write(
        chunks.length === 1 ? (chunks[0]?.chunk ?? Buffer.alloc(0)) : Buffer.concat(chunks.map((c) => c.chunk)),
        (err) => callback(err ?? null),
      );
    },
    final(callback) {
      socket.end(() => callback());
    },
    destroy(err, callback) {
      socket.destroy(err ?? undefined);
      callback(err);
    },
  });
  socket.on('data', (chunk: Buffer) => {
    let more = true;
    for (const piece of filter(chunk)) more = duplex.push(piece) && more;
    if (!more) socket.pause();
  });
  socket.once('end', () => duplex.push(null));
  socket.once('close', () => duplex.destroy());
  socket.on('error', (err) => duplex.destroy(err));
  return duplex;
}

/** The body as text, or undefined if it exceeds `limit` (then drained, not buffered). */
function readBody(source: Readable, limit: number, done: (text: string | undefined) => void): void {
  let bytes = 0;
  const chunks: Buffer[] = [];
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= limit) chunks.push(chunk);
  });
  source.once('end', () => done(bytes <= limit ? Buffer.concat(chunks, bytes).toString('utf8') : undefined));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

function noop(): void {}
