import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The demo's website: what a site using Pushcast looks like. A page that loads the SDK from
 * Pushcast, a service worker that imports Pushcast's, and a small server side that holds a project
 * token: it signs each visitor's uid (signature_for) and sends them a notification through the API.
 * `npm run demo -- --browser` serves it for a real browser; the browser test drives it headless.
 */
export interface DemoSiteOptions {
  /** Where Pushcast is served (the API's origin, without /api/v1). */
  readonly pushcastUrl: string;
  readonly projectId: number;
  /** An access token of the project: the site's server side, never sent to the browser. */
  readonly token: string;
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
}

export interface DemoSite {
  /** e.g. http://127.0.0.1:41234 */
  readonly origin: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Tags the demo page offers; the demo project allows browsers to set exactly these. */
export const DEMO_TAGS = ['news', 'offers'] as const;

const PAGE = readFileSync(new URL('./site/index.html', import.meta.url), 'utf8');
const WELCOME = readFileSync(new URL('./site/welcome.html', import.meta.url), 'utf8');

export async function startDemoSite(opts: DemoSiteOptions): Promise<DemoSite> {
  const api = `${opts.pushcastUrl.replace(/\/+$/, '')}/api/v1`;
  const sign = (uid: string) => createHmac('sha256', opts.token).update(uid).digest('hex');

  async function pushcast(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${opts.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: await res.json().catch(() => null) };
  }

  /** The visitor's uid, kept in a cookie: the demo's stand-in for a logged-in user. */
  function visitor(req: IncomingMessage, res: ServerResponse): string {
    const cookie = /(?:^|;\s*)demo_uid=([A-Za-z0-9_-]+)/.exec(req.headers.cookie ?? '');
    if (cookie) return cookie[1]!;
    const uid = `visitor-${randomBytes(6).toString('hex')}`;
    res.setHeader('set-cookie', `demo_uid=${uid}; Path=/; SameSite=Lax`);
    return uid;
  }

  let origin = '';
  const routes: Record<string, (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>> = {
    'GET /': async (req, res) => {
      visitor(req, res);
      const page = PAGE.replaceAll('{{PUSHCAST_URL}}', opts.pushcastUrl.replace(/\/+$/, ''))
        .replaceAll('{{PROJECT_ID}}', String(opts.projectId))
        .replaceAll('{{TAGS}}', JSON.stringify(DEMO_TAGS));
      send(res, 200, 'text/html; charset=utf-8', page);
    },
    'GET /welcome': async (_req, res) => send(res, 200, 'text/html; charset=utf-8', WELCOME),
    // The site's own service worker: Pushcast's, imported (the site could add its own listeners).
    'GET /service-worker.js': async (_req, res) =>
      send(
        res,
        200,
        'text/javascript; charset=utf-8',
        `importScripts(${JSON.stringify(`${opts.pushcastUrl.replace(/\/+$/, '')}/sdk/pushcast-sw.js`)});\n` +
          `self.addEventListener('install', () => self.skipWaiting());\n` +
          `self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));\n`,
      ),
    // What a site renders for its logged-in user: the uid and signature_for(uid), made server side.
    'GET /me': async (req, res) => {
      const uid = visitor(req, res);
      json(res, 200, { uid, uid_signature: sign(uid) });
    },
    // The site's server sends the visitor a notification through Pushcast's API.
    'POST /send': async (req, res) => {
      const uid = visitor(req, res);
      const here = `http://${req.headers.host ?? new URL(origin).host}`;
      const created = await pushcast('POST', `/projects/${opts.projectId}/notifications`, {
        title: 'Hello from Pushcast',
        body: `A notification for ${uid}, sent through Pushcast's pipeline.`,
        target_url: `${here}/welcome?from=notification`,
        actions: [{ title: 'Read more', action: 'read', target_url: `${here}/welcome?from=action` }],
        custom_metrics: ['demo'],
        uids: [uid],
      });
      json(res, created.status, created.body);
    },
    // Its statistics, as the site's server reads them (opened_count moves when the notification is clicked).
    'GET /stats': async (_req, res, url) => {
      const id = Number(url.searchParams.get('id'));
      if (!Number.isSafeInteger(id) || id < 1) return json(res, 400, { error: 'id: required' });
      const n = await pushcast('GET', `/notifications/${id}`);
      if (n.status !== 200) return json(res, n.status, n.body);
      const { status, scheduled_count, successfully_sent_count, opened_count, opened_actions } = n.body;
      json(res, 200, { id, status, scheduled_count, successfully_sent_count, opened_count, opened_actions });
    },
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://site');
    const route = routes[`${req.method} ${url.pathname}`];
    if (!route) return send(res, 404, 'text/plain', 'not found');
    route(req, res, url).catch((error: unknown) => json(res, 502, { error: String(error) }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  origin = `http://${opts.host === undefined || opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${port}`;
  return {
    origin,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body);
}

function json(res: ServerResponse, status: number, body: unknown): void {
  send(res, status, 'application/json', JSON.stringify(body));
}
