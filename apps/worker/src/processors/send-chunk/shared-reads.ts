/** How long one read of a notification's status answers every chunk run of the process that asks. */
export const STATUS_FRESH_MS = 100;

/** Entries kept before the stale ones are dropped (one per notification the process sends). */
const PRUNE_AT = 256;

/**
 * `read`, shared: every call for the same key within `freshMs` of a read gets that read's answer,
 * and concurrent calls share one read. The chunks of a process look at their notification's status
 * before each slice; eight chunks of one broadcast asked PostgreSQL eight times every ~130 ms, three
 * quarters of the statements a worker makes while it sends (docs/benchmarks.md). A cancel is then
 * seen up to `freshMs` later. A read that fails is not kept: the next call reads again.
 */
export function sharedReads<K, V>(read: (key: K) => Promise<V>, freshMs: number, now: () => number = performance.now.bind(performance)): (key: K) => Promise<V> {
  const recent = new Map<K, { readonly at: number; readonly value: Promise<V> }>();
  return (key) => {
    const at = now();
    const kept = recent.get(key);
    if (kept !== undefined && at - kept.at < freshMs) return kept.value;
    if (recent.size >= PRUNE_AT) {
      for (const [k, entry] of recent) if (at - entry.at >= freshMs) recent.delete(k);
    }
    const value = read(key);
    const entry = { at, value };
    recent.set(key, entry);
    value.catch(() => {
      if (recent.get(key) === entry) recent.delete(key);
    });
    return value;
  };
}
