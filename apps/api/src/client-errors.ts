import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { PushcastError } from '@pushcast/domain';
import { errorBody, statusByKind } from './http-errors.ts';

/**
 * What Node's HTTP server refuses before Fastify sees a request (headers too large, a request that
 * does not parse as HTTP, one that did not arrive in time), answered in Pushcast's error shape.
 * The connection cannot carry another request after a parse error, so the answer says
 * `Connection: close` and the socket is closed: a keep-alive client then sends its next request on
 * a new connection instead of on one that is going away.
 */
export function clientErrorAnswer(error: { code?: string }, maxHeaderSize: number): PushcastError {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return new PushcastError('headers_too_large', `the request line and headers are larger than ${Math.round(maxHeaderSize / 1024)} KB`, {
        rule: 'header_size',
      });
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new PushcastError('request_timeout', 'the request did not arrive in time', { rule: 'request_timeout' });
    default:
      return new PushcastError('bad_request', 'the request is not valid HTTP/1.1', { rule: 'request' });
  }
}

export function makeClientErrorHandler(logger: { debug(obj: object, msg: string): void }, maxHeaderSize: number) {
  return function onClientError(error: Error & { code?: string }, socket: Socket): void {
    // A reset connection has nobody to answer.
    if (error.code === 'ECONNRESET' || socket.destroyed) return;
    logger.debug({ err: error.message, code: error.code }, 'client error');
    // As Node does: no answer inside a response already under way on this connection (a pipelined
    // request's), which would corrupt it; closing is all that is left then.
    const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
    if (socket.writable && !inFlight?.headersSent) {
      const e = clientErrorAnswer(error, maxHeaderSize);
      const status = statusByKind[e.kind];
      const body = JSON.stringify(errorBody(e));
      socket.write(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
          'Content-Type: application/json; charset=utf-8\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n` +
          'Connection: close\r\n\r\n' +
          body,
      );
    }
    socket.destroy();
  };
}
