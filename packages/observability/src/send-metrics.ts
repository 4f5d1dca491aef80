import { Counter, Gauge, type Registry } from 'prom-client';
import { PlainHistogram } from './plain-histogram.ts';

/** The label every sending metric carries: a push provider, as the queues name them. */
export type Provider = 'web' | 'apns' | 'fcm';
/** What became of one recipient in one chunk run. */
export type SendOutcomeLabel = 'delivered' | 'pruned' | 'retry' | 'failed' | 'expired';

/** Seconds: a push service answers in tens of milliseconds; an FCM batch of 500 can take seconds. */
const REQUEST_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The sending side's metrics: one metric per event, with `provider` (and `outcome`, `origin`,
 * `reason`) labels. Implements the worker's `ChunkMetrics` and hands each provider client a
 * `ProviderObserver` (both structurally: this package depends on neither).
 */
export class SendMetrics {
  readonly #sends: Counter<'provider' | 'outcome'>;
  readonly #pruned: Counter<'provider'>;
  readonly #retryRounds: Counter<'provider'>;
  readonly #deferrals: Counter<'provider' | 'reason'>;
  readonly #requestSeconds: PlainHistogram<'provider'>;
  readonly #inFlight: Gauge<'provider' | 'origin'>;
  readonly #inFlightCounts = new Map<Provider, Map<string, { n: number }>>();
  /** Recorded outcomes not yet added to `#sends`, by provider and outcome. */
  readonly #unsent = new Map<Provider, Map<Exclude<SendOutcomeLabel, 'retry'>, number>>();

  constructor(registry: Registry) {
    const registers = [registry];
    const unsent = this.#unsent;
    this.#sends = new Counter({
      name: 'pushcast_sends_total',
      help: 'Recipients given an outcome by a chunk run: delivered, pruned, failed and expired as recorded, retry for each provider answer to try again',
      labelNames: ['provider', 'outcome'],
      registers,
      // Recorded outcomes come one recipient at a time: they are counted in plain numbers and
      // added at scrape time, as the in-flight gauge below is.
      collect() {
        for (const [provider, byOutcome] of unsent) {
          for (const [outcome, n] of byOutcome) if (n > 0) this.inc({ provider, outcome }, n);
          byOutcome.clear();
        }
      },
    });
    this.#pruned = new Counter({
      name: 'pushcast_subscriptions_pruned_total',
      help: 'Subscriptions deleted because their provider called them gone (Web Push 404/410, APNs Unregistered/BadDeviceToken, FCM UNREGISTERED)',
      labelNames: ['provider'],
      registers,
    });
    this.#retryRounds = new Counter({
      name: 'pushcast_chunk_retries_total',
      help: 'Chunk runs put back in the delayed set to retry some of their recipients',
      labelNames: ['provider'],
      registers,
    });
    this.#deferrals = new Counter({
      name: 'pushcast_chunk_deferrals_total',
      help: 'Chunk runs put back in the delayed set before they were done, by reason (quota, throttle, shutdown)',
      labelNames: ['provider', 'reason'],
      registers,
    });
    this.#requestSeconds = new PlainHistogram({
      name: 'pushcast_provider_request_duration_seconds',
      help: 'Time from a request (Web Push, APNs, FCM) leaving until it is answered or fails',
      labelName: 'provider',
      buckets: REQUEST_BUCKETS,
      registers,
    });
    const inFlight = this.#inFlightCounts;
    this.#inFlight = new Gauge({
      name: 'pushcast_provider_requests_in_flight',
      help: 'Requests (Web Push, APNs) or batches (FCM) on the wire, per provider and origin',
      labelNames: ['provider', 'origin'],
      registers,
      // Counted in plain numbers and read at scrape time: a labelled inc and dec per request cost
      // more than the rest of the bookkeeping around it.
      collect() {
        for (const [provider, byOrigin] of inFlight) for (const [origin, count] of byOrigin) this.set({ provider, origin }, count.n);
      },
    });
  }

  /** The observer a provider's client takes in its options. */
  providerObserver(provider: Provider): { requestStarted(origin: string): () => void } {
    const observe = this.#requestSeconds.series(provider);
    return {
      requestStarted: (origin) => {
        let byOrigin = this.#inFlightCounts.get(provider);
        if (byOrigin === undefined) this.#inFlightCounts.set(provider, (byOrigin = new Map()));
        let count = byOrigin.get(origin);
        if (count === undefined) byOrigin.set(origin, (count = { n: 0 }));
        count.n += 1;
        const started = performance.now();
        let done = false;
        return () => {
          if (done) return;
          done = true;
          observe((performance.now() - started) / 1000);
          count.n -= 1;
        };
      },
    };
  }

  recorded(provider: Provider, outcome: { readonly kind: Exclude<SendOutcomeLabel, 'retry'> }): void {
    let byOutcome = this.#unsent.get(provider);
    if (byOutcome === undefined) this.#unsent.set(provider, (byOutcome = new Map()));
    byOutcome.set(outcome.kind, (byOutcome.get(outcome.kind) ?? 0) + 1);
  }

  retrying(provider: Provider, count: number): void {
    if (count > 0) this.#sends.inc({ provider, outcome: 'retry' }, count);
  }

  pruned(provider: Provider, count: number): void {
    if (count > 0) this.#pruned.inc({ provider }, count);
  }

  retryRound(provider: Provider): void {
    this.#retryRounds.inc({ provider });
  }

  deferred(provider: Provider, reason: string): void {
    this.#deferrals.inc({ provider, reason });
  }
}
