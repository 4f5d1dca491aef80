import type { Config } from '@pushcast/config';
import type { Queues } from '@pushcast/queues';
import type { Ledger, QuotaCounter } from '@pushcast/redis-state';
import type { Db } from '@pushcast/store';
import type { Logger } from 'pino';

/** What the use cases need; built once by the process that serves a dialect. */
export interface CoreDeps {
  readonly config: Config;
  readonly db: Db;
  readonly queues: Queues;
  readonly ledger: Ledger;
  readonly quota: QuotaCounter;
  readonly logger: Logger;
}
