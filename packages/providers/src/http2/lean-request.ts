import { AsyncResource } from 'node:async_hooks';
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type ClientSessionRequestOptions, type OutgoingHttpHeaders } from 'node:http2';

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
  // Anonymous on purpose: tsx (esbuild's keepNames) wraps a named function expression in a
  // `__name` call, an Object.defineProperty for every request.
  return thisArg === undefined
    ? function (this: unknown, ...args: unknown[]) {
        return resource.runInAsyncScope(fn, this, ...args);
      }
    : function (...args: unknown[]) {
        return resource.runInAsyncScope(fn, thisArg, ...args);
      };
} as unknown as Bind;

/**
 * The stream options of every request. Node 20 fills the priority options (weight, parent,
 * exclusive, silent) into its copy of the options when they are missing, and a request then costs
 * its client ~23 % more CPU (59 against 46 µs a request, medians of six alternating runs of 200,000
 * requests, 100 in flight, Node 20.20); given Node's own defaults, it only checks them. Node 22 and
 * later deprecate priority signalling (DEP0194: a warning when they are given) and cost the same
 * either way, so they get none. (`silent` is one of them in Node's code, not in its types.)
 */
const REQUEST_OPTIONS: ClientSessionRequestOptions & { silent?: boolean } =
  Number(process.versions.node.split('.')[0]) < 22
    ? { endStream: false, weight: http2.constants.NGHTTP2_DEFAULT_WEIGHT, parent: 0, exclusive: false, silent: false }
    : { endStream: false };

/**
 * `session.request()` with {@link leanBind} in place for the duration of the call only: it is
 * synchronous, so no other code can see the swap, and the function it binds is kept by Node alone.
 */
export function leanRequest(session: ClientHttp2Session, headers: OutgoingHttpHeaders): ClientHttp2Stream {
  const proto = AsyncResource.prototype;
  proto.bind = leanBind;
  try {
    return session.request(headers, REQUEST_OPTIONS);
  } finally {
    proto.bind = nodeBind;
  }
}
