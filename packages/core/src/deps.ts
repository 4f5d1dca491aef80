import type { Config } from '@pushcast/config';
import type { Ledger, Queues, QuotaCounter } from '@pushcast/queues';
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
