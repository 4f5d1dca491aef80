import { createPrivateKey } from 'node:crypto';
import type { ClientHttp2Session, ClientHttp2Stream, ClientSessionRequestOptions, IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http2';
import apn from '@parse/node-apn';
import type { ApnsCredentials, SendOutcome } from '@pushcast/domain';
import type { ProviderObserver } from '../observer.ts';
import { Semaphore } from '../webpush/semaphore.ts';
import type { ApnsMessage } from './payload.ts';
import type { ApnsProviderTokens, ApnsSigningKey } from './provider-token.ts';
import { apnsOutcome, apnsReason, type ApnsFailure } from './response.ts';

export interface ApnsTarget {
  readonly subscriptionId: number;
  /** Hex device token. */
  readonly token: string;
}

export interface ApnsClientOptions {
  readonly credentials: ApnsCredentials;
  readonly tokens: ApnsProviderTokens;
  /** Requests in flight at once on this client's HTTP/2 session, over all concurrent `send` calls. */
  readonly maxInFlight: number;
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

/** What @parse/node-apn's Client looks like inside: the parts this wrapper relies on (8.1.0). */
interface NodeApnClient {
  config: { token: { generation: number; current: string; isExpired(s: number): boolean; regenerate(g: number): void } };
  request(session: ClientHttp2Session, address: string, notification: unknown, path: string, method: string): Promise<unknown>;
  write(notification: { headers: Record<string, unknown>; body: string }, token: string, type: 'device', method: 'post'): Promise<unknown>;
}

/**
 * APNs through @parse/node-apn (one HTTP/2 session per credential, kept for the process lifetime),
 * wrapped where the library is wrong for a broadcast service:
 * - `provider.send` starts every token at once (20k at once fail with ENHANCE_YOUR_CALM): here each
 *   token waits for one of `maxInFlight` permits, shared by every chunk using this credential.
 * - It retries 429/5xx itself and reads `Retry-After` in a case HTTP/2 never sends: retries are
 *   off (`connectionRetryLimit: 0`) and `retry-after` is read from the stream, so the pipeline
 *   retries just those tokens, no earlier than APNs asked.
 * - It destroys its HTTP/2 session when APNs answers a 500, losing every answer in flight: the
 *   wrapper keeps the session (the 500 is retried like any 5xx).
 * - It mints its own provider token per process: the token comes from `tokens`, shared by every
 *   worker, so scaling out never triggers TooManyProviderTokenUpdates.
 */
export class ApnsClient {
  readonly #provider: apn.Provider;
  readonly #client: NodeApnClient;
  readonly #slots: Semaphore;
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
    this.#provider = new apn.Provider({
      token: { key: credentials.keyPem, keyId: credentials.keyId, teamId: credentials.teamId },
      production: credentials.production,
      ...(url ? { address: url.hostname, port: Number(url.port || 443) } : {}),
      ...(options.ca ? { ca: options.ca } : {}),
      connectionRetryLimit: 0,
      requestTimeout: options.requestTimeoutMs ?? 10_000,
    } as apn.ProviderOptions);
    this.#client = (this.#provider as unknown as { client: NodeApnClient }).client;
    this.#slots = new Semaphore(options.maxInFlight);
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
    this.#takeOverProviderToken();
    this.#readRetryAfter();
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
    if (targets.length === 0) return [];
    const note = new apn.Notification({
      rawPayload: message.payload,
      topic: this.#topic,
      pushType: message.pushType,
      priority: message.priority,
      expiry: message.expiration,
      ...(message.collapseId ? { collapseId: message.collapseId } : {}),
    } as Partial<apn.Notification>);
    // Built once, as provider.send does: only the path differs per token.
    const compiled = note as unknown as { headers(): Record<string, unknown>; compile(): string };
    const built = { headers: compiled.headers(), body: compiled.compile() };
    const providerToken = await this.#tokens.current(this.#key);
    this.#client.config.token.current = providerToken;
    return Promise.all(
      targets.map(async (t, i) => {
        const outcome = await this.#sendOne(t.token, built, providerToken);
        onOutcome?.(i, outcome);
        return outcome;
      }),
    );
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#provider.shutdown();
  }

  async #sendOne(token: string, built: { headers: Record<string, unknown>; body: string }, providerToken: string): Promise<SendOutcome> {
    await this.#slots.acquire();
    let failure: ApnsFailure | undefined;
    try {
      if (this.#closed) return { kind: 'retry', notBefore: this.#now(), reason: 'client_closed' };
      const answered = this.#observer?.requestStarted(this.#origin);
      try {
        await this.#client.write(built, token, 'device', 'post');
      } finally {
        answered?.();
      }
    } catch (error) {
      failure = (typeof error === 'object' && error !== null ? error : { error }) as ApnsFailure;
    } finally {
      this.#slots.release();
    }
    if (failure && apnsReason(failure) === 'ExpiredProviderToken') {
      // A failure to tell the shared store only delays the new token; this recipient is retried anyway.
      await this.#tokens.rejected(this.#key, providerToken).catch(() => {});
    }
    return apnsOutcome(failure, this.#now());
  }

  /** The library's token object, replaced by one that only carries the shared token. */
  #takeOverProviderToken(): void {
    this.#client.config.token = {
      generation: 0,
      current: '',
      // Expiry and regeneration are the shared token source's business.
      isExpired: () => false,
      regenerate: () => {},
    };
  }

  /** Wraps the session each request uses, to catch the `retry-after` of its response. */
  #readRetryAfter(): void {
    const client = this.#client;
    const original = client.request.bind(client);
    client.request = async (session, address, notification, path, method) => {
      let retryAfter: string | undefined;
      const watched = new Proxy(session, {
        get(target, property) {
          if (property === 'request') {
            return (headers: OutgoingHttpHeaders, options?: ClientSessionRequestOptions): ClientHttp2Stream => {
              const stream = target.request(headers, options);
              stream.once('response', (h: IncomingHttpHeaders) => {
                const value = h['retry-after'];
                retryAfter = Array.isArray(value) ? value[0] : value;
              });
              return stream;
            };
          }
          const value: unknown = Reflect.get(target, property, target);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      try {
        return await original(watched, address, notification, path, method);
      } catch (error) {
        if (typeof error === 'object' && error !== null) {
          const failure = error as { status?: unknown; answeredStatus?: number; retryAfterHeader?: string };
          if (retryAfter !== undefined) failure.retryAfterHeader = retryAfter;
          if (failure.status === 500) {
            // node-apn destroys the whole session on a 500, with up to `maxInFlight` requests on it
            // whose answers are then lost (and resent: measured, 9,657 duplicates in a 200,000
            // broadcast with 100 500s). A 500 is an answer on a healthy session: hide it from
            // node-apn's write() and keep it where apnsOutcome reads it.
            failure.answeredStatus = 500;
            failure.status = undefined;
          }
        }
        throw error;
      }
    };
  }
}
