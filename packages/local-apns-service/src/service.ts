import { randomUUID } from 'node:crypto';
import { createSecureServer, type IncomingHttpHeaders, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { createLocalCertificate } from '@pushcast/local-tls';
import { publicKeyFrom } from './keys.ts';
import { createProviderTokenVerifier, type TrustedKey } from './provider-token.ts';

export interface ScriptedApnsAnswer {
  status: number;
  /** Default: Apple's reason for the status (410 Unregistered, 429 TooManyRequests, ...). */
  reason?: string;
  /** Sent as `retry-after` (lower case, as HTTP/2 requires). */
  retryAfterSeconds?: number;
  /** For 410: when the token stopped being valid, in ms since the epoch (Apple's unit). Default: now. */
  timestamp?: number;
  /** Delay before answering, e.g. to exercise a sender's timeout. */
  delayMs?: number;
}

export interface ReceivedApnsRequest {
  /** The device token from the path, lower-cased. */
  token: string;
  /** What we answered. */
  status: number;
  reason?: string;
  headers: {
    topic?: string;
    pushType?: string;
    priority?: string;
    expiration?: string;
    collapseId?: string;
    apnsId?: string;
  };
  jwt: { valid: boolean; error?: string; keyId?: string; teamId?: string; iat?: number };
  /** Parsed JSON body; undefined when it was empty, not JSON, or too large. */
  payload: unknown;
  /** The `:authority` the client sent; @parse/node-apn sends its `address` option, without the port. */
  authority: string;
  /** Date.now() when the request was evaluated. */
  at: number;
  /** The HTTP/2 connection it came over: 1 for the service's first, 2 for the next one opened, … */
  connection: number;
}

export interface ApnsCounters {
  /** Requests to anything but the /__ control paths. */
  requests: number;
  byStatus: Record<number, number>;
  /** Reasons of every non-200 answer. */
  byReason: Record<string, number>;
  /** Requests answered 403 for their provider token: missing, invalid or expired. */
  jwtInvalid: number;
  /** Connections retired with a graceful GOAWAY (`maxRequestsPerSession`). */
  goaways: number;
  /** Distinct JWTs whose signature verified with a trusted key: how many provider tokens were minted. */
  tokensMinted: number;
  tokensMintedByKey: Record<string, number>;
}

export interface LocalApnsServiceOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default true: keep ReceivedApnsRequest objects; false = counters only (the benchmark). */
  record?: boolean;
  /**
   * Told of every answer to a push, recorded or not: the benchmark counts each device's deliveries
   * with it, without keeping 200,000 requests alive in a heap the server's GC must walk.
   */
  onAnswer?: (token: string, status: number) => void;
  /** SETTINGS_MAX_CONCURRENT_STREAMS per connection; default 1000, what api.push.apple.com advertises. */
  maxConcurrentStreams?: number;
  /**
   * Default unlimited. After this many streams on one connection, the server retires it with a
   * graceful GOAWAY naming the last stream it took, as a server going down for maintenance does:
   * streams it took are answered, later ones are refused (REFUSED_STREAM).
   */
  maxRequestsPerSession?: number;
}

export interface TrustedApnsKey {
  keyId: string;
  teamId: string;
  /** SPKI PEM; may be omitted when keyPem (the .p8) is given, the public key is then derived from it. */
  publicKeyPem?: string;
  keyPem?: string;
}

export interface LocalApnsService {
  /** https://127.0.0.1:PORT */
  readonly origin: string;
  readonly host: string;
  readonly port: number;
  /** Its self-signed certificate: pass as `ca` to @parse/node-apn, or via NODE_EXTRA_CA_CERTS. */
  readonly caPem: string;
  /** The same PEM in a temp file, for NODE_EXTRA_CA_CERTS of child processes. Removed by close(). */
  readonly caFile: string;
  /**
   * Requests must then carry an ES256 JWT with this kid and iss, signed by this key; `topics` are the
   * bundle ids it may push to (their .voip, .complication, .pushkit.fileprovider and
   * .push-type.liveactivity variants included). Trusting a key id again replaces it. Survives reset().
   */
  trustKey(cred: TrustedApnsKey, topics: string[]): void;
  /**
   * Apple revoking a key (in the developer account): from now on its provider tokens, even those
   * already minted, are answered 403 InvalidProviderToken. False if it was not trusted.
   */
  revokeKey(keyId: string): boolean;
  /**
   * Successive answers for this device token, consumed by requests that pass validation. Once used up
   * it answers 200, or repeats the last answer if `sticky`. An empty list removes the script.
   */
  script(token: string, answers: ScriptedApnsAnswer[], opts?: { sticky?: boolean }): void;
  /** Live view; empty when `record: false`. */
  received(): readonly ReceivedApnsRequest[];
  receivedFor(token: string): readonly ReceivedApnsRequest[];
  counters(): ApnsCounters;
  /** Forget received requests, counters, minted tokens and scripts; trusted keys stay. */
  reset(): void;
  close(): Promise<void>;
}

/** Apple: 4 KB for a regular push, 5 KB for a VoIP push. */
const MAX_PAYLOAD_BYTES = 4096;
const MAX_VOIP_PAYLOAD_BYTES = 5120;
const MAX_CONTROL_BODY_BYTES = 1024 * 1024;
const MAX_COLLAPSE_ID_BYTES = 64;
const DEVICE_PREFIX = '/3/device/';
/** 32-byte tokens are 64 hex digits; Apple warns they may grow, so longer ones are accepted. */
const DEVICE_TOKEN = /^[0-9a-f]{64,200}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EXPIRATION = /^\d{1,10}$/;
const PUSH_TYPES = new Set([
  'alert',
  'background',
  'location',
  'voip',
  'complication',
  'fileprovider',
  'mdm',
  'liveactivity',
  'pushtotalk',
  'widgets',
  'controls',
]);
/** Apple derives the topic of some push types from the bundle id with a suffix. */
const TOPIC_SUFFIXES = ['.voip', '.complication', '.pushkit.fileprovider', '.push-type.liveactivity', '.voip-ptt'];
const DEFAULT_REASONS: Readonly<Record<number, string>> = {
  400: 'BadDeviceToken',
  403: 'Forbidden',
  404: 'BadPath',
  405: 'MethodNotAllowed',
  410: 'Unregistered',
  413: 'PayloadTooLarge',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

interface Script {
  answers: ScriptedApnsAnswer[];
  next: number;
  sticky: boolean;
}

interface Answer {
  status: number;
  reason?: string;
  headers: Record<string, string>;
  text: string;
  delayMs: number;
}

export async function startLocalApnsService(opts: LocalApnsServiceOptions = {}): Promise<LocalApnsService> {
  const record = opts.record ?? true;
  const onAnswer = opts.onAnswer;
  const maxConcurrentStreams = opts.maxConcurrentStreams ?? 1000;
  if (!Number.isInteger(maxConcurrentStreams) || maxConcurrentStreams < 1) {
    throw new Error(`maxConcurrentStreams must be a positive integer, got ${maxConcurrentStreams}`);
  }

  const certificate = await createLocalCertificate('apns', [
    // Apple's names too: a client can keep address 'api.sandbox.push.apple.com' (so SNI and
    // :authority are the real ones) and only redirect the TCP connection with `host`.
    'api.push.apple.com',
    'api.sandbox.push.apple.com',
  ]);
  const caPem = certificate.certPem;
  const caFile = certificate.caFile;

  const keys = new Map<string, TrustedKey>();
  const verifier = createProviderTokenVerifier((keyId) => keys.get(keyId));
  const payloads = new LastPayload();
  const scripts = new Map<string, Script>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let received: ReceivedApnsRequest[] = [];
  let receivedByToken = new Map<string, ReceivedApnsRequest[]>();
  let minted = new Set<string>();
  let counters = freshCounters();
  let closing: Promise<void> | undefined;

  // Without allowHTTP1: api.push.apple.com speaks HTTP/2 only, and a client that cannot should fail here.
  const server = createSecureServer({
    key: certificate.keyPem,
    cert: certificate.certPem,
    settings: { maxConcurrentStreams },
  });

  const takeScripted = (token: string): ScriptedApnsAnswer | undefined => {
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

  const count = (status: number, reason: string | undefined): void => {
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
    if (reason !== undefined) counters.byReason[reason] = (counters.byReason[reason] ?? 0) + 1;
  };

  const noteMinted = (jwt: string, keyId: string): void => {
    if (minted.has(jwt)) return;
    minted.add(jwt);
    counters.tokensMinted++;
    counters.tokensMintedByKey[keyId] = (counters.tokensMintedByKey[keyId] ?? 0) + 1;
  };

  const evaluatePush = (
    headers: IncomingHttpHeaders,
    rawToken: string,
    bytes: number,
    body: Buffer | undefined,
    connection: number,
  ): Answer => {
    const at = Date.now();
    const token = rawToken.toLowerCase();
    const jwt = verifier.check(headerValue(headers['authorization']), at);
    if (jwt.jwt !== undefined && jwt.key !== undefined) noteMinted(jwt.jwt, jwt.key.keyId);

    const topic = headerValue(headers['apns-topic']);
    const pushType = headerValue(headers['apns-push-type']);
    const priority = headerValue(headers['apns-priority']);
    const expiration = headerValue(headers['apns-expiration']);
    const collapseId = headerValue(headers['apns-collapse-id']);
    const apnsId = headerValue(headers['apns-id']);
    const payload = body === undefined ? undefined : payloads.parse(body);
    const limit = pushType === 'voip' ? MAX_VOIP_PAYLOAD_BYTES : MAX_PAYLOAD_BYTES;
    // Apple's default when the header is absent.
    const effectivePriority = priority === undefined ? '10' : priority.trim();

    let status = 400;
    let reason: string | undefined;
    if (!jwt.valid || jwt.key === undefined) {
      counters.jwtInvalid++;
      status = 403;
      reason = jwt.reason ?? 'InvalidProviderToken';
    } else if (topic === undefined || topic === '') {
      reason = 'MissingTopic';
    } else if (!topicAllowed(jwt.key, topic)) {
      reason = 'TopicDisallowed';
    } else if (pushType !== undefined && !PUSH_TYPES.has(pushType)) {
      reason = 'InvalidPushType';
    } else if (effectivePriority !== '10' && effectivePriority !== '5' && effectivePriority !== '1') {
      reason = 'BadPriority';
    } else if (pushType === 'background' && effectivePriority === '10') {
      // Apple: a background push must be sent with priority 5.
      reason = 'BadPriority';
    } else if (expiration !== undefined && !EXPIRATION.test(expiration.trim())) {
      reason = 'BadExpirationDate';
    } else if (apnsId !== undefined && !UUID.test(apnsId)) {
      reason = 'BadMessageId';
    } else if (collapseId !== undefined && Buffer.byteLength(collapseId) > MAX_COLLAPSE_ID_BYTES) {
      reason = 'BadCollapseId';
    } else if (token === '') {
      reason = 'MissingDeviceToken';
    } else if (!DEVICE_TOKEN.test(token)) {
      reason = 'BadDeviceToken';
    } else if (bytes > limit) {
      status = 413;
      reason = 'PayloadTooLarge';
    } else if (payload === undefined) {
      // Apple documents no separate reason for a body that is not a JSON object with an aps dictionary.
      reason = 'PayloadEmpty';
    }

    const answerHeaders: Record<string, string> = {
      'apns-id': apnsId !== undefined && UUID.test(apnsId) ? apnsId : randomUUID().toUpperCase(),
    };
    let delayMs = 0;
    let timestamp: number | undefined;
    if (reason === undefined) {
      const scripted = takeScripted(token);
      if (scripted !== undefined) {
        status = scripted.status;
        reason = status >= 200 && status < 300 ? undefined : (scripted.reason ?? defaultReason(status));
        if (scripted.retryAfterSeconds !== undefined) {
          answerHeaders['retry-after'] = String(scripted.retryAfterSeconds);
        }
        if (status === 410) timestamp = scripted.timestamp ?? at;
        delayMs = scripted.delayMs ?? 0;
      } else {
        status = 200;
      }
    }

    count(status, reason);
    onAnswer?.(token, status);
    if (record) {
      const request: ReceivedApnsRequest = {
        token,
        status,
        headers: { topic, pushType, priority, expiration, collapseId, apnsId },
        jwt: { valid: jwt.valid },
        payload,
        authority: headerValue(headers[':authority']) ?? headerValue(headers['host']) ?? '',
        at,
        connection,
      };
      if (reason !== undefined) request.reason = reason;
      if (jwt.error !== undefined) request.jwt.error = jwt.error;
      if (jwt.keyId !== undefined) request.jwt.keyId = jwt.keyId;
      if (jwt.teamId !== undefined) request.jwt.teamId = jwt.teamId;
      if (jwt.iat !== undefined) request.jwt.iat = jwt.iat;
      received.push(request);
      let forToken = receivedByToken.get(token);
      if (forToken === undefined) receivedByToken.set(token, (forToken = []));
      forToken.push(request);
    }

    const text =
      reason === undefined ? '' : JSON.stringify(timestamp === undefined ? { reason } : { reason, timestamp });
    return { status, reason, headers: answerHeaders, text, delayMs };
  };

  const send = (stream: ServerHttp2Stream, answer: Answer): void => {
    if (answer.delayMs <= 0) {
      respond(stream, answer.status, answer.headers, answer.text);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      respond(stream, answer.status, answer.headers, answer.text);
    }, answer.delayMs);
    timers.add(timer);
  };

  const refuse = (stream: ServerHttp2Stream, status: number, reason: string): void => {
    stream.resume();
    count(status, reason);
    respond(stream, status, { 'apns-id': randomUUID().toUpperCase() }, JSON.stringify({ reason }));
  };

  const handleControl = (stream: ServerHttp2Stream, method: string, path: string): void => {
    const jsonBody = (handler: (value: unknown) => void): void => {
      readBody(stream, MAX_CONTROL_BODY_BYTES, (_bytes, body) => {
        try {
          if (body === undefined) throw new Error('control request body too large');
          handler(JSON.parse(body.toString('utf8')));
          respond(stream, 204, {}, '');
        } catch (e) {
          respond(stream, 400, {}, JSON.stringify({ error: e instanceof Error ? e.message : String(e) }));
        }
      });
    };
    if (method === 'GET' && path === '/__counters') {
      stream.resume();
      respond(stream, 200, {}, JSON.stringify(service.counters()));
    } else if (method === 'POST' && path === '/__reset') {
      stream.resume();
      service.reset();
      respond(stream, 204, {}, '');
    } else if (method === 'POST' && path === '/__trust') {
      jsonBody((value) => {
        const { topics, ...cred } = value as TrustedApnsKey & { topics: string[] };
        service.trustKey(cred, topics);
      });
    } else if (method === 'POST' && path === '/__revoke') {
      jsonBody((value) => {
        const { keyId } = value as { keyId: string };
        if (typeof keyId !== 'string') throw new Error('keyId is required');
        service.revokeKey(keyId);
      });
    } else if (method === 'POST' && path.startsWith('/__script/')) {
      jsonBody((value) => {
        const { answers, sticky } = value as { answers: ScriptedApnsAnswer[]; sticky?: boolean };
        if (!Array.isArray(answers)) throw new Error('answers must be an array');
        service.script(decodeURIComponent(path.slice('/__script/'.length)), answers, { sticky: sticky === true });
      });
    } else {
      stream.resume();
      respond(stream, 404, {}, JSON.stringify({ error: 'unknown control path' }));
    }
  };

  // Raw streams, not the compatibility API: this is the hot path of the benchmark.
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
    stream.on('error', noop);
    if (opts.maxRequestsPerSession !== undefined) retireAfter(stream.session as NumberedSession | undefined, opts.maxRequestsPerSession);
    const method = headerValue(headers[':method']) ?? 'GET';
    const path = stripQuery(headerValue(headers[':path']) ?? '/');
    if (path.startsWith('/__')) {
      handleControl(stream, method, path);
      return;
    }
    counters.requests++;
    if (!path.startsWith(DEVICE_PREFIX)) {
      refuse(stream, 404, 'BadPath');
      return;
    }
    if (method !== 'POST') {
      refuse(stream, 405, 'MethodNotAllowed');
      return;
    }
    // The push's body is read by listeners shared by every stream, with its state on the stream:
    // no closures per request on the benchmark's hot path.
    const push = stream as PushStream;
    push[PUSH] = { headers, token: path.slice(DEVICE_PREFIX.length), bytes: 0, chunks: [] };
    push.on('data', onPushData);
    push.on('end', onPushEnd);
  });
  const onPushEnd = function (this: PushStream): void {
    const { headers, token, bytes, chunks } = this[PUSH];
    const body = bytes <= MAX_VOIP_PAYLOAD_BYTES ? (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, bytes)) : undefined;
    send(this, evaluatePush(headers, token, bytes, body, (this.session as NumberedSession | undefined)?.[CONNECTION] ?? 0));
  };
  let connections = 0;
  server.on('session', (session) => {
    (session as NumberedSession)[CONNECTION] = ++connections;
    (session as NumberedSession)[STREAMS] = 0;
  });
  const retireAfter = (session: NumberedSession | undefined, max: number): void => {
    if (session === undefined || ++session[STREAMS] !== max) return;
    counters.goaways++;
    // close(): GOAWAY with the last stream nghttp2 has taken, then waits for those to finish.
    session.close();
  };
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('sessionError', noop);
  server.on('tlsClientError', noop);

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const host = '127.0.0.1';
  const port = (server.address() as AddressInfo).port;

  const service: LocalApnsService = {
    origin: `https://${host}:${port}`,
    host,
    port,
    caPem,
    caFile,
    trustKey(cred, topics) {
      if (typeof cred.keyId !== 'string' || cred.keyId === '') throw new Error('keyId is required');
      if (typeof cred.teamId !== 'string' || cred.teamId === '') throw new Error('teamId is required');
      if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string' || t === '')) {
        throw new Error('topics must be an array of bundle ids');
      }
      keys.set(cred.keyId, {
        keyId: cred.keyId,
        teamId: cred.teamId,
        publicKey: publicKeyFrom(cred),
        topics: new Set(topics),
      });
      verifier.forget();
    },
    revokeKey(keyId) {
      const had = keys.delete(keyId);
      verifier.forget();
      return had;
    },
    script(token, answers, scriptOpts) {
      const key = token.toLowerCase();
      if (answers.length === 0) {
        scripts.delete(key);
        return;
      }
      scripts.set(key, { answers: [...answers], next: 0, sticky: scriptOpts?.sticky === true });
    },
    received: () => received,
    receivedFor: (token) => receivedByToken.get(token.toLowerCase()) ?? [],
    counters: () => ({
      ...counters,
      byStatus: { ...counters.byStatus },
      byReason: { ...counters.byReason },
      tokensMintedByKey: { ...counters.tokensMintedByKey },
    }),
    reset() {
      received = [];
      receivedByToken = new Map();
      minted = new Set();
      counters = freshCounters();
      scripts.clear();
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // server.close() waits for every HTTP/2 session to end, and clients keep theirs open for good.
        for (const socket of sockets) socket.destroy();
        await closed;
        await certificate.remove();
      })();
      return closing;
    },
  };
  return service;
}

function freshCounters(): ApnsCounters {
  return { requests: 0, byStatus: {}, byReason: {}, jwtInvalid: 0, goaways: 0, tokensMinted: 0, tokensMintedByKey: {} };
}

function defaultReason(status: number): string {
  return DEFAULT_REASONS[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequest');
}

function topicAllowed(key: TrustedKey, topic: string): boolean {
  if (key.topics.has(topic)) return true;
  for (const suffix of TOPIC_SUFFIXES) {
    if (topic.endsWith(suffix) && key.topics.has(topic.slice(0, -suffix.length))) return true;
  }
  return false;
}

/**
 * {@link parsePayload} of the last body, kept while the next is the same bytes: a broadcast sends
 * one payload to every device, and parsing it anew for each took 3 % of the server's CPU in the
 * benchmark. Requests recorded with the same body share the parsed value.
 */
class LastPayload {
  #body: Buffer | undefined;
  #parsed: unknown;

  parse(body: Buffer): unknown {
    if (this.#body !== undefined && this.#body.equals(body)) return this.#parsed;
    this.#parsed = parsePayload(body);
    this.#body = body;
    return this.#parsed;
  }
}

/** A JSON object with an `aps` dictionary, or undefined. */
function parsePayload(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const aps = (value as Record<string, unknown>)['aps'];
    return typeof aps === 'object' && aps !== null && !Array.isArray(aps) ? value : undefined;
  } catch {
    return undefined;
  }
}

function respond(stream: ServerHttp2Stream, status: number, headers: Record<string, string>, text: string): void {
  if (stream.destroyed || stream.closed) return;
  if (text === '') {
    stream.respond({ ':status': status, ...headers }, { endStream: true });
  } else {
    stream.respond({ ':status': status, 'content-type': 'application/json', ...headers });
    stream.end(text);
  }
}

const PUSH = Symbol('push');
const CONNECTION = Symbol('connection');
const STREAMS = Symbol('streams');
type NumberedSession = ServerHttp2Session & { [CONNECTION]: number; [STREAMS]: number };

/** A push request's stream, with what its shared listeners need. */
type PushStream = ServerHttp2Stream & {
  [PUSH]: { readonly headers: IncomingHttpHeaders; readonly token: string; bytes: number; readonly chunks: Buffer[] };
};

/** Counts every byte of a push but keeps at most the largest payload Apple takes (see readBody). */
function onPushData(this: PushStream, chunk: Buffer): void {
  const state = this[PUSH];
  state.bytes += chunk.length;
  if (state.bytes <= MAX_VOIP_PAYLOAD_BYTES) state.chunks.push(chunk);
}

/** Counts every byte but keeps at most `limit` of them: an oversized body is answered without being buffered. */
function readBody(source: Readable, limit: number, done: (bytes: number, body: Buffer | undefined) => void): void {
  let bytes = 0;
  const chunks: Buffer[] = [];
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (bytes <= limit) chunks.push(chunk);
  });
  source.once('end', () => done(bytes, bytes <= limit ? Buffer.concat(chunks, bytes) : undefined));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

function noop(): void {}
