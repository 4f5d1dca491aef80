import { migrationsApplied, type Db } from '@pushcast/store';
import { withTimeout } from './timeout.ts';

export type ReadinessCheck = 'redis' | 'postgres' | 'migrations';

/** `ok`, or why not: `unreachable`, `timeout`, `pending` (migrations), `unknown` (PostgreSQL is down). */
export type CheckResult = 'ok' | 'unreachable' | 'timeout' | 'pending' | 'unknown';

export interface Readiness {
  readonly status: 'ready' | 'not_ready';
  readonly checks: Readonly<Record<ReadinessCheck, CheckResult>>;
  /** The checks that are not `ok`: what /readyz's 503 names. */
  readonly not_ready: readonly ReadinessCheck[];
}

export interface ReadinessDeps {
  /** A connection that fails fast while Redis is away (no offline queue), or the probe waits for it. */
  readonly redis: { ping(): Promise<unknown> };
  readonly db: Db;
  /** Per check. Default 1,000 ms: Kubernetes probes give up after 1 s by default. */
  readonly timeoutMs?: number;
  /** Told what a failed check threw (the answer itself says only `unreachable`: probes are unauthenticated). */
  readonly onError?: (check: ReadinessCheck, error: unknown) => void;
}

/**
 * Ready = Redis answers PING, PostgreSQL answers a query, and every migration this code knows is
 * applied. Checked on each call (a probe every few seconds), nothing cached, so a process turns
 * ready again by itself when what it depends on is back.
 */
export async function checkReadiness(deps: ReadinessDeps): Promise<Readiness> {
  const timeoutMs = deps.timeoutMs ?? 1_000;
  const attempt = async (check: ReadinessCheck, work: () => Promise<unknown>): Promise<CheckResult> => {
    try {
      await withTimeout(work(), timeoutMs);
      return 'ok';
    } catch (error) {
      deps.onError?.(check, error);
      return (error as Error).name === 'TimeoutError' ? 'timeout' : 'unreachable';
    }
  };
  const [redis, database] = await Promise.all([
    attempt('redis', () => deps.redis.ping()),
    (async () => {
      const postgres = await attempt('postgres', () => deps.db.query('SELECT 1'));
      if (postgres !== 'ok') return { postgres, migrations: 'unknown' as const };
      let applied: boolean;
      try {
        applied = await withTimeout(migrationsApplied(deps.db), timeoutMs);
      } catch (error) {
        deps.onError?.('migrations', error);
        return { postgres, migrations: 'unknown' as const };
      }
      return { postgres, migrations: applied ? ('ok' as const) : ('pending' as const) };
    })(),
  ]);
  const checks = { redis, ...database };
  const notReady = (Object.keys(checks) as ReadinessCheck[]).filter((k) => checks[k] !== 'ok');
  return { status: notReady.length === 0 ? 'ready' : 'not_ready', checks, not_ready: notReady };
}
