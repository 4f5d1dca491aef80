import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';

/**
 * A real headless Chromium for the browser tests: Debian's `chromium` package (Playwright's own
 * browser download is not available here), driven by playwright-core, with a fresh profile.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Why the browser tests cannot run here, or null when they can. Only a missing Chromium outside CI
 * skips them; in CI (CI=true) they always run, and a missing Chromium fails them.
 */
export function chromiumSkipReason(): string | null {
  if (existsSync(CHROMIUM_PATH) || process.env.CI === 'true') return null;
  return `${CHROMIUM_PATH} not found: install Debian's chromium package (apt-get install -y chromium; scripts/test.sh does it in CI) to run the browser tests`;
}

export interface Browser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'pushcast-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface FakeSubscription {
  readonly endpoint: string;
  readonly p256dh: string;
  readonly auth: string;
}

/**
 * Chromium cannot reach a real push service here, so `pushManager.subscribe` (and
 * `getSubscription`) are replaced in every page of the context, before any script runs, by ones that
 * hand out `subscription`: an endpoint on the local push service, whose private key the test side
 * holds (the local push service derives it) and so can decrypt what Pushcast sends. Everything else
 * — permission, service worker, the SDK, the push event, notifications — is the real browser's.
 * The subscription survives reloads (localStorage, per origin) as a real one would.
 */
export async function fakePushManager(context: BrowserContext, subscription: FakeSubscription): Promise<void> {
  // `__name`: what a TypeScript loader may wrap functions in (keepNames); page.evaluate callbacks need it too.
  const content = `globalThis.__name ??= (f) => f;\n(${installFakePushManager.toString()})(${JSON.stringify(subscription)});`;
  await context.addInitScript({ content });
}

/** Runs in the page (no DOM types here: the test tree is type-checked for Node). */
function installFakePushManager(sub: FakeSubscription): void {
  const g = globalThis as any;
  if (!('PushManager' in g)) return;
  const STORED = 'pushcast-test-application-server-key';
  const bytes = (b64: string) => {
    const text = atob(b64.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((b64.length + 3) % 4));
    return Uint8Array.from(text, (c) => c.charCodeAt(0)).buffer;
  };
  const make = (applicationServerKey: ArrayBuffer) => ({
    endpoint: sub.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey },
    getKey: (name: string) => (name === 'p256dh' ? bytes(sub.p256dh) : name === 'auth' ? bytes(sub.auth) : null),
    toJSON: () => ({ endpoint: sub.endpoint, expirationTime: null, keys: { p256dh: sub.p256dh, auth: sub.auth } }),
    unsubscribe: async () => {
      g.localStorage.removeItem(STORED);
      return true;
    },
  });
  g.PushManager.prototype.subscribe = async function (options: { applicationServerKey: ArrayBuffer | Uint8Array }) {
    const key = new Uint8Array(options.applicationServerKey);
    g.localStorage.setItem(STORED, btoa(String.fromCharCode(...key)));
    return make(key.slice().buffer);
  };
  g.PushManager.prototype.getSubscription = async function () {
    const stored: string | null = g.localStorage.getItem(STORED);
    return stored === null ? null : make(bytes(stored));
  };
}

/**
 * The DevTools protocol's ServiceWorker domain on a page: its registrations (by scope) and
 * `deliverPushMessage`, which hands a push message's plaintext to the service worker's `push` event
 * as the browser would after decrypting it.
 */
export interface ServiceWorkerControl {
  registrationId(scopeUrl: string, timeoutMs?: number): Promise<string>;
  deliverPush(origin: string, registrationId: string, data: string): Promise<void>;
}

export async function serviceWorkerControl(context: BrowserContext, page: Page): Promise<ServiceWorkerControl> {
  const cdp: CDPSession = await context.newCDPSession(page);
  const registrations = new Map<string, string>();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations: updated }) => {
    for (const r of updated) {
      if (r.isDeleted) registrations.delete(r.scopeURL);
      else registrations.set(r.scopeURL, r.registrationId);
    }
  });
  await cdp.send('ServiceWorker.enable');
  return {
    async registrationId(scopeUrl, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const id = registrations.get(scopeUrl);
        if (id !== undefined) return id;
        if (Date.now() > until) throw new Error(`no service worker registration for ${scopeUrl}: ${JSON.stringify([...registrations])}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async deliverPush(origin, registrationId, data) {
      await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId, data });
    },
  };
}
