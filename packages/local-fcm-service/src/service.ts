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
import { createSchemeFixer } from './scheme-fix.ts';
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
  /** Date.now() when the request was evaluated. */
  at: number;
}

export interface FcmCounters {
  /** Requests outside the `/__` control paths. */
  requests: number;
  byStatus: Record<number, number>;
  byErrorCode: Record<string, number>;
  /** HTTP/2 sessions (connections) opened. */
  sessions: number;
  http1: number;
  http2: number;
  /** Most `messages:send` requests in flight at once: shows a client's real concurrency. */
  peakInFlight: number;
  /** `:scheme` values rewritten from firebase-admin's `https:` (see scheme-fix.ts). */
  schemeFixes: number;
}

export interface LocalFcmServiceOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default true: keep ReceivedFcmMessage objects; false = counters only (the benchmark). */
  record?: boolean;
  /** SETTINGS_MAX_CONCURRENT_STREAMS, default 100 like FCM. */
  maxConcurrentStreams?: number;
  /**
   * Default true: accept firebase-admin's `:scheme: https:` by rewriting it before nghttp2 sees it.
   * false shows Node's own behaviour (the stream is reset with PROTOCOL_ERROR) and skips the filter.
   */
  acceptSchemeWithColon?: boolean;
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
   * Only these (project id, access token) pairs are accepted once any is given: an unknown bearer gets
   * 401 UNAUTHENTICATED, a bearer trusted for another project 403 PERMISSION_DENIED. Default: any bearer.
   */
  trustProject(projectId: string, accessToken: string): void;
  /**
   * Successive answers for this registration token, consumed by requests that pass authentication and
   * validation (validate_only ones too: FCM checks the token then). Once used up it answers 200, or
   * repeats the last answer if `sticky`.
   */
  script(token: string, answers: ScriptedFcmAnswer[], opts?: { sticky?: boolean }): void;
  /** Live view; empty when `record: false`. */
  received(): readonly ReceivedFcmMessage[];
  receivedFor(token: string): readonly ReceivedFcmMessage[];
  counters(): FcmCounters;
  /** Forget received messages, counters and scripts; trusted projects stay. */
  reset(): void;
  close(): Promise<void>;
}

/** Google's front end refuses larger bodies with this wording. */
const MAX_BODY_BYTES = 1024 * 1024;
const SEND_PATH = /^\/v1\/projects\/([^/]+)\/messages:send$/;
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

export async function startLocalFcmService(opts: LocalFcmServiceOptions = {}): Promise<LocalFcmService> {
  const record = opts.record ?? true;
  const acceptSchemeWithColon = opts.acceptSchemeWithColon ?? true;

  const certificate = await createLocalCertificate('fcm');
  const caPem = certificate.certPem;
  const caFile = certificate.caFile;

  const scripts = new Map<string, Script>();
  const trusted = new Map<string, Set<string>>();
  const trustedTokens = new Set<string>();
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
  const authenticate = (project: string, authorization: string | undefined): Answer | undefined => {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (bearer === undefined) {
      return errorAnswer(
        401,
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
      );
    }
    if (trusted.size === 0 || trusted.get(project)?.has(bearer) === true) return undefined;
    if (trustedTokens.has(bearer)) {
      return errorAnswer(
        403,
        `Permission 'cloudmessaging.messages.create' denied on resource '//cloudresourcemanager.googleapis.com/projects/${project}' (or it may not exist).`,
      );
    }
    return errorAnswer(
      401,
      'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.',
    );
  };

  const evaluateSend = (req: Incoming, project: string, text: string | undefined): Answer => {
    const at = Date.now();
    const authorization = headerValue(req.headers['authorization']);
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
    const answer = authenticate(project, authorization) ?? decide();

    counters.byStatus[answer.status] = (counters.byStatus[answer.status] ?? 0) + 1;
    if (answer.errorCode !== undefined) {
      counters.byErrorCode[answer.errorCode] = (counters.byErrorCode[answer.errorCode] ?? 0) + 1;
    }
    if (record) {
      const token = parsed?.token ?? '';
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
      received.push(entry);
      let forToken = receivedByToken.get(token);
      if (forToken === undefined) receivedByToken.set(token, (forToken = []));
      forToken.push(entry);
    }
    return answer;
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
  h2Server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', noop);
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
      h2Server.emit('connection', filteredSocket(socket, createSchemeFixer((n) => (counters.schemeFixes += n))));
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
      let tokens = trusted.get(projectId);
      if (tokens === undefined) trusted.set(projectId, (tokens = new Set()));
      tokens.add(accessToken);
      trustedTokens.add(accessToken);
    },
    script(token, answers, scriptOpts) {
      if (answers.length === 0) {
        scripts.delete(token);
        return;
      }
      scripts.set(token, { answers: [...answers], next: 0, sticky: scriptOpts?.sticky === true });
    },
    received: () => received,
    receivedFor: (token) => receivedByToken.get(token) ?? [],
    counters: () => ({ ...counters, byStatus: { ...counters.byStatus }, byErrorCode: { ...counters.byErrorCode } }),
    reset() {
      received = [];
      receivedByToken = new Map();
      counters = freshCounters();
      scripts.clear();
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
  return { requests: 0, byStatus: {}, byErrorCode: {}, sessions: 0, http1: 0, http2: 0, peakInFlight: 0, schemeFixes: 0 };
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
