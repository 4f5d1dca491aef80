import { randomBytes } from 'node:crypto';
import { startApi } from '@pushcast/api';
import { loadConfig, type Config } from '@pushcast/config';
import { createLogger } from '@pushcast/runtime';
import { createDb, type Db } from '@pushcast/store';
import { startWorker, type WorkerOptions } from '@pushcast/worker';

export interface DemoProcesses {
  readonly config: Config;
  readonly db: Db;
  /** e.g. http://127.0.0.1:41234 */
  readonly apiUrl: string;
  readonly adminToken: string;
}

/**
 * The API and one worker in this process, as both demo modes run them: any free port for the API
 * and for the worker's /metrics (a Pushcast already running here keeps 8080 and 9464), a fresh
 * admin token and a secret key of the run's own (credentials sealed with it are useless after it).
 * `env` adds the mode's own settings; everything started is closed through `closers`.
 */
export async function startDemoProcesses(
  env: Record<string, string>,
  closers: (() => Promise<void>)[],
  workerOptions: WorkerOptions = {},
): Promise<DemoProcesses> {
  const adminToken = randomBytes(24).toString('hex');
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    METRICS_PORT: '0',
    PUSHCAST_ADMIN_TOKEN: adminToken,
    PUSHCAST_SECRET_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'warn',
    ...env,
  });
  const db = createDb(config.databaseUrl, config.databasePoolSize);
  closers.push(() => db.end());
  const logger = createLogger(config.logLevel, 'demo', { format: config.logFormat });
  const api = await startApi({ config, db, logger });
  closers.push(() => api.close());
  const worker = await startWorker({ config, db, logger }, workerOptions);
  closers.push(() => worker.close());
  return { config, db, apiUrl: api.url, adminToken };
}
