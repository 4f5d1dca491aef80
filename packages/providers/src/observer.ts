/**
 * Watches a provider client's requests, for metrics. Optional in every client's options; the
 * client calls it around each request (Web Push, APNs, FCM) it has a permit
 * for, so what it sees is the traffic on the wire, not recipients waiting for a slot. It never
 * changes an outcome, and a client holds no state of it beyond the reference it was given.
 */
export interface ProviderObserver {
  /**
   * A request or batch leaves for `origin` (`https://host[:port]`: the push service's origin for
   * Web Push, APNs' or FCM's host); the returned function is called once when it is answered or
   * has failed.
   */
  requestStarted(origin: string): () => void;
}
