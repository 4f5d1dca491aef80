import { ConfigError, loadConfig, redactConfig, type Config } from '@pushcast/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, ensureDatabase, migrate, migrationsApplied, secretsToRekey, type Db } from '@pushcast/store';
import type { Logger } from 'pino';
import { createLogger } from './logger.ts';

export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly db: Db;
}

/**
 * Reads the configuration (a bad value stops the process with a message naming the variable),
 * creates the database if it is missing and applies migrations when configured to.
 */
export async function startRuntime(name: string, env: NodeJS.ProcessEnv = process.env): Promise<Runtime> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      for (const p of error.problems) process.stderr.write(`pushcast: configuration error: ${p.variable} ${p.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const logger = createLogger(config.logLevel, name, { format: config.logFormat });
  logger.info({ config: redactConfig(config) }, 'starting');
  await ensureDatabase(config.databaseUrl);
  const db = createDb(config.databaseUrl, config.databasePoolSize);
  if (config.migrateOnStart) {
    const applied = await migrate(db);
    if (applied.length > 0) logger.info({ applied }, 'migrations applied');
  } else {
    // New code must not run against an old schema: wait for the migration job (Kubernetes) or
    // service (compose) rather than take jobs and fail them.
    for (let waited = 0; !(await migrationsApplied(db)); waited += 1) {
      if (waited % 15 === 0) logger.warn('waiting for migrations to be applied (PUSHCAST_MIGRATE_ON_START=false)');
      await sleep(2_000);
    }
  }
  await warnOfSecretsToRekey(config, logger, db);
  return { config, logger, db };
}

/**
 * After a key rotation, or an upgrade that left VAPID keys in plaintext (migration 0012), says what
 * `pushcast rekey` would still re-seal. Counts only; a failure here never stops a start.
 */
async function warnOfSecretsToRekey(config: Config, logger: Logger, db: Db): Promise<void> {
  try {
    const pending = await secretsToRekey(db, config.secretKeys);
    if (Object.keys(pending).length === 0) return;
    logger.warn(
      { notUnderCurrentKey: pending },
      config.secretKeys.current === undefined
        ? 'senders keep their VAPID private key in plaintext: set PUSHCAST_SECRET_KEY and run `pushcast rekey`'
        : 'secrets not sealed under PUSHCAST_SECRET_KEY yet: run `pushcast rekey` (docs/operations.md, "Rotating the secret key")',
    );
  } catch (error) {
    logger.debug({ err: error }, 'could not count the secrets to rekey');
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    stop()
      .then(() => process.exit(0))
      .catch((err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}
