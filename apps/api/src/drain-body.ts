import type { IncomingMessage } from 'node:http';

/**
 * Reads and drops the rest of a request body that is refused (too large), so that its answer comes
 * after the client has sent it: a client still writing when the server answers and closes sees
 * EPIPE or a reset instead of the answer (fetch and undici do). Drains at most `maxBytes` more, for
 * at most `maxMs`; past either, the answer goes out and the connection closes anyway. Resolves true
 * if the whole body was read (the connection can then carry the next request).
 */
export function drainRequest(raw: IncomingMessage, maxBytes: number, maxMs: number): Promise<boolean> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve(raw.readableEnded);
  const declared = Number(raw.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) return Promise.resolve(false);
  return new Promise((resolve) => {
    let received = 0;
    const finish = (complete: boolean) => {
      clearTimeout(timer);
      raw.off('data', onData);
      raw.off('end', onEnd);
      raw.off('error', onError);
      raw.off('close', onClose);
      resolve(complete);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const onClose = () => finish(raw.readableEnded);
    const timer = setTimeout(() => finish(false), maxMs);
    timer.unref();
    raw.on('data', onData);
    raw.on('end', onEnd);
    raw.on('error', onError);
    raw.on('close', onClose);
    raw.resume();
  });
}
