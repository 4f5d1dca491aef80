import type { CoreDeps } from '@pushcast/core';
import type { NotificationCompletions } from '@pushcast/store';
import type { Authenticator } from './auth.ts';

/** What the routes need, built once in app.ts: the core's dependencies and the authenticator. */
export interface ApiDeps extends CoreDeps {
  readonly auth: Authenticator;
  /** Notices of notifications that are over, for the requests that wait for their outcomes. */
  readonly completions: NotificationCompletions;
}
