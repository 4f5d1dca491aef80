import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.ts';

export interface MetricsServerOptions {
  readonly registry: Registry;
  readonly readiness: () => Promise<Readiness>;
  readonly host: string;
  /** 0 = any free port; the one taken is `port` on the result. */
  readonly port: number;
  /** Told when a scrape failed (answered 500). */
  readonly onError?: (error: unknown) => void;
}

export interface MetricsServer {
  /** The port actually listened on. */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * A worker's small HTTP server: `GET /metrics` (Prometheus text), `/healthz` (200 while the process
 * runs) and `/readyz` (200, or 503 naming what is not ready). Plain node:http: a worker has no
 * other HTTP to serve. Rejects when the port cannot be had (a second worker on the same
 * METRICS_PORT must not start silently unobservable).
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    handle(options, req, res).catch((error: unknown) => {
      options.onError?.(error);
      if (!res.headersSent) json(res, 500, { error: 'internal error', code: 'internal' });
      else res.destroy();
    });
  });
  // Probes and scrapes are short requests; nothing should keep close() waiting on an idle socket.
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(options: MetricsServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return json(res, 405, { error: `method ${req.method} not allowed`, code: 'bad_request' });
  }
  switch (path) {
    case '/metrics': {
      const text = await options.registry.metrics();
      res.writeHead(200, { 'content-type': options.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : text);
      return;
    }
    case '/healthz':
      return json(res, 200, { status: 'ok' });
    case '/readyz': {
      const readiness = await options.readiness();
      return json(res, readiness.status === 'ready' ? 200 : 503, readiness);
    }
    default:
      return json(res, 404, { error: `no route for ${req.method} ${path}`, code: 'not_found' });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
