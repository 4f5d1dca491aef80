import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { isIP } from 'node:net';
import tls, { type SecureContext, type TLSSocket } from 'node:tls';
import { Pool, type Dispatcher } from 'undici';
import { leanRequest } from '../http2/lean-request.ts';

/**
 * How one request ended: an HTTP status (`error` undefined), or no answer at all (`status` 0):
 * `aborted` when the caller's signal ended it.
 */
export type PostDone = (error: Error | undefined, status: number, retryAfter: string | string[] | undefined, aborted: boolean) => void;

export interface PushOriginOptions {
  /** Connections to the origin: HTTP/2 sessions opened when the others carry their peer's stream limit; HTTP/1.1 sockets. */
  readonly connections: number;
  /** Connect (TCP + TLS + the server's SETTINGS) and answer timeout: a request unanswered this long is cancelled. */
  readonly timeoutMs: number;
  readonly secureContext: SecureContext | undefined;
  /** An HTTP/2 session with no traffic this long is closed; the next request opens another. */
  readonly idleMs?: number;
}

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;
/** Sends of one request refused unprocessed (REFUSED_STREAM) before it counts as a failure. */
const MAX_ATTEMPTS = 3;
const EXCHANGE = Symbol('webPushExchange');
/** The code of the error a request gets when the client closed before it could be sent. */
export const CLIENT_CLOSED = 'PUSHCAST_CLIENT_CLOSED';
const TIMEOUT = 'WebPushTimeoutError';

interface Exchange {
  readonly owner: PushOrigin;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
  readonly signal: AbortSignal | undefined;
  readonly done: PostDone;
  live: Live | undefined;
  attempts: number;
  startedAt: number;
  status: number;
  retryAfter: string | string[] | undefined;
  error: Error | undefined;
  aborted: boolean;
  onAbort: (() => void) | undefined;
}

type TaggedStream = ClientHttp2Stream & { [EXCHANGE]: Exchange };

/** An HTTP/2 session and what it carries. */
interface Live {
  readonly session: ClientHttp2Session;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (read once its SETTINGS arrived, before any request). */
  readonly limit: number;
  inFlight: number;
  /** The last stream id of the peer's GOAWAY: streams above it were never processed. */
  lastStreamId: number | undefined;
}

/**
 * The connections to one push service origin, as the lean sender of issue 18 talks to it: a
 * `node:http2` session (one, and more only while every open one carries its peer's stream limit,
 * up to `connections`), requests as streams with listeners shared by all of them, one timer for
 * all timeouts. The first connection learns the protocol by ALPN; a push service that does not
 * speak HTTP/2 is reached over HTTP/1.1 through an undici pool of `connections` sockets.
 * - A session is used once the server's SETTINGS arrived: a server allowing fewer streams than
 *   are waiting is never sent more than it allows (the rest wait in nghttp2's queue).
 * - GOAWAY, a session error or close: the session takes no new requests, the ones it accepted
 *   finish on it, the others fail (retries for the pipeline); the next request opens another. A
 *   request that finds its session closing (thrown synchronously) goes once more on a fresh one.
 * - REFUSED_STREAM (the server never processed it, RFC 9113 §8.7) is sent again, up to 3 times.
 */
export class PushOrigin {
  readonly #origin: URL;
  readonly #options: PushOriginOptions;
  readonly #pending = new Set<TaggedStream>();
  readonly #live: Live[] = [];
  #sweep: NodeJS.Timeout | undefined;
  #opening: Promise<Live | 'h1'> | undefined;
  #pool: Pool | undefined;
  #closed = false;

  constructor(origin: string, options: PushOriginOptions) {
    this.#origin = new URL(origin);
    this.#options = options;
  }

  /** POSTs `body` to `path` (`done` called exactly once). */
  post(path: string, headers: OutgoingHttpHeaders, body: Buffer, signal: AbortSignal | undefined, done: PostDone): void {
    if (this.#pool !== undefined) {
      this.#postH1(path, headers, body, signal, done);
      return;
    }
    headers[':method'] = 'POST';
    headers[':path'] = path;
    headers['content-length'] = body.length;
    const exchange: Exchange = {
      owner: this,
      headers,
      body,
      signal,
      done,
      live: undefined,
      attempts: 0,
      startedAt: 0,
      status: 0,
      retryAfter: undefined,
      error: undefined,
      aborted: false,
      onAbort: undefined,
    };
    this.#start(exchange);
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const closing: Promise<unknown>[] = [];
    await this.#opening?.catch(() => undefined);
    // Sessions left after a GOAWAY or an idle timeout may still carry requests: they are waited
    // for too, and the sweep keeps timing those requests out until they have ended.
    const sessions = new Set(this.#live.splice(0).map((live) => live.session));
    for (const stream of this.#pending) sessions.add(stream[EXCHANGE].live!.session);
    for (const session of sessions) {
      if (session.destroyed) continue;
      closing.push(new Promise<void>((resolve) => {
        session.once('close', () => resolve());
        session.close();
      }));
    }
    if (this.#pool) closing.push(this.#pool.close());
    await Promise.all(closing);
    if (this.#sweep) clearInterval(this.#sweep);
  }

  /**
   * @internal called by the streams' shared close listener: the answer, or a failure; a stream the
   * server refused unprocessed goes again.
   */
  settle(stream: TaggedStream): void {
    const e = stream[EXCHANGE];
    this.#pending.delete(stream);
    e.live!.inFlight -= 1;
    if (
      e.status === 0 &&
      !e.aborted &&
      e.error?.name !== TIMEOUT &&
      stream.rstCode === NGHTTP2_REFUSED_STREAM &&
      // Node gives a GOAWAY's error code to every stream it destroys: a GOAWAY carrying
      // REFUSED_STREAM must not make a stream the server may have processed look refused.
      (e.live!.lastStreamId === undefined || stream.id === undefined || stream.id > e.live!.lastStreamId) &&
      e.attempts < MAX_ATTEMPTS &&
      !this.#closed
    ) {
      e.error = undefined;
      this.#start(e);
      return;
    }
    if (e.onAbort) e.signal!.removeEventListener('abort', e.onAbort);
    // The status decides even if the stream broke while its body was arriving.
    if (e.status !== 0) e.done(undefined, e.status, e.retryAfter, false);
    else if (e.aborted) e.done(undefined, 0, undefined, true);
    else e.done(e.error ?? Object.assign(new Error(`stream closed without an answer (code ${stream.rstCode ?? '?'})`), { code: 'ERR_HTTP2_STREAM_CANCEL' }), 0, undefined, false);
  }

  #start(exchange: Exchange): void {
    if (this.#closed) {
      exchange.done(Object.assign(new Error('WebPushClient is closed'), { code: CLIENT_CLOSED }), 0, undefined, false);
      return;
    }
    if (exchange.signal?.aborted) {
      exchange.done(undefined, 0, undefined, true);
      return;
    }
    const live = this.#pick();
    if (live === undefined) {
      void this.#open().then(
        (opened) => {
          if (opened === 'h1') {
            const { headers } = exchange;
            const path = headers[':path'] as string;
            delete headers[':method'];
            delete headers[':path'];
            delete headers['content-length'];
            this.#postH1(path, headers, exchange.body, exchange.signal, exchange.done);
          } else this.#start(exchange);
        },
        (error: Error) => exchange.done(error, 0, undefined, false),
      );
      return;
    }
    let stream: ClientHttp2Stream;
    try {
      stream = leanRequest(live.session, exchange.headers);
    } catch (error) {
      this.#drop(live);
      if (!live.session.closed && !live.session.destroyed) {
        exchange.done(error as Error, 0, undefined, false);
        return;
      }
      // The session went away under this request (GOAWAY, closing): once more on a new one.
      if (exchange.attempts < MAX_ATTEMPTS) {
        exchange.attempts += 1;
        this.#start(exchange);
      } else exchange.done(error as Error, 0, undefined, false);
      return;
    }
    exchange.attempts += 1;
    exchange.live = live;
    live.inFlight += 1;
    exchange.startedAt = performance.now();
    const tagged = stream as TaggedStream;
    tagged[EXCHANGE] = exchange;
    this.#pending.add(tagged);
    if (exchange.signal && !exchange.onAbort) {
      exchange.onAbort = () => {
        exchange.aborted = true;
        for (const s of this.#pending) if (s[EXCHANGE] === exchange) s.close(NGHTTP2_CANCEL);
      };
      exchange.signal.addEventListener('abort', exchange.onAbort, { once: true });
    }
    stream.on('response', onResponse);
    stream.on('error', onError);
    stream.once('close', onClose);
    // Unread bodies would hold the stream's flow-control window.
    stream.resume();
    stream.end(exchange.body);
  }

  /** The least busy usable session, unless all carry their limit and another may be opened. */
  #pick(): Live | undefined {
    let best: Live | undefined;
    for (const live of this.#live) if (best === undefined || live.inFlight < best.inFlight) best = live;
    if (best !== undefined && (best.inFlight < best.limit || this.#live.length + (this.#opening ? 1 : 0) >= this.#options.connections)) return best;
    return undefined;
  }

  /** One connection at a time; requests arriving meanwhile wait for it. */
  #open(): Promise<Live | 'h1'> {
    this.#opening ??= this.#connect().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  #connect(): Promise<Live | 'h1'> {
    const { hostname, port } = this.#origin;
    const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    const timeoutMs = this.#options.timeoutMs;
    // A plain-http push service (allowed only on hosts the operator lists): no TLS, so no ALPN to
    // offer HTTP/2 with; HTTP/1.1 as web-push's own client speaks it there.
    if (this.#origin.protocol === 'http:') {
      this.#pool ??= this.#h1Pool();
      return Promise.resolve('h1');
    }
    return new Promise((resolve, reject) => {
      const socket: TLSSocket = tls.connect({
        host,
        port: Number(port || 443),
        ALPNProtocols: ['h2', 'http/1.1'],
        ...(isIP(host) ? {} : { servername: host }),
        ...(this.#options.secureContext ? { secureContext: this.#options.secureContext } : {}),
      });
      const fail = (error: Error) => {
        clearTimeout(timer);
        socket.destroy();
        reject(error);
      };
      const timer = setTimeout(
        () => fail(Object.assign(new Error(`no connection to ${this.#origin.origin} within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })),
        timeoutMs,
      );
      socket.once('error', fail);
      socket.once('secureConnect', () => {
        socket.off('error', fail);
        if (socket.alpnProtocol !== 'h2') {
          clearTimeout(timer);
          socket.destroy();
          if (this.#closed) {
            reject(Object.assign(new Error('WebPushClient is closed'), { code: CLIENT_CLOSED }));
            return;
          }
          this.#pool ??= this.#h1Pool();
          resolve('h1');
          return;
        }
        const session = http2.connect(this.#origin.origin, { createConnection: () => socket });
        const early = (error?: Error) => fail(error ?? Object.assign(new Error('HTTP/2 session closed before its SETTINGS'), { code: 'ECONNRESET' }));
        session.once('error', early);
        session.once('close', early);
        session.once('remoteSettings', (settings) => {
          clearTimeout(timer);
          session.off('error', early);
          session.off('close', early);
          const live: Live = { session, limit: settings.maxConcurrentStreams ?? 100, inFlight: 0, lastStreamId: undefined };
          this.#adopt(live);
          resolve(live);
        });
      });
    });
  }

  #h1Pool(): Pool {
    const timeoutMs = this.#options.timeoutMs;
    return new Pool(this.#origin.origin, {
      connections: this.#options.connections,
      // HTTP/1.1 pipelining is unsafe for POSTs.
      pipelining: 1,
      connectTimeout: timeoutMs,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      ...(this.#options.secureContext && this.#origin.protocol === 'https:' ? { connect: { secureContext: this.#options.secureContext } } : {}),
    });
  }

  #adopt(live: Live): void {
    const { session } = live;
    if (this.#closed) {
      session.on('error', () => {});
      session.close();
      return;
    }
    this.#live.push(live);
    const drop = () => this.#drop(live);
    // Each stream reports its own failure; the session's error only means "open another".
    session.on('error', drop);
    session.on('goaway', (_code: number, lastStreamId: number) => {
      live.lastStreamId = lastStreamId;
      drop();
    });
    session.once('close', drop);
    session.setTimeout(this.#options.idleMs ?? 60_000, () => {
      drop();
      session.close();
    });
    if (this.#sweep === undefined) {
      // One timer for all requests instead of one per stream.
      this.#sweep = setInterval(() => this.#cancelOverdue(), Math.max(10, Math.min(1000, this.#options.timeoutMs / 4)));
      this.#sweep.unref();
    }
  }

  #drop(live: Live): void {
    const i = this.#live.indexOf(live);
    if (i >= 0) this.#live.splice(i, 1);
  }

  #cancelOverdue(): void {
    const cutoff = performance.now() - this.#options.timeoutMs;
    // Insertion order is start order: the oldest come first.
    for (const stream of this.#pending) {
      const exchange = stream[EXCHANGE];
      if (exchange.startedAt > cutoff) break;
      exchange.error = Object.assign(new Error(`no answer within ${this.#options.timeoutMs} ms`), { name: TIMEOUT, code: 'ETIMEDOUT' });
      stream.close(NGHTTP2_CANCEL);
    }
  }

  #postH1(path: string, headers: OutgoingHttpHeaders, body: Buffer, signal: AbortSignal | undefined, done: PostDone): void {
    this.#pool!.request({ path, method: 'POST', headers: headers as Record<string, string>, body, ...(signal ? { signal } : {}) }).then(
      async (response: Dispatcher.ResponseData) => {
        try {
          // An unread body keeps the connection busy.
          await response.body.dump();
        } catch {
          // The status is what counts; a body cut short changes nothing.
        }
        done(undefined, response.statusCode, response.headers['retry-after'], false);
      },
      (error: Error) => done(signal?.aborted ? undefined : error, 0, undefined, signal?.aborted === true),
    );
  }
}

function onResponse(this: TaggedStream, headers: IncomingHttpHeaders): void {
  const exchange = this[EXCHANGE];
  exchange.status = Number(headers[':status']);
  if (exchange.status >= 300) exchange.retryAfter = headers['retry-after'];
}

function onError(this: TaggedStream, error: Error): void {
  this[EXCHANGE].error ??= error;
}

function onClose(this: TaggedStream): void {
  this[EXCHANGE].owner.settle(this);
}
