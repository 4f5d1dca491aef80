import type { Agent } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { FcmCredentials, SendOutcome } from '@pushcast/domain';
import { cert, deleteApp, initializeApp, type App } from 'firebase-admin/app';
import { getMessaging, type BatchResponse, type Messaging, type TokenMessage } from 'firebase-admin/messaging';
import type { ProviderObserver } from '../observer.ts';
import { Semaphore } from '../webpush/semaphore.ts';
import type { FcmMessageTemplate } from './payload.ts';
import { FCM_HOST } from './local-endpoint.ts';
import { fcmOutcome, type FcmFailure } from './response.ts';

/** firebase-admin's limit for one `sendEach`. */
export const FCM_MAX_BATCH = 500;

export interface FcmTarget {
  readonly subscriptionId: number;
  readonly token: string;
}

export interface FcmClientOptions {
  readonly credentials: FcmCredentials;
  /** `sendEach` calls in flight at once for this credential, over all concurrent `send` calls. */
  readonly maxBatchesInFlight: number;
  /** For OAuth and HTTP/1.1 requests (a local FCM server in tests); HTTP/2 sends are redirected by `redirectFcmTo`. */
  readonly httpAgent?: Agent | undefined;
  readonly now?: () => number;
  /** Told of every `sendEach` batch on the wire, under FCM's origin (metrics). */
  readonly observer?: ProviderObserver | undefined;
}

/** Where `sendEach` goes (the local FCM server, when there is one, is reached under this name too). */
const FCM_ORIGIN = `https://${FCM_HOST}`;

/** The HTTP answer behind a message's error, which firebase-admin's error object no longer carries. */
interface RequestResponseError {
  response?: { status?: number; headers?: Record<string, string | string[] | undefined>; isJson?(): boolean; data?: unknown };
}
interface MessagingInternals {
  messagingRequestHandler: {
    http2Client: { retry: unknown };
    httpClient: { retry: unknown };
    buildSendResponseFromError(err: RequestResponseError): { success: boolean; error?: object };
  };
}

/**
 * FCM through firebase-admin: one app per credential, kept for the process lifetime (never one per
 * message), `sendEach` in batches of ≤ 500 with `maxBatchesInFlight` batches at once. Wrapped where
 * the library does not fit a queue-backed sender:
 * - It retries 503s inside `sendEach` (a single 503 held a whole batch for ~7.5 s) and never 429:
 *   its retries are off, and the pipeline retries just the failed tokens with its own backoff.
 * - Its per-message errors drop the HTTP status and `retry-after`: they are read from the
 *   response and kept beside the error, so 429/5xx honour Retry-After.
 */
export class FcmClient {
  readonly #app: App;
  readonly #messaging: Messaging;
  readonly #slots: Semaphore;
  readonly #answers = new WeakMap<object, { status?: number; retryAfter?: string; fcmErrorCode?: string }>();
  readonly #now: () => number;
  readonly #observer: ProviderObserver | undefined;
  #closed = false;

  constructor(options: FcmClientOptions) {
    const { credentials } = options;
    const serviceAccount = { projectId: credentials.projectId, clientEmail: credentials.clientEmail, privateKey: credentials.privateKey };
    this.#app = initializeApp(
      {
        credential: cert(serviceAccount, options.httpAgent),
        projectId: credentials.projectId,
        ...(options.httpAgent ? { httpAgent: options.httpAgent } : {}),
      },
      `pushcast-fcm-${randomUUID()}`,
    );
    this.#messaging = getMessaging(this.#app);
    this.#slots = new Semaphore(options.maxBatchesInFlight);
    this.#now = options.now ?? Date.now;
    this.#observer = options.observer;
    this.#wrapRequestHandler();
  }

  /** One outcome per target, in order. Rejects only when the client is closed. */
  async send(targets: readonly FcmTarget[], template: FcmMessageTemplate): Promise<SendOutcome[]> {
    if (this.#closed) throw new Error('FcmClient is closed');
    const batches: Promise<SendOutcome[]>[] = [];
    for (let i = 0; i < targets.length; i += FCM_MAX_BATCH) {
      batches.push(this.#sendBatch(targets.slice(i, i + FCM_MAX_BATCH), template));
    }
    return (await Promise.all(batches)).flat();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await deleteApp(this.#app);
  }

  async #sendBatch(targets: readonly FcmTarget[], template: FcmMessageTemplate): Promise<SendOutcome[]> {
    await this.#slots.acquire();
    let response: BatchResponse;
    const answered = this.#observer?.requestStarted(FCM_ORIGIN);
    try {
      response = await this.#messaging.sendEach(targets.map((t): TokenMessage => ({ ...template, token: t.token })));
    } catch (error) {
      // The session failed (GOAWAY, reset): firebase-admin still says what became of the messages
      // answered before; only the others are retried, so accepted ones are not sent twice.
      const pending = (error as { pendingBatchResponse?: Promise<BatchResponse> }).pendingBatchResponse;
      const settled = pending ? await pending.catch(() => undefined) : undefined;
      if (!settled) {
        const code = (error as { code?: string }).code ?? 'network';
        return targets.map(() => ({ kind: 'retry', notBefore: this.#now(), reason: `fcm_${code.replace(/[^A-Za-z0-9_.-]/g, '_')}` }) as const);
      }
      response = settled;
    } finally {
      answered?.();
      this.#slots.release();
    }
    const now = this.#now();
    return response.responses.map((r) => {
      if (r.success) return fcmOutcome(undefined, now);
      const error = r.error;
      const answer = error ? this.#answers.get(error) : undefined;
      const failure: FcmFailure = {
        code: error?.code ?? 'messaging/unknown-error',
        message: error?.message ?? '',
        status: answer?.status,
        retryAfter: answer?.retryAfter,
        fcmErrorCode: answer?.fcmErrorCode,
      };
      return fcmOutcome(failure, now);
    });
  }

  #wrapRequestHandler(): void {
    const handler = (this.#messaging as unknown as MessagingInternals).messagingRequestHandler;
    handler.http2Client.retry = null;
    handler.httpClient.retry = null;
    const build = handler.buildSendResponseFromError.bind(handler);
    handler.buildSendResponseFromError = (err) => {
      const result = build(err);
      if (result.error) {
        const header = err.response?.headers?.['retry-after'];
        const fcmErrorCode = fcmErrorCodeOf(err);
        this.#answers.set(result.error, {
          ...(err.response?.status !== undefined ? { status: err.response.status } : {}),
          ...(header !== undefined ? { retryAfter: Array.isArray(header) ? header[0]! : header } : {}),
          ...(fcmErrorCode !== undefined ? { fcmErrorCode } : {}),
        });
      }
      return result;
    };
  }
}

/** The `errorCode` of the FcmError detail in an FCM error body (`{error: {details: [{'@type', errorCode}]}}`). */
function fcmErrorCodeOf(err: RequestResponseError): string | undefined {
  try {
    const data = err.response?.isJson?.() ? err.response.data : undefined;
    const details = (data as { error?: { details?: { '@type'?: string; errorCode?: string }[] } } | undefined)?.error?.details;
    return details?.find((d) => d['@type']?.endsWith('google.firebase.fcm.v1.FcmError'))?.errorCode;
  } catch {
    return undefined;
  }
}
