/**
 * The console's only way to the server: Pushcast's public HTTP API under /api/v1, with the access
 * token the user signed in with. The token lives in sessionStorage (this tab only, gone when it
 * closes) and travels in the Authorization header, never in a URL.
 */
const TOKEN_KEY = 'pushcast-console-token';

export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** A refusal from the API, with Pushcast's error fields (`field`, `rule`) when it gave them. */
export class ApiError extends Error {
  constructor(status, body) {
    super(body && typeof body.error === 'string' ? body.error : `HTTP ${status}`);
    this.status = status;
    this.field = body?.field ?? null;
    this.rule = body?.rule ?? null;
  }
}

/** Listeners told when the token stops working (revoked, or another server), to show sign-in again. */
const unauthorizedListeners = new Set();
export const onUnauthorized = (f) => {
  unauthorizedListeners.add(f);
  return () => unauthorizedListeners.delete(f);
};

export async function api(method, path, { body, token = session.token(), signal } = {}) {
  const headers = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`/api/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  const text = await res.text();
  const parsed = text && (res.headers.get('content-type') ?? '').includes('application/json') ? JSON.parse(text) : null;
  if (!res.ok) {
    if (res.status === 401 && token === session.token()) unauthorizedListeners.forEach((f) => f());
    throw new ApiError(res.status, parsed);
  }
  return parsed;
}

/** A query string from an object of strings or string arrays (`tags[]`, `uids[]`). */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const item of Array.isArray(v) ? v : [v]) q.append(k, String(item));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
