export interface Closable {
  close(): Promise<void>;
}

/**
 * Provider clients by credential fingerprint, kept for the process lifetime (a connection and a
 * provider token per credential, never one per message), closed once unused for `idleMs`: a
 * worker serving many projects does not keep every credential's connection open forever, and a
 * project whose credentials change gets a new client under its new fingerprint.
 */
export class ClientCache<C extends Closable> {
  readonly #entries = new Map<string, { client: C; active: number; lastUsed: number }>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(
    private readonly idleMs: number = 30 * 60_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#timer = setInterval(() => void this.#evictIdle(), Math.min(idleMs, 60_000));
    this.#timer.unref();
  }

  /** Runs `use` with the client for `key`, created on first use. */
  async with<T>(key: string, create: () => C, use: (client: C) => Promise<T>): Promise<T> {
    if (this.#closed) throw new Error('ClientCache is closed');
    let entry = this.#entries.get(key);
    if (!entry) {
      entry = { client: create(), active: 0, lastUsed: this.now() };
      this.#entries.set(key, entry);
    }
    entry.active += 1;
    try {
      return await use(entry.client);
    } finally {
      entry.active -= 1;
      entry.lastUsed = this.now();
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    const clients = [...this.#entries.values()].map((e) => e.client);
    this.#entries.clear();
    await Promise.allSettled(clients.map((c) => c.close()));
  }

  async #evictIdle(): Promise<void> {
    const cutoff = this.now() - this.idleMs;
    for (const [key, entry] of this.#entries) {
      if (entry.active === 0 && entry.lastUsed < cutoff) {
        this.#entries.delete(key);
        await entry.client.close().catch(() => {});
      }
    }
  }
}
