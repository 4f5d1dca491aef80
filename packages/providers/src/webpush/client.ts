import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { checkPushEndpoint, type SendOutcome } from '@pushcast/domain';
import { Aes128gcmEncrypter, SubscriptionKeyError } from './aes128gcm.ts';
import { CLIENT_CLOSED, PushOrigin } from './push-origin.ts';
import { MAX_WEB_PUSH_PLAINTEXT, webPushHeaders, webPushPayload, type WebPushNotification } from './payload.ts';
import type { ProviderObserver } from '../observer.ts';
import { outcomeForError, outcomeForStatus } from './response.ts';
import { Permits } from '../permits.ts';
import { VapidCache, VapidKeyError, type VapidSender } from './vapid-cache.ts';

export interface WebPushTarget {
  subscriptionId: number;
  endpoint: string;
  /** The subscriber's P-256 public key, base64url (standard base64 is accepted too). */
  p256dh: string;
  /** The subscriber's 16-byte auth secret, base64url. */
  auth: string;
  /**
   * This recipient's open-tracking token, sent as the payload's `open_token` in place of the
   * notification's `openToken` (ignored for an `exact` payload). The payload's other bytes are
   * built once per `send`, so a batch of recipients with their own tokens costs one JSON encoding.
   */
  openToken?: string | null;
}

/** Told of each recipient's outcome as it arrives (`index` into the batch given to `send`). */
export type WebPushOutcomeSink = (index: number, outcome: SendOutcome) => void;

export type WebPushSender = VapidSender;

export interface WebPushClientOptions {
  /** Hosts besides the public push services that endpoints may point to (`host`, `host:port`, `*.domain`). */
  allowedHosts: readonly string[];
  /** Requests open at once per push service origin, over all concurrent `send` calls. Default 256. */
  maxInFlightPerOrigin?: number;
  /**
   * Connections per origin. Over HTTP/1.1 this caps concurrency; over HTTP/2 one session carries
   * every request, and another is opened only while every open one carries as many streams as its
   * server allows. Default 16.
   */
  connectionsPerOrigin?: number;
  /** Connect timeout, and the longest wait for an answer (HTTP/2: for the whole exchange; HTTP/1.1: for the headers or between body chunks). Default 30,000 ms. */
  timeoutMs?: number;
  /** Trusted in addition to the system roots (tests, a private push service); NODE_EXTRA_CA_CERTS also works. */
  ca?: string | Buffer;
  /** Epoch milliseconds; injectable for tests. */
  now?: () => number;
  /** Told of every request on the wire, per push service origin (metrics). */
  observer?: ProviderObserver;
}

const ENDPOINT_NOT_ALLOWED: SendOutcome = Object.freeze({ kind: 'failed', reason: 'endpoint_not_allowed' });
const PAYLOAD_TOO_LARGE: SendOutcome = Object.freeze({ kind: 'failed', reason: 'payload_too_large' });
const BAD_SUBSCRIPTION_KEYS: SendOutcome = Object.freeze({ kind: 'failed', reason: 'bad_subscription_keys' });
const VAPID_KEYS_INVALID: SendOutcome = Object.freeze({ kind: 'failed', reason: 'vapid_keys_invalid' });

interface Route {
  readonly connections: PushOrigin;
  readonly slots: Permits;
}

/** What every recipient of one `send` shares. */
interface Batch {
  /** The payload; with a recipient's own open token, everything before its `,"open_token":…}`. */
  readonly plaintext: Buffer;
  /** The payload's JSON without open token and without its closing `}`, for recipients with a token of their own. */
  readonly open: Buffer | undefined;
  /** ttl, urgency, topic, content-encoding and content-type (authorization is per origin). */
  readonly headers: Readonly<Record<string, string>>;
  readonly sender: WebPushSender;
  readonly signal: AbortSignal | undefined;
  /** Set when the notification itself cannot be sent, to anyone (a recipient's own token may make it too large alone). */
  readonly refusal: SendOutcome | undefined;
  /** The VAPID header of the last origin: a slice's recipients are mostly at one push service. */
  readonly last: { origin: string; authorization: string };
  /** Rejects the `send` (a programmer error, not an outcome). */
  fail: (error: unknown) => void;
}

type Settle = (index: number, outcome: SendOutcome) => void;

/** An outcome known without a request, handed on after `send` has returned, as one from the network is. */
function later(settle: Settle, i: number, outcome: SendOutcome): void {
  queueMicrotask(() => settle(i, outcome));
}

/**
 * Sends Web Push messages (RFC 8030/8291/8292): the connections to each push service origin
 * (push-origin.ts: a node:http2 session, undici for a push service speaking only HTTP/1.1), kept
 * while in use; one VAPID token per origin and sender; the payload encrypted per
 * recipient with a fresh ECDH key, as RFC 8291 describes. Never retries: every recipient gets an
 * outcome and the pipeline decides.
 */
export class WebPushClient {
  readonly #allowedHosts: readonly string[];
  readonly #maxInFlight: number;
  readonly #connections: number;
  readonly #timeoutMs: number;
  readonly #secureContext: SecureContext | undefined;
  readonly #now: () => number;
  readonly #observer: ProviderObserver | undefined;
  readonly #vapid: VapidCache;
  readonly #encrypter = new Aes128gcmEncrypter();
  readonly #routes = new Map<string, Route>();
  #closed = false;

  constructor(options: WebPushClientOptions) {
    this.#allowedHosts = Object.freeze([...options.allowedHosts]);
    this.#maxInFlight = positiveInteger('maxInFlightPerOrigin', options.maxInFlightPerOrigin ?? 256);
    this.#connections = positiveInteger('connectionsPerOrigin', options.connectionsPerOrigin ?? 16);
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? 30_000);
    // A bare `ca` would replace the system roots and break every real push service. Built once:
    // parsing ~140 root certificates on every TLS connect costs ~15 ms of CPU.
    this.#secureContext = options.ca === undefined ? undefined : createSecureContext({ ca: [...rootCertificates, options.ca] });
    this.#now = options.now ?? Date.now;
    this.#observer = options.observer;
    this.#vapid = new VapidCache({ now: this.#now });
  }

  /**
   * One outcome per target, in order. Rejects only on programmer errors (a closed client, a
   * negative TTL); everything that can happen to one recipient is an outcome.
   */
  async send(
    batch: readonly WebPushTarget[],
    n: WebPushNotification,
    sender: WebPushSender,
    signal?: AbortSignal,
    onOutcome?: WebPushOutcomeSink,
  ): Promise<SendOutcome[]> {
    if (this.#closed) throw new Error('WebPushClient is closed');
    // Built once: only a recipient's open token and the encryption differ per recipient.
    const plaintext = Buffer.from(webPushPayload(n));
    const own = n.exact === undefined && batch.some((t) => t.openToken != null);
    const h = webPushHeaders(n);
    const headers: Record<string, string> = { ttl: h.TTL, urgency: h.Urgency };
    if (h.Topic !== undefined) headers.topic = h.Topic;
    headers['content-encoding'] = 'aes128gcm';
    headers['content-type'] = 'application/octet-stream';
    const shared: Batch = {
      plaintext,
      open: own ? Buffer.from(webPushPayload({ ...n, openToken: null }).slice(0, -1)) : undefined,
      headers,
      sender,
      signal,
      refusal: plaintext.length > MAX_WEB_PUSH_PLAINTEXT ? PAYLOAD_TOO_LARGE : undefined,
      last: { origin: '', authorization: '' },
      fail: () => undefined,
    };
    // Callbacks rather than a promise chain per recipient: 4 promises and 2 async frames fewer per message.
    return new Promise<SendOutcome[]>((resolve, reject) => {
      const outcomes = new Array<SendOutcome>(batch.length);
      let left = batch.length;
      let failed = false;
      shared.fail = (error) => {
        failed = true;
        reject(error as Error);
      };
      const settle: Settle = (i, outcome) => {
        if (failed) return;
        outcomes[i] = outcome;
        try {
          onOutcome?.(i, outcome);
        } catch (error) {
          shared.fail(error);
          return;
        }
        if (--left === 0) resolve(outcomes);
      };
      if (left === 0) resolve(outcomes);
      for (let i = 0; i < batch.length && !failed; i += 1) {
        try {
          this.#sendOne(batch[i]!, shared, i, settle);
        } catch (error) {
          shared.fail(error);
        }
      }
    });
  }

  /** Waits for requests in flight, then closes every connection. */
  async close(): Promise<void> {
    this.#closed = true;
    const origins = [...this.#routes.values()].map((route) => route.connections.close());
    this.#routes.clear();
    await Promise.all(origins);
  }

  /** Sends one recipient; `settle` is called once with its outcome, never synchronously. */
  #sendOne(target: WebPushTarget, batch: Batch, i: number, settle: Settle): void {
    // Endpoints are URLs strangers gave us; the API checked them once, but rules and data change.
    const checked = checkPushEndpoint(target.endpoint, this.#allowedHosts);
    if (!checked.ok) return later(settle, i, ENDPOINT_NOT_ALLOWED);
    const url = checked.value;
    const plaintext = batch.open !== undefined && target.openToken != null ? withOpenToken(batch, target.openToken) : batch.plaintext;
    if (plaintext.length > MAX_WEB_PUSH_PLAINTEXT) return later(settle, i, PAYLOAD_TOO_LARGE);
    if (batch.refusal && plaintext === batch.plaintext) return later(settle, i, batch.refusal);

    const origin = url.origin;
    let authorization: string;
    if (origin === batch.last.origin) authorization = batch.last.authorization;
    else {
      try {
        authorization = this.#vapid.authorization(origin, batch.sender);
      } catch (error) {
        if (error instanceof VapidKeyError) return later(settle, i, VAPID_KEYS_INVALID);
        throw error;
      }
      batch.last.origin = origin;
      batch.last.authorization = authorization;
    }

    if (batch.signal?.aborted) return later(settle, i, this.#aborted());
    const route = this.#route(origin);
    if (!route) return later(settle, i, this.#aborted('client_closed'));
    if (route.slots.tryAcquire()) {
      this.#dispatch(route, url, target, plaintext, batch, authorization, i, settle);
      return;
    }
    // Dispatched by the answer that frees a slot (or told the batch was aborted first).
    route.slots.wait((granted) => {
      if (!granted) settle(i, this.#aborted());
      else {
        try {
          this.#dispatch(route, url, target, plaintext, batch, authorization, i, settle);
        } catch (error) {
          batch.fail(error);
        }
      }
    }, batch.signal);
  }

  /** With a slot of the route: encrypts and posts, then gives the slot back. */
  #dispatch(route: Route, url: URL, target: WebPushTarget, plaintext: Buffer, batch: Batch, authorization: string, i: number, settle: Settle): void {
    if (batch.signal?.aborted) {
      route.slots.release();
      return later(settle, i, this.#aborted());
    }
    // Encrypted only once a slot is free, so a large batch never holds more than
    // maxInFlightPerOrigin ciphertexts at a time.
    let request: EncryptedRequest | undefined;
    try {
      request = this.#encrypt(target, plaintext, batch, authorization);
    } catch (error) {
      route.slots.release();
      throw error;
    }
    if (!request) {
      route.slots.release();
      return later(settle, i, BAD_SUBSCRIPTION_KEYS);
    }
    const answered = this.#observer?.requestStarted(url.origin);
    route.connections.post(url.pathname + url.search, request.headers, request.body, batch.signal, (error, status, retryAfter, aborted) => {
      answered?.();
      route.slots.release();
      let outcome: SendOutcome;
      if (aborted) outcome = this.#aborted();
      else if ((error as { code?: unknown } | undefined)?.code === CLIENT_CLOSED) outcome = this.#aborted('client_closed');
      else if (error !== undefined) outcome = outcomeForError(error, this.#now());
      else outcome = outcomeForStatus(status, retryAfter, this.#now());
      settle(i, outcome);
    });
  }

  #route(origin: string): Route | undefined {
    if (this.#closed) return undefined;
    let route = this.#routes.get(origin);
    if (!route) {
      route = {
        connections: new PushOrigin(origin, { connections: this.#connections, timeoutMs: this.#timeoutMs, secureContext: this.#secureContext }),
        slots: new Permits(this.#maxInFlight),
      };
      this.#routes.set(origin, route);
    }
    return route;
  }

  #aborted(reason = 'aborted'): SendOutcome {
    return { kind: 'retry', notBefore: this.#now(), reason };
  }

  /** The aes128gcm body and RFC 8030 headers for one recipient, or undefined if its keys are unusable. */
  #encrypt(target: WebPushTarget, plaintext: Buffer, batch: Batch, authorization: string): EncryptedRequest | undefined {
    let body: Buffer;
    try {
      body = this.#encrypter.encrypt(target, plaintext);
    } catch (error) {
      // Wrong key length, a point not on P-256, a short auth secret: the subscription is broken.
      if (error instanceof SubscriptionKeyError) return undefined;
      throw error;
    }
    // Names in lower case (HTTP/2); push-origin.ts adds the pseudo-headers and content-length.
    return { headers: { ...batch.headers, authorization }, body };
  }
}

/** The payload with `token` as its last field, `open_token`: the same bytes as webPushPayload({ ...n, openToken: token }). */
function withOpenToken(batch: Batch, token: string): Buffer {
  const open = batch.open!;
  const tail = `,"open_token":${JSON.stringify(token)}}`;
  const out = Buffer.allocUnsafe(open.length + Buffer.byteLength(tail));
  open.copy(out, 0);
  out.write(tail, open.length);
  return out;
}

interface EncryptedRequest {
  readonly headers: Record<string, string | number>;
  readonly body: Buffer;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  return value;
}
