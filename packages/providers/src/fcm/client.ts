import type { Agent } from 'node:http';
import type { OutgoingHttpHeaders } from 'node:http2';
import { randomUUID } from 'node:crypto';
import type { FcmCredentials, SendOutcome } from '@pushcast/domain';
import { cert, deleteApp, initializeApp, SDK_VERSION, type App } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';
import type { ProviderObserver } from '../observer.ts';
import { Permits } from '../permits.ts';
import { AccessTokens } from './access-token.ts';
import type { FcmMessageTemplate } from './payload.ts';
import { FCM_HOST } from './local-endpoint.ts';
import { fcmOutcome, type FcmFailure } from './response.ts';
import { ExchangeSession } from '../http2/exchange-session.ts';
import { postEach } from '../http2/post-each.ts';

/** Recipients per `send` call that the channel groups (a slice); the wire has no batches. */
export const FCM_MAX_BATCH = 500;

export interface FcmTarget {
  readonly subscriptionId: number;
  readonly token: string;
}

export interface FcmClientOptions {
  readonly credentials: FcmCredentials;
  /** Requests (HTTP/2 streams) in flight at once for this credential, over all concurrent `send` calls. */
  readonly maxInFlight: number;
  /** For OAuth requests (a local FCM server in tests); the HTTP/2 session is redirected by `redirectFcmTo`. */
  readonly httpAgent?: Agent | undefined;
  readonly now?: () => number;
  /** Told of every request on the wire, under FCM's origin (metrics). */
  readonly observer?: ProviderObserver | undefined;
  /** Default 15 s, as firebase-admin. */
  readonly requestTimeoutMs?: number | undefined;
}

/** Where requests go (the local FCM server, when there is one, is reached under this name too). */
const FCM_ORIGIN = `https://${FCM_HOST}`;

/** What firebase-admin's messaging keeps inside; the client hooks two of its methods (see constructor). */
interface RequestResponseLike {
  status: number;
  headers: Record<string, string>;
  text: string;
  data: unknown;
  isJson(): boolean;
}
interface MessagingInternals {
  messagingRequestHandler: {
    invokeHttpRequestHandlerForSendResponse(host: string, path: string, request: { message: { token?: string } }): Promise<{ success: boolean }>;
    buildSendResponseFromError(err: { response: RequestResponseLike }): { success: boolean; error?: { code: string; message: string } };
  };
}

/** A template as firebase-admin would put it on the wire, split around the token. */
interface Compiled {
  readonly path: string;
  readonly head: string;
  readonly tail: string;
}

/**
 * FCM HTTP v1 with firebase-admin for what it does well and cheaply once per notification, and its
 * own HTTP/2 session for what it does per message:
 * - firebase-admin: the credential and its OAuth access token (`getAccessToken()`, see
 *   access-token.ts); the message, built and validated by `sendEach` itself once per template
 *   (camelCase → FCM's snake_case, `ttl` → "3600s", every check), caught where it would go on the
 *   wire; and its mapping of FCM's error answers to `messaging/...` codes.
 * - Pushcast: one long-lived HTTP/2 session per credential with up to `maxInFlight` concurrent
 *   `POST /v1/projects/{project}/messages:send` streams (../http2/exchange-session.ts), where
 *   `sendEach` deep-copies, validates and serialises every message, and opens a new session (TCP +
 *   TLS) per call of 500.
 * No retries here: every 429/5xx/reset is an outcome (with Retry-After) for the pipeline to retry.
 */
export class FcmClient {
  readonly #app: App;
  readonly #messaging: Messaging;
  readonly #tokens: AccessTokens;
  readonly #session: ExchangeSession;
  readonly #permits: Permits;
  readonly #compiled = new WeakMap<FcmMessageTemplate, Promise<Compiled | FcmFailure>>();
  /** Requests caught by the hook, by the placeholder token they were built with. */
  readonly #caught = new Map<string, { path: string; json: string }>();
  readonly #now: () => number;
  readonly #observer: ProviderObserver | undefined;
  /** The headers of every request while the access token is the same (Node copies them per request). */
  #headers: { token: string; path: string; headers: OutgoingHttpHeaders } | undefined;
  #closed = false;

  constructor(options: FcmClientOptions) {
    const { credentials } = options;
    const serviceAccount = { projectId: credentials.projectId, clientEmail: credentials.clientEmail, privateKey: credentials.privateKey };
    const credential = cert(serviceAccount, options.httpAgent);
    this.#app = initializeApp(
      { credential, projectId: credentials.projectId, ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}) },
      `pushcast-fcm-${randomUUID()}`,
    );
    this.#messaging = getMessaging(this.#app);
    this.#now = options.now ?? Date.now;
    this.#tokens = new AccessTokens(credential, this.#now);
    this.#session = new ExchangeSession({ origin: FCM_ORIGIN, peer: 'FCM', ...(options.requestTimeoutMs ? { timeoutMs: options.requestTimeoutMs } : {}) });
    this.#permits = new Permits(options.maxInFlight);
    this.#observer = options.observer;
    this.#hookTransport();
  }

  /**
   * One outcome per target, in order. `onOutcome` hears each as soon as FCM has answered it.
   * Rejects only when the client is closed.
   */
  async send(targets: readonly FcmTarget[], template: FcmMessageTemplate, onOutcome?: (index: number, outcome: SendOutcome) => void): Promise<SendOutcome[]> {
    if (this.#closed) throw new Error('FcmClient is closed');
    const outcomes = new Array<SendOutcome>(targets.length);
    if (targets.length === 0) return outcomes;
    // Outcomes arrive in stream events, where a throw would be uncaught: the first is rethrown at the end.
    let listenerError: { error: unknown } | undefined;
    const settle = (i: number, outcome: SendOutcome) => {
      outcomes[i] = outcome;
      try {
        onOutcome?.(i, outcome);
      } catch (error) {
        listenerError ??= { error };
      }
    };
    const compiled = await this.#compile(template);
    if (!('head' in compiled)) {
      // firebase-admin refused the message itself: every token fails alike, nothing is sent.
      for (let i = 0; i < targets.length; i += 1) settle(i, fcmOutcome(compiled, this.#now()));
      return outcomes;
    }
    const token = await this.#tokens.get();
    if (typeof token !== 'string') {
      for (let i = 0; i < targets.length; i += 1) settle(i, fcmOutcome(token, this.#now()));
      return outcomes;
    }
    await new Promise<void>((resolve) => {
      let left = targets.length;
      const answered = (i: number, outcome: SendOutcome) => {
        settle(i, outcome);
        if (--left === 0) resolve();
      };
      this.#sendAll(targets, compiled, token, answered);
    });
    if (listenerError !== undefined) throw listenerError.error;
    return outcomes;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#session.close();
    await deleteApp(this.#app);
  }

  /** Sessions opened so far (one per credential unless FCM sent GOAWAY or the connection broke). */
  get sessionsOpened(): number {
    return this.#session.opened;
  }

  #sendAll(targets: readonly FcmTarget[], compiled: Compiled, token: string, answered: (i: number, o: SendOutcome) => void): void {
    postEach({
      permits: this.#permits,
      count: targets.length,
      closed: () => this.#closed,
      now: this.#now,
      post: (i) => {
        // A token refreshed while this slice was under way is used from here on.
        const current = this.#tokens.fresh() ?? token;
        const body = compiled.head + JSON.stringify(targets[i]!.token) + compiled.tail;
        const done = this.#observer?.requestStarted(FCM_ORIGIN);
        this.#session.post(this.#headersFor(compiled.path, current), body, (error, status, retryAfter, text) => {
          this.#permits.release();
          done?.();
          answered(i, error !== undefined ? this.#transportOutcome(error) : this.#answerOutcome(status, retryAfter, text, current));
        });
      },
      unsent: (error) => this.#transportOutcome(error instanceof Error ? error : new Error(String(error))),
      answered,
    });
  }

  #headersFor(path: string, token: string): OutgoingHttpHeaders {
    const cached = this.#headers;
    if (cached !== undefined && cached.token === token && cached.path === path) return cached.headers;
    // firebase-admin's headers (FirebaseMessagingRequestHandler, AuthorizedHttp2Client).
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':authority': FCM_HOST,
      ':path': path,
      authorization: `Bearer ${token}`,
      'content-type': 'application/json; charset=utf-8',
      'x-firebase-client': `fire-admin-node/${SDK_VERSION}`,
      access_token_auth: 'true',
      'x-goog-api-client': `gl-node/${process.versions.node} fire-admin/${SDK_VERSION}`,
    };
    this.#headers = { token, path, headers };
    return headers;
  }

  #answerOutcome(status: number, retryAfter: string | undefined, text: string | undefined, token: string): SendOutcome {
    const now = this.#now();
    if (status === 200) return fcmOutcome(undefined, now);
    if (status === 401) this.#tokens.refused(token);
    const body = text ?? '';
    let data: unknown;
    try {
      data = JSON.parse(body);
    } catch {
      data = undefined;
    }
    // firebase-admin's own mapping of an error answer to its `messaging/...` code and message.
    const response: RequestResponseLike = { status, headers: {}, text: body, data, isJson: () => data !== undefined };
    const error = this.#internals().buildSendResponseFromError({ response }).error;
    const failure: FcmFailure = {
      code: error?.code ?? 'messaging/unknown-error',
      message: error?.message ?? '',
      status,
      retryAfter,
      fcmErrorCode: fcmErrorCodeOf(data),
    };
    return fcmOutcome(failure, now);
  }

  /** No answer: a reset, GOAWAY above our stream, a broken connection, a timeout. FCM may not have seen it. */
  #transportOutcome(error: Error): SendOutcome {
    const timedOut = (error as { code?: string }).code === 'ETIMEDOUT';
    return fcmOutcome({ code: timedOut ? 'app/network-timeout' : 'app/network-error', message: error.message }, this.#now());
  }

  /** The template as firebase-admin's `sendEach` builds and validates it, split around the token; once per template. */
  #compile(template: FcmMessageTemplate): Promise<Compiled | FcmFailure> {
    let compiled = this.#compiled.get(template);
    if (compiled === undefined) {
      compiled = this.#compileNow(template);
      this.#compiled.set(template, compiled);
    }
    return compiled;
  }

  async #compileNow(template: FcmMessageTemplate): Promise<Compiled | FcmFailure> {
    const placeholder = `pushcast-${randomUUID()}`;
    try {
      const result = await this.#messaging.sendEach([{ ...template, token: placeholder }]);
      const first = result.responses[0];
      const caught = this.#caught.get(placeholder);
      if (!first?.success || caught === undefined) {
        return { code: first?.error?.code ?? 'messaging/unknown-error', message: first?.error?.message ?? 'message not built' };
      }
      const quoted = JSON.stringify(placeholder);
      const at = caught.json.indexOf(quoted);
      return { path: caught.path, head: caught.json.slice(0, at), tail: caught.json.slice(at + quoted.length) };
    } catch (error) {
      const e = error as { code?: string; message?: string };
      return { code: e.code ?? 'messaging/invalid-argument', message: e.message ?? String(error) };
    } finally {
      this.#caught.delete(placeholder);
    }
  }

  /**
   * `sendEach` on the legacy (HTTP/1.1) transport hands each built and validated request to
   * `invokeHttpRequestHandlerForSendResponse`: the hook keeps it and answers success instead of
   * sending, so a template costs firebase-admin's checks once, not once per token.
   */
  #hookTransport(): void {
    this.#messaging.enableLegacyHttpTransport();
    const handler = this.#internals();
    handler.invokeHttpRequestHandlerForSendResponse = async (_host, path, request) => {
      const token = request.message.token;
      if (token !== undefined) this.#caught.set(token, { path, json: JSON.stringify(request) });
      return { success: true };
    };
  }

  #internals(): MessagingInternals['messagingRequestHandler'] {
    return (this.#messaging as unknown as MessagingInternals).messagingRequestHandler;
  }
}

/** The `errorCode` of the FcmError detail in an FCM error body (`{error: {details: [{'@type', errorCode}]}}`). */
function fcmErrorCodeOf(data: unknown): string | undefined {
  const details = (data as { error?: { details?: { '@type'?: string; errorCode?: string }[] } } | undefined)?.error?.details;
  if (!Array.isArray(details)) return undefined;
  return details.find((d) => typeof d?.['@type'] === 'string' && d['@type'].endsWith('google.firebase.fcm.v1.FcmError'))?.errorCode;
}
