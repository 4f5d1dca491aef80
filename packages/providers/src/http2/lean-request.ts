import { AsyncResource } from 'node:async_hooks';
import type { ClientHttp2Session, ClientHttp2Stream, OutgoingHttpHeaders } from 'node:http2';

type Bind = typeof AsyncResource.prototype.bind;
const nodeBind: Bind = AsyncResource.prototype.bind;
/**
 * `AsyncResource.prototype.bind` without the `asyncResource` accessor: Node 20–24 build two
 * `util.deprecate` wrappers (DEP0172) for every bound function, and `session.request()` binds one
 * per request that nobody can reach (nodejs/node#58618 removes the accessor): 4–6 % of an HTTP/2
 * sender's CPU. The scope runs the callback exactly as Node's does.
 */
const leanBind = function bind(this: AsyncResource, fn: (...args: unknown[]) => unknown, thisArg?: unknown) {
  const resource = this;
  return thisArg === undefined
    ? function bound(this: unknown, ...args: unknown[]) {
        return resource.runInAsyncScope(fn, this, ...args);
      }
    : function bound(...args: unknown[]) {
        return resource.runInAsyncScope(fn, thisArg, ...args);
      };
} as unknown as Bind;

/**
 * `session.request()` with {@link leanBind} in place for the duration of the call only: it is
 * synchronous, so no other code can see the swap, and the function it binds is kept by Node alone.
 */
export function leanRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream {
  const proto = AsyncResource.prototype;
  proto.bind = leanBind;
  try {
    return session.request(headers, { endStream: false });
  } finally {
    proto.bind = nodeBind;
  }
}
