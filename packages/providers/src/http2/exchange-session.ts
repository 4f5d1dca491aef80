import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { leanRequest } from './lean-request.ts';

/** How one request ended: an HTTP answer (`error` undefined), or no answer at all. */
export type ExchangeDone = (error: Error | undefined, status: number, retryAfter: string | undefined, body: string | undefined) => void;

export interface ExchangeSessionOptions {
  /** Where requests go, e.g. https://fcm.googleapis.com (a local server may be reached under that name, see fcm/local-endpoint.ts). */
  readonly origin: string;
  /** The service's name in error messages ("no answer from APNs within …"). */
  readonly peer: string;
  /** A request unanswered after this long is cancelled and reported as a timeout. Default 15 s (firebase-admin's). */
  readonly timeoutMs?: number;
  /** A session with no traffic for this long is closed; the next request opens another. */
  readonly idleMs?: number;
  /** Streams assumed allowed until the peer's SETTINGS say (default 100). */
  readonly peerMaxConcurrentStreams?: number;
  /** PEM trusted besides the system roots (a local server in tests). */
  readonly ca?: string | undefined;
  /**
   * Connections opened to the origin, requests taking them in turn (default 1). Each has its own
   * flow-control window for request bodies, so that bodies are not held to one connection's.
   */
  readonly connections?: number;
}

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM, NGHTTP2_REFUSED_STREAM } = http2.constants;
/** Sends of one request refused unprocessed (REFUSED_STREAM) before it counts as a failure. */
const MAX_ATTEMPTS = 3;
const EXCHANGE = Symbol('exchange');
const TIMEOUT = 'ExchangeTimeoutError';

interface Exchange {
  readonly owner: ExchangeSession;
  readonly headers: OutgoingHttpHeaders;
  readonly body: string | Buffer;
  attempts: number;
  readonly done: ExchangeDone;
  startedAt: number;
  status: number;
  retryAfter: string | undefined;
  /** Only an error answer's body is kept: a 200's (FCM's message name, APNs' nothing) is never read. */
  chunks: Buffer[] | undefined;
  error: Error | undefined;
}

type TaggedStream = ClientHttp2Stream & { [EXCHANGE]: Exchange };

/**
 * Long-lived HTTP/2 sessions to a push service (FCM: one; APNs: a few, that requests take in turn)
 * carrying every request of a credential as concurrent streams, each a request body out and a
 * status, `retry-after` and (for an error) a body back, at as little cost per request as Node's
 * HTTP/2 allows: where firebase-admin's `sendEach` opens a session (TCP + TLS handshake) per call
 * of 500, and node-apn binds a promise, a timer, a string decoder and five listeners to every
 * stream.
 * - GOAWAY: the session stops taking requests at once; streams it had accepted finish on it, the
 *   ones above its last stream id fail (the service never saw them) and the caller retries them;
 *   the next request opens a new session.
 * - A session error or close drops it the same way; a request that finds its session closing
 *   (`ERR_HTTP2_GOAWAY_SESSION`, thrown synchronously) goes once more on a fresh one.
 * - More requests than the peer's SETTINGS_MAX_CONCURRENT_STREAMS wait in nghttp2's queue; the
 *   caller bounds what it starts (the clients' permits).
 * Listeners are shared functions reading the stream's own state, not closures per request.
 */
export class ExchangeSession {
  readonly #origin: string;
  readonly #peer: string;
  readonly #timeoutMs: number;
  readonly #idleMs: number;
  readonly #connectOptions: http2.SecureClientSessionOptions;
  readonly #pending = new Set<TaggedStream>();
  readonly #sweep: NodeJS.Timeout;
  /** One slot per connection; an empty slot opens its session at its next request. */
  readonly #sessions: (ClientHttp2Session | undefined)[];
  #turn = 0;
  #closed = false;
  /** Sessions opened, for tests and metrics. */
  opened = 0;

  constructor(options: ExchangeSessionOptions) {
    this.#origin = options.origin;
    this.#peer = options.peer;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
    this.#idleMs = options.idleMs ?? 60_000;
    this.#connectOptions = { peerMaxConcurrentStreams: options.peerMaxConcurrentStreams ?? 100, ...(options.ca ? { ca: options.ca } : {}) };
    this.#sessions = new Array<ClientHttp2Session | undefined>(Math.max(1, options.connections ?? 1)).fill(undefined);
    // One timer for all requests instead of one per stream.
    this.#sweep = setInterval(() => this.#cancelOverdue(), Math.max(10, Math.min(1000, this.#timeoutMs / 4)));
    this.#sweep.unref();
  }

  /** POSTs `body` on the current session (opened if need be); `done` is called exactly once. */
  post(headers: OutgoingHttpHeaders, body: string | Buffer, done: ExchangeDone): void {
    this.#start({ owner: this, headers, body, attempts: 0, done, startedAt: 0, status: 0, retryAfter: undefined, chunks: undefined, error: undefined });
  }

  /**
   * A stream the server refused unprocessed (REFUSED_STREAM: above a GOAWAY's last stream id, or
   * beyond its SETTINGS_MAX_CONCURRENT_STREAMS before the client knew them) is safe to send again
   * (RFC 9113 §8.7): it goes again, on a new session if this one is going away.
   * @internal called by the streams' shared close listener.
   */
  settle(stream: TaggedStream): void {
    const e = stream[EXCHANGE];
    this.#pending.delete(stream);
    if (e.status === 0 && e.error?.name !== TIMEOUT && stream.rstCode === NGHTTP2_REFUSED_STREAM && e.attempts < MAX_ATTEMPTS && !this.#closed) {
      e.error = undefined;
      this.#start(e);
      return;
    }
    // An answer's status decides, even if the stream broke while its body was arriving: FCM answers
    // once it has accepted or refused the message.
    if (e.status !== 0) {
      e.done(undefined, e.status, e.retryAfter, e.chunks === undefined ? undefined : Buffer.concat(e.chunks).toString('utf8'));
      return;
    }
    e.done(e.error ?? new Error(`stream closed without an answer (code ${stream.rstCode ?? '?'})`), 0, undefined, undefined);
  }

  #start(exchange: Exchange): void {
    if (this.#closed) {
      exchange.done(new Error(`the session to ${this.#peer} is closed`), 0, undefined, undefined);
      return;
    }
    let stream: ClientHttp2Stream;
    let session = this.#current();
    try {
      stream = leanRequest(session, exchange.headers);
    } catch (error) {
      if (!session.closed && !session.destroyed) {
        exchange.done(error as Error, 0, undefined, undefined);
        return;
      }
      // The session went away under this request (GOAWAY, closing): once more on a new one.
      this.#forget(session);
      try {
        session = this.#current();
        stream = leanRequest(session, exchange.headers);
      } catch (again) {
        exchange.done(again as Error, 0, undefined, undefined);
        return;
      }
    }
    exchange.attempts += 1;
    exchange.startedAt = performance.now();
    const tagged = stream as TaggedStream;
    tagged[EXCHANGE] = exchange;
    this.#pending.add(tagged);
    stream.on('response', onResponse);
    stream.on('error', onError);
    // 'close' comes once: `on` spares the wrapper `once` makes per request.
    stream.on('close', onClose);
    stream.end(exchange.body);
  }

  /** Requests in flight on every session of this client. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Fails what is in flight (the caller retries it) and closes the sessions. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweep);
    const open = this.#sessions.filter((s): s is ClientHttp2Session => s !== undefined && !s.destroyed);
    this.#sessions.fill(undefined);
    await Promise.all(
      open.map(
        (session) =>
          new Promise<void>((resolve) => {
            session.once('close', () => resolve());
            session.destroy();
          }),
      ),
    );
  }

  /** The session whose turn it is, opened if its slot is empty or its session is going away. */
  #current(): ClientHttp2Session {
    const slot = this.#turn;
    this.#turn = slot + 1 === this.#sessions.length ? 0 : slot + 1;
    const existing = this.#sessions[slot];
    if (existing !== undefined && !existing.closed && !existing.destroyed) return existing;
    // Through the module object, so that redirectFcmTo (tests, the demo, the benchmark) applies here too.
    const session = http2.connect(this.#origin, this.#connectOptions);
    this.opened += 1;
    this.#sessions[slot] = session;
    const drop = () => this.#forget(session);
    // Each stream reports its own failure; the session's error only means "open another".
    session.on('error', drop);
    session.on('goaway', drop);
    session.once('close', drop);
    session.setTimeout(this.#idleMs, () => {
      drop();
      session.close();
    });
    return session;
  }

  #forget(session: ClientHttp2Session): void {
    const slot = this.#sessions.indexOf(session);
    if (slot !== -1) this.#sessions[slot] = undefined;
  }

  #cancelOverdue(): void {
    const cutoff = performance.now() - this.#timeoutMs;
    // Insertion order is start order: the oldest come first.
    for (const stream of this.#pending) {
      const exchange = stream[EXCHANGE];
      if (exchange.startedAt > cutoff) break;
      this.#pending.delete(stream);
      exchange.error ??= Object.assign(new Error(`no answer from ${this.#peer} within ${this.#timeoutMs} ms`), { name: TIMEOUT, code: 'ETIMEDOUT' });
      stream.close(NGHTTP2_CANCEL);
    }
  }
}

/**
 * A response that has a body is read (kept for an error, dropped for a 200); one whose HEADERS
 * frame ended the stream (APNs' 200s) is not: with nothing to read, Node ends and closes the stream
 * by itself, and a reader would only put it in flowing mode for nothing (a `resume` and its tick).
 */
function onResponse(this: TaggedStream, headers: IncomingHttpHeaders, flags: number): void {
  const exchange = this[EXCHANGE];
  exchange.status = Number(headers[':status']);
  if (exchange.status !== 200) {
    exchange.chunks = [];
    const retryAfter = headers['retry-after'];
    exchange.retryAfter = Array.isArray(retryAfter) ? retryAfter[0] : retryAfter;
  }
  if ((flags & NGHTTP2_FLAG_END_STREAM) === 0) this.on('data', onData);
}

function onData(this: TaggedStream, chunk: Buffer): void {
  this[EXCHANGE].chunks?.push(chunk);
}

function onError(this: TaggedStream, error: Error): void {
  this[EXCHANGE].error ??= error;
}

function onClose(this: TaggedStream): void {
  this[EXCHANGE].owner.settle(this);
}
