import type { Config } from '@pushcast/config';
import type { Ledger, Queues, QuotaCounter } from '@pushcast/queues';
import type { Db } from '@pushcast/store';
import type { Authenticator } from './auth.ts';

/** What the routes need, built once in app.ts. */
export interface ApiDeps {
  readonly config: Config;
  readonly db: Db;
  readonly queues: Queues;
  readonly ledger: Ledger;
  readonly quota: QuotaCounter;
  readonly auth: Authenticator;
}
