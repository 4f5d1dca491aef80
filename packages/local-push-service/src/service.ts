import type { IncomingMessage, ServerResponse } from 'node:http';
import { createSecureServer, type IncomingHttpHeaders, type ServerHttp2Stream } from 'node:http2';
import type { AddressInfo, Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { createLocalCertificate } from '@pushcast/local-tls';
import { decryptPushBody } from './decrypt.ts';
import { DEFAULT_SEED, deriveSubscription, isValidSubscriptionId, type DerivedSubscription } from './keys.ts';
import { createVapidVerifier, type VapidResult } from './vapid.ts';

export interface ScriptedAnswer {
  status: number;
  retryAfterSeconds?: number;
  /** Delay before answering, e.g. to exercise a sender's timeout. */
  delayMs?: number;
}

export interface ReceivedMessage {
  /** Full URL as subscribed. */
  endpoint: string;
  /** The subscription id (path segment). */
  id: string;
  /** What we answered. */
  status: number;
  httpVersion: '1.1' | '2.0';
  ttl: number | null;
  urgency: string | null;
  topic: string | null;
  vapid: VapidResult;
  /** Decrypted body when decryption is enabled; undefined if it failed or was not attempted. */
  plaintext?: string;
  decryptError?: string;
  bodyBytes: number;
  /** Date.now() when the request was evaluated. */
  at: number;
}

export interface LocalPushServiceOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default true; the benchmark turns it off (and `record`) for speed. */
  decrypt?: boolean;
  /** Default true: keep ReceivedMessage objects; false = counters only. */
  record?: boolean;
  /** Key derivation seed, default 'pushcast-local'. */
  seed?: string;
  /**
   * Retire each HTTP/2 session after this many requests with a graceful GOAWAY (the last stream it
   * has taken; streams after it are refused unprocessed), as push services' front ends retire
   * long-lived connections. Default: never.
   */
  maxRequestsPerSession?: number;
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS, default 100 (what FCM advertises). */
  maxConcurrentStreams?: number;
  /**
   * Every answer to a push waits this long, as from a push service tens of milliseconds away
   * (added to a scripted answer's `delayMs`). Default 0.
   */
  latencyMs?: number;
}

export interface Counters {
  requests: number;
  byStatus: Record<number, number>;
  vapidInvalid: number;
  decryptFailed: number;
  http1: number;
  http2: number;
  /** HTTP/2 sessions opened, and retired with a graceful GOAWAY (`maxRequestsPerSession`). */
  sessions: number;
  goaways: number;
}

export interface LocalPushService {
  /** e.g. https://127.0.0.1:43210 */
  readonly origin: string;
  /** Its self-signed certificate (PEM): trust it via undici `connect: { ca }` or NODE_EXTRA_CA_CERTS. */
  readonly caPem: string;
  /** The same PEM in a temp file, for NODE_EXTRA_CA_CERTS of child processes. Removed by close(). */
  readonly caFile: string;
  /** A browser-like subscription whose keys are DERIVED from (seed, id): no per-subscriber state is stored. */
  subscription(id: string): DerivedSubscription;
  /**
   * Successive answers for this subscription id, consumed by requests that pass protocol validation
   * (VAPID, headers, size, decryption). Once used up it answers 201, or repeats the last answer if `sticky`.
   */
  script(id: string, answers: ScriptedAnswer[], opts?: { sticky?: boolean }): void;
  /**
   * From now on, refuse every request whose VAPID JWT names this subject (`sub`), as Apple's push
   * service answers a contact it will not take (403 `BadJwtToken`); `allowSubject` takes it back.
   */
  refuseSubject(subject: string, status?: 401 | 403): void;
  allowSubject(subject: string): void;
  /** Live view; empty when `record: false`. */
  received(): readonly ReceivedMessage[];
  receivedFor(id: string): readonly ReceivedMessage[];
  counters(): Counters;
  /** Forget received messages, counters and scripts. */
  reset(): void;
  close(): Promise<void>;
}

/** RFC 8030 §7.2 / RFC 8291 §4: a push service may refuse more, and real ones do. */
const MAX_BODY_BYTES = 4096;
const URGENCIES = new Set(['very-low', 'low', 'normal', 'high']);
const TOPIC_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const PUSH_PREFIX = '/push/';
const NO_HEADERS: Readonly<Record<string, string>> = {};

interface Script {
  answers: ScriptedAnswer[];
  next: number;
  sticky: boolean;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  text: string;
  delayMs: number;
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
}

export async function startLocalPushService(opts: LocalPushServiceOptions = {}): Promise<LocalPushService> {
  const seed = opts.seed ?? DEFAULT_SEED;
  const decrypt = opts.decrypt ?? true;
  const record = opts.record ?? true;

  const certificate = await createLocalCertificate('push');
  const caPem = certificate.certPem;
  const caFile = certificate.caFile;

  const verifier = createVapidVerifier();
  const scripts = new Map<string, Script>();
  /** Subjects refused with a status (`refuseSubject`): a contact the service will not take. */
  const refusedSubjects = new Map<string, number>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let received: ReceivedMessage[] = [];
  let receivedById = new Map<string, ReceivedMessage[]>();
  let counters = freshCounters();
  let messageSeq = 0;
  let closing: Promise<void> | undefined;

  const server = createSecureServer({
    allowHTTP1: true,
    key: certificate.keyPem,
    cert: certificate.certPem,
    // What FCM advertises; a sender that ignores the peer's limit should fail here, not in production.
    settings: { maxConcurrentStreams: opts.maxConcurrentStreams ?? 100 },
  });

  const takeScripted = (id: string): ScriptedAnswer | undefined => {
    const script = scripts.get(id);
    if (script === undefined) return undefined;
    const answer = script.answers[script.next];
    if (answer !== undefined) {
      script.next++;
      if (script.next >= script.answers.length && !script.sticky) scripts.delete(id);
      return answer;
    }
    return script.sticky ? script.answers[script.answers.length - 1] : undefined;
  };

  const count = (status: number): void => {
    counters.byStatus[status] = (counters.byStatus[status] ?? 0) + 1;
  };

  const evaluatePush = (req: Incoming, id: string, bytes: number, body: Buffer | undefined): Answer => {
    const at = Date.now();
    const origin = `https://${req.authority}`;
    const vapid = verifier.check(headerValue(req.headers['authorization']), origin, at);
    const ttl = parseTtl(headerValue(req.headers['ttl']));
    const urgency = headerValue(req.headers['urgency']) ?? null;
    const topic = headerValue(req.headers['topic']) ?? null;
    const encoding = headerValue(req.headers['content-encoding'])?.trim().toLowerCase();

    let answer: Answer | undefined;
    let plaintext: string | undefined;
    let decryptError: string | undefined;
    const fail = (status: number, text: string): Answer => ({ status, headers: NO_HEADERS, text, delayMs: 0 });

    const refusedStatus = vapid.sub === undefined ? undefined : refusedSubjects.get(vapid.sub);
    if (!vapid.valid) {
      counters.vapidInvalid++;
      answer = fail(401, `VAPID: ${vapid.error ?? 'invalid'}`);
    } else if (refusedStatus !== undefined) {
      answer = fail(refusedStatus, '{"reason":"BadJwtToken"}');
    } else if (ttl === undefined) {
      answer = fail(400, 'TTL header is required');
    } else if (Number.isNaN(ttl)) {
      answer = fail(400, 'TTL must be a non-negative integer');
    } else if (urgency !== null && !URGENCIES.has(urgency)) {
      answer = fail(400, `Urgency must be one of ${[...URGENCIES].join(', ')}`);
    } else if (topic !== null && !TOPIC_PATTERN.test(topic)) {
      answer = fail(400, 'Topic must be 1-32 URL-safe base64 characters');
    } else if (bytes > MAX_BODY_BYTES) {
      answer = fail(413, `body of ${bytes} bytes exceeds ${MAX_BODY_BYTES}`);
    } else if (bytes > 0 && encoding !== 'aes128gcm') {
      answer = fail(400, 'Content-Encoding: aes128gcm is required for a payload');
    } else if (decrypt) {
      if (body === undefined || bytes === 0) {
        plaintext = '';
      } else {
        try {
          plaintext = decryptPushBody(seed, id, body);
        } catch (e) {
          decryptError = e instanceof Error ? e.message : String(e);
          counters.decryptFailed++;
          answer = fail(400, `decryption failed: ${decryptError}`);
        }
      }
    }

    if (answer === undefined) {
      const scripted = takeScripted(id) ?? { status: 201 };
      const headers: Record<string, string> = {};
      if (scripted.status >= 200 && scripted.status < 300) {
        // RFC 8030 §5: the push message resource.
        headers['location'] = `${origin}/message/${(++messageSeq).toString(36)}`;
      }
      if (scripted.retryAfterSeconds !== undefined) headers['retry-after'] = String(scripted.retryAfterSeconds);
      answer = { status: scripted.status, headers, text: '', delayMs: scripted.delayMs ?? 0 };
    }

    count(answer.status);
    if (record) {
      const message: ReceivedMessage = {
        endpoint: `${origin}${PUSH_PREFIX}${id}`,
        id,
        status: answer.status,
        httpVersion: req.httpVersion,
        ttl: ttl === undefined || Number.isNaN(ttl) ? null : ttl,
        urgency,
        topic,
        vapid,
        bodyBytes: bytes,
        at,
      };
      if (plaintext !== undefined) message.plaintext = plaintext;
      if (decryptError !== undefined) message.decryptError = decryptError;
      received.push(message);
      let forId = receivedById.get(id);
      if (forId === undefined) receivedById.set(id, (forId = []));
      forId.push(message);
    }
    return answer;
  };

  const latencyMs = opts.latencyMs ?? 0;
  const send = (req: Incoming, answer: Answer): void => {
    const delayMs = answer.delayMs + latencyMs;
    if (delayMs <= 0) {
      req.respond(answer.status, answer.headers, answer.text);
      return;
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      req.respond(answer.status, answer.headers, answer.text);
    }, delayMs);
    timers.add(timer);
  };

  const handleControl = (req: Incoming): void => {
    const path = req.path;
    if (req.method === 'GET' && path === '/__counters') {
      req.body.resume();
      req.respond(200, { 'content-type': 'application/json' }, JSON.stringify(service.counters()));
    } else if (req.method === 'POST' && path === '/__reset') {
      req.body.resume();
      service.reset();
      req.respond(204, NO_HEADERS, '');
    } else if (req.method === 'POST' && path.startsWith('/__script/')) {
      // Lets a benchmark that runs the service in another process script answers too.
      readBody(req.body, true, 64 * 1024, (_bytes, body) => {
        try {
          const { answers, sticky } = JSON.parse(body?.toString('utf8') ?? '') as {
            answers: ScriptedAnswer[];
            sticky?: boolean;
          };
          service.script(decodeURIComponent(path.slice('/__script/'.length)), answers, { sticky: sticky === true });
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

    const path = stripQuery(req.path);
    const id = path.startsWith(PUSH_PREFIX) ? path.slice(PUSH_PREFIX.length) : undefined;
    if (id === undefined || !isValidSubscriptionId(id)) {
      req.body.resume();
      count(404);
      req.respond(404, NO_HEADERS, 'no such subscription');
      return;
    }
    if (req.method !== 'POST') {
      req.body.resume();
      count(405);
      req.respond(405, { allow: 'POST' }, 'POST only');
      return;
    }
    readBody(req.body, decrypt, MAX_BODY_BYTES, (bytes, body) => send(req, evaluatePush(req, id, bytes, body)));
  };

  // Raw streams rather than the compatibility API for HTTP/2: it is the hot path of the benchmark.
  // Adding a 'request' listener (needed for HTTP/1.1 fallback) installs the compatibility layer's own
  // 'stream' listener, which would answer every HTTP/2 stream a second time, so it is removed.
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    res.on('error', noop);
    handle({
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      authority: req.headers.host ?? '',
      headers: req.headers,
      httpVersion: req.httpVersion === '2.0' ? '2.0' : '1.1',
      body: req,
      respond: (status, headers, text) => {
        if (res.destroyed) return;
        res.writeHead(status, text === '' ? headers : { ...headers, 'content-type': contentType(headers) });
        res.end(text);
      },
    });
  });
  for (const listener of server.listeners('stream')) server.removeListener('stream', listener as () => void);
  const streamsBySession = new WeakMap<object, number>();
  server.on('session', () => {
    counters.sessions++;
  });
  server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
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
        if (stream.destroyed || stream.closed) return;
        const all: Record<string, string | number> = { ':status': status, ...responseHeaders };
        if (text === '') {
          stream.respond(all, { endStream: true });
        } else {
          all['content-type'] = contentType(responseHeaders);
          stream.respond(all);
          stream.end(text);
        }
      },
    });
  });
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
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const service: LocalPushService = {
    origin,
    caPem,
    caFile,
    subscription: (id) => deriveSubscription(origin, id, seed),
    refuseSubject(subject, status = 403) {
      refusedSubjects.set(subject, status);
    },
    allowSubject(subject) {
      refusedSubjects.delete(subject);
    },
    script(id, answers, scriptOpts) {
      if (answers.length === 0) {
        scripts.delete(id);
        return;
      }
      scripts.set(id, { answers: [...answers], next: 0, sticky: scriptOpts?.sticky === true });
    },
    received: () => received,
    receivedFor: (id) => receivedById.get(id) ?? [],
    counters: () => ({ ...counters, byStatus: { ...counters.byStatus } }),
    reset() {
      received = [];
      receivedById = new Map();
      counters = freshCounters();
      scripts.clear();
    },
    close() {
      closing ??= (async () => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // server.close() waits for idle keep-alive connections and HTTP/2 sessions; nobody wants to.
        for (const socket of sockets) socket.destroy();
        await closed;
        await certificate.remove();
      })();
      return closing;
    },
  };
  return service;
}

function freshCounters(): Counters {
  return { requests: 0, byStatus: {}, vapidInvalid: 0, decryptFailed: 0, http1: 0, http2: 0, sessions: 0, goaways: 0 };
}

/**
 * Counts every byte but keeps at most `limit` + 1 of them, and only when `keep`: with decryption off,
 * the body is never looked at, and an oversized one is answered 413 without being buffered.
 */
function readBody(
  source: Readable,
  keep: boolean,
  limit: number,
  done: (bytes: number, body: Buffer | undefined) => void,
): void {
  let bytes = 0;
  const chunks: Buffer[] = [];
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    if (keep && bytes <= limit) chunks.push(chunk);
  });
  source.once('end', () => done(bytes, keep && bytes <= limit ? Buffer.concat(chunks, bytes) : undefined));
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** undefined: missing; NaN: present but not a non-negative integer. */
function parseTtl(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return /^\d{1,10}$/.test(trimmed) ? Number(trimmed) : Number.NaN;
}

function stripQuery(path: string): string {
  const q = path.indexOf('?');
  return q < 0 ? path : path.slice(0, q);
}

function contentType(headers: Readonly<Record<string, string>>): string {
  return headers['content-type'] ?? 'text/plain; charset=utf-8';
}

function noop(): void {}
