import pg from 'pg';

/**
 * Tells waiters when a notification is over (sent or cancelled): the statements that end one
 * (completeNotificationIfDone, cancelNotification) call `pg_notify` on this channel with its id,
 * delivered when they commit. The API LISTENs on one connection of its own for the synchronous
 * sends (a request that waits for its recipients' outcomes).
 */
export const NOTIFICATION_DONE_CHANNEL = 'pushcast_notification_done';

/** A watch on one notification, taken before its state is read (so that no notice falls in between). */
export interface CompletionWatch {
  /** Resolves true once a notice came (at once if one came since the last call), false after `timeoutMs`. */
  next(timeoutMs: number): Promise<boolean>;
  close(): void;
}

export interface NotificationCompletions {
  watch(id: number): Promise<CompletionWatch>;
  /** Whether the LISTEN connection is up now (else watches only time out, and their callers poll). */
  readonly listening: boolean;
  close(): Promise<void>;
}

interface Watcher {
  notified: boolean;
  wake: (() => void) | null;
}

/**
 * One LISTEN connection for the whole process, opened at the first watch and opened again after it
 * is lost (PostgreSQL restarted): a notice lost with it costs a waiter one step of its polling.
 */
export function listenForCompletions(databaseUrl: string, onError: (error: unknown) => void = () => {}): NotificationCompletions {
  const watchers = new Map<number, Set<Watcher>>();
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let closed = false;

  const connect = (): Promise<void> => {
    if (client || closed) return Promise.resolve();
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: databaseUrl });
      c.on('notification', (msg) => {
        for (const w of watchers.get(Number(msg.payload)) ?? []) {
          w.notified = true;
          w.wake?.();
        }
      });
      const lost = (error?: unknown) => {
        if (client === c) client = null;
        if (error && !closed) onError(error);
        void c.end().catch(() => {});
      };
      c.on('error', lost);
      c.on('end', () => lost());
      try {
        await c.connect();
        await c.query(`LISTEN ${NOTIFICATION_DONE_CHANNEL}`);
        if (closed) await c.end();
        else client = c;
      } catch (error) {
        onError(error);
        await c.end().catch(() => {});
      }
    })().finally(() => {
      connecting = null;
    });
    return connecting;
  };

  return {
    get listening() {
      return client !== null;
    },
    async watch(id) {
      await connect();
      const w: Watcher = { notified: false, wake: null };
      let set = watchers.get(id);
      if (!set) watchers.set(id, (set = new Set()));
      set.add(w);
      return {
        next(timeoutMs) {
          if (w.notified) {
            w.notified = false;
            return Promise.resolve(true);
          }
          return new Promise<boolean>((resolve) => {
            const timer = setTimeout(() => {
              w.wake = null;
              resolve(false);
            }, timeoutMs);
            w.wake = () => {
              clearTimeout(timer);
              w.wake = null;
              w.notified = false;
              resolve(true);
            };
          });
        },
        close() {
          w.wake?.();
          set.delete(w);
          if (set.size === 0 && watchers.get(id) === set) watchers.delete(id);
        },
      };
    },
    async close() {
      closed = true;
      await connecting;
      const c = client;
      client = null;
      if (c) await c.end().catch(() => {});
    },
  };
}
