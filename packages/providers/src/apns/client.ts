import { createPrivateKey } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http2';
import apn from '@parse/node-apn';
import type { ApnsCredentials, SendOutcome } from '@pushcast/domain';
import { ExchangeSession } from '../http2/exchange-session.ts';
import { postEach } from '../http2/post-each.ts';
import { Permits } from '../permits.ts';
import type { ProviderObserver } from '../observer.ts';
import type { ApnsMessage } from './payload.ts';
import type { ApnsProviderTokens, ApnsSigningKey } from './provider-token.ts';
import { apnsOutcome, type ApnsFailure } from './response.ts';

export interface ApnsTarget {
  readonly subscriptionId: number;
  /** Hex device token. */
  readonly token: string;
}

export interface ApnsClientOptions {
  readonly credentials: ApnsCredentials;
  readonly tokens: ApnsProviderTokens;
  /** Requests in flight at once on this client's HTTP/2 sessions, over all concurrent `send` calls. */
  readonly maxInFlight: number;
  /**
   * HTTP/2 connections to APNs, taken in turn by the requests (default 1). Apple: "If you're
   * sending many remote notifications, you can establish multiple connections to these servers to
   * improve performance". Each connection's flow-control window bounds the bodies in flight on it.
   */
  readonly connections?: number;
  /** `https://host:port` instead of Apple's host (a local APNs server). */
  readonly url?: string | undefined;
  /** Trusted besides the system roots (tests); NODE_EXTRA_CA_CERTS also works. */
  readonly ca?: string | undefined;
  /** Per request. Default 10,000 ms. */
  readonly requestTimeoutMs?: number;
  readonly now?: () => number;
  /** Told of every request on the wire, under the APNs origin it goes to (metrics). */
  readonly observer?: ProviderObserver | undefined;
}

/** The outcome reason of a 403 ExpiredProviderToken (apnsOutcome). */
const EXPIRED_TOKEN = 'apns_ExpiredProviderToken';

/** The headers and body of one notification, built by node-apn; only `:path` differs per device. */
interface Built {
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/**
 * APNs with @parse/node-apn for the notification (its headers and JSON payload, built once per
 * slice) and Pushcast's own long-lived HTTP/2 session per credential for the requests
 * (../http2/exchange-session.ts, the FCM client's too). node-apn's transport was wrapped until
 * 2026-12-06 and is no longer used, because it is wrong for a broadcast service where it matters:
 * - `provider.send` starts every token at once (20k at once fail with ENHANCE_YOUR_CALM);
 * - it retries 429/5xx itself and reads `Retry-After` under a name HTTP/2 never sends;
 * - it destroys its HTTP/2 session when APNs answers a 500, losing every answer in flight on it;
 * - it mints its own provider token per process (TooManyProviderTokenUpdates when scaled out);
 * - per request it builds a promise, a timer, a string decoder, five listeners and a dozen objects,
 *   and Node's `session.request()` two `util.deprecate` wrappers: the worker spent a quarter of its
 *   time in GC (docs/benchmarks.md, "APNs over Pushcast's own HTTP/2 session").
 * Here each token waits for one of `maxInFlight` permits, shared by every chunk using this
 * credential; every answer is an outcome (429/5xx with `retry-after`, for the pipeline to retry
 * just those tokens); the provider token comes from `tokens`, shared by every worker.
 */
export class ApnsClient {
  readonly #session: ExchangeSession;
  readonly #permits: Permits;
  readonly #tokens: ApnsProviderTokens;
  readonly #key: ApnsSigningKey;
  readonly #topic: string;
  readonly #now: () => number;
  readonly #observer: ProviderObserver | undefined;
  /** Where requests go: Apple's production or sandbox host, or the local server of `url`. */
  readonly #origin: string;
  #closed = false;

  constructor(options: ApnsClientOptions) {
    const { credentials } = options;
    const url = options.url === undefined ? undefined : new URL(options.url);
    this.#origin = url ? url.origin : `https://${credentials.production ? 'api.push.apple.com' : 'api.sandbox.push.apple.com'}`;
    this.#observer = options.observer;
    this.#session = new ExchangeSession({
      origin: this.#origin,
      peer: 'APNs',
      timeoutMs: options.requestTimeoutMs ?? 10_000,
      // Apple allows 1,000 streams a connection; until its SETTINGS arrive, as many as the permits.
      peerMaxConcurrentStreams: options.maxInFlight,
      ca: options.ca,
      connections: options.connections ?? 1,
    });
    this.#permits = new Permits(options.maxInFlight);
    this.#tokens = options.tokens;
    this.#key = {
      // Apple counts token updates per key: projects sharing a .p8 key share its token.
      id: `${credentials.teamId}.${credentials.keyId}`,
      keyId: credentials.keyId,
      teamId: credentials.teamId,
      privateKey: createPrivateKey(credentials.keyPem),
    };
    this.#topic = credentials.topic;
    this.#now = options.now ?? Date.now;
  }

  /**
   * One outcome per target, in order. Rejects only when the client is closed. `onOutcome` hears
   * each target's outcome as soon as it is known (by its index), before the whole batch is.
   */
  async send(
    targets: readonly ApnsTarget[],
    message: ApnsMessage,
    onOutcome?: (index: number, outcome: SendOutcome) => void,
  ): Promise<SendOutcome[]> {
    if (this.#closed) throw new Error('ApnsClient is closed');
    const outcomes = new Array<SendOutcome>(targets.length);
    if (targets.length === 0) return outcomes;
    // Outcomes arrive in stream events, where a throw would be uncaught: the first is rethrown at the end.
    let listenerError: { error: unknown } | undefined;
    const providerToken = await this.#tokens.current(this.#key);
    const built = this.#build(message, providerToken);
    // Told once per slice, at the first answer that says so; awaited before the outcomes are returned.
    let tokenRejected: Promise<void> | undefined;
    await new Promise<void>((resolve) => {
      let left = targets.length;
      const answered = (i: number, outcome: SendOutcome) => {
        outcomes[i] = outcome;
        if (tokenRejected === undefined && outcome.kind === 'retry' && outcome.reason === EXPIRED_TOKEN) {
          // A failure to tell the shared store only delays the new token; these recipients are retried anyway.
          tokenRejected = this.#tokens.rejected(this.#key, providerToken).catch(() => {});
        }
        try {
          onOutcome?.(i, outcome);
        } catch (error) {
          listenerError ??= { error };
        }
        if (--left === 0) resolve();
      };
      this.#sendAll(targets, built, answered);
    });
    await tokenRejected;
    if (listenerError !== undefined) throw listenerError.error;
    return outcomes;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#session.close();
  }

  /** The request as node-apn's `provider.send` builds it, once for every token of the slice. */
  #build(message: ApnsMessage, providerToken: string): Built {
    const note = new apn.Notification({
      rawPayload: message.payload,
      topic: this.#topic,
      pushType: message.pushType,
      priority: message.priority,
      expiry: message.expiration,
      ...(message.collapseId ? { collapseId: message.collapseId } : {}),
    } as Partial<apn.Notification>);
    const compiled = note as unknown as { headers(): Record<string, string | number>; compile(): string };
    const headers: OutgoingHttpHeaders = {};
    // As strings once, where Node would turn apns-priority and apns-expiration into text per request.
    for (const [name, value] of Object.entries(compiled.headers())) headers[name] = String(value);
    headers[':method'] = 'POST';
    headers['authorization'] = `bearer ${providerToken}`;
    return { headers, body: Buffer.from(compiled.compile()) };
  }

  #sendAll(targets: readonly ApnsTarget[], built: Built, answered: (i: number, o: SendOutcome) => void): void {
    postEach({
      permits: this.#permits,
      count: targets.length,
      closed: () => this.#closed,
      now: this.#now,
      post: (i) => {
        const headers: OutgoingHttpHeaders = { ...built.headers, ':path': `/3/device/${targets[i]!.token}` };
        const done = this.#observer?.requestStarted(this.#origin);
        this.#session.post(headers, built.body, (error, status, retryAfter, text) => {
          this.#permits.release();
          done?.();
          answered(i, apnsOutcome(error !== undefined ? { error } : answerFailure(status, retryAfter, text), this.#now()));
        });
      },
      unsent: (error) => apnsOutcome({ error }, this.#now()),
      answered,
    });
  }
}

/** An APNs answer as a failure, or undefined for 200 (Apple's body is then empty). */
function answerFailure(status: number, retryAfter: string | undefined, text: string | undefined): ApnsFailure | undefined {
  if (status === 200) return undefined;
  let reason: string | undefined;
  try {
    const parsed = JSON.parse(text ?? '') as { reason?: unknown };
    if (typeof parsed?.reason === 'string') reason = parsed.reason;
  } catch {
    // No JSON body (a proxy's answer, say): the status alone decides.
  }
  return { status, ...(reason === undefined ? {} : { response: { reason } }), ...(retryAfter === undefined ? {} : { retryAfterHeader: retryAfter }) };
}
