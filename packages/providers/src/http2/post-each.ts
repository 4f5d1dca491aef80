import type { SendOutcome } from '@pushcast/domain';
import type { Permits } from '../permits.ts';

/** A slice of requests for one HTTP/2 session, all sharing its permits (APNs and FCM clients). */
export interface SliceRequests {
  readonly permits: Permits;
  readonly count: number;
  readonly closed: () => boolean;
  readonly now: () => number;
  /** Posts request `index`; its answer must release the permit. May throw (a header Node refuses). */
  readonly post: (index: number) => void;
  /** The outcome of a request that `post` could not send. */
  readonly unsent: (error: unknown) => SendOutcome;
  readonly answered: (index: number, outcome: SendOutcome) => void;
}

/**
 * Posts every request of the slice, each once it has a permit. A request that cannot go out gives
 * its permit back at once and is answered there: retried later if the client closed meanwhile,
 * else by `unsent`; the other requests go on.
 */
export function postEach(slice: SliceRequests): void {
  const { permits, closed, now, post, unsent, answered } = slice;
  permits.enqueue(slice.count, (index) => {
    if (closed()) {
      permits.release();
      answered(index, { kind: 'retry', notBefore: now(), reason: 'client_closed' });
      return;
    }
    try {
      post(index);
    } catch (error) {
      permits.release();
      answered(index, unsent(error));
    }
  });
}
