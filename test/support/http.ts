import { createECDH, randomBytes } from 'node:crypto';

export interface ApiResponse<T = any> {
  readonly status: number;
  readonly headers: Headers;
  readonly body: T;
}

/** A plain HTTP call, as any client in any language would make it. */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; authorization?: string; body?: unknown; rawBody?: string; contentType?: string } = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const authorization = opts.authorization ?? (opts.token ? `Bearer ${opts.token}` : undefined);
  if (authorization) headers.authorization = authorization;
  let body: string | undefined;
  if (opts.rawBody !== undefined || opts.body !== undefined) {
    headers['content-type'] = opts.contentType ?? 'application/json';
    body = opts.rawBody ?? JSON.stringify(opts.body);
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  const parsed = text && (res.headers.get('content-type') ?? '').includes('application/json') ? JSON.parse(text) : text;
  return { status: res.status, headers: res.headers, body: parsed as T };
}

/** Keys a browser would produce for a push subscription. */
export function browserKeys(): { p256dh: string; auth: string } {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') };
}

let endpointCounter = 0;
/** An endpoint on the local push host the tests allow. */
export function localEndpoint(): string {
  endpointCounter += 1;
  return `https://127.0.0.1:8443/push/${process.pid}-${endpointCounter}-${randomBytes(6).toString('hex')}`;
}
