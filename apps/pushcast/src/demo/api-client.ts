/** The demo drives Pushcast the way a user would, over HTTP, so that it exercises what users get. */

export interface NotificationJson {
  id: number;
  status: 'scheduled' | 'queued' | 'planning' | 'sending' | 'sent' | 'cancelled';
  scheduled_count: number;
  successfully_sent_count: number;
  pruned_count: number;
  failed_count: number;
  expired_count: number;
  failures: Record<string, number>;
  created_at: string;
  completed_at: string | null;
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
}

export function apiClient(baseUrl: string, token: string, signal: AbortSignal): ApiClient {
  const request = async <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      signal,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) {
      // Pushcast's errors carry a readable `error`; anything else (a proxy's page) is shown as is.
      let detail = text;
      try {
        detail = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {}
      throw new Error(`${method} ${path} answered ${res.status}: ${detail}`);
    }
    return JSON.parse(text) as T;
  };
  return {
    get: (path) => request('GET', path),
    post: (path, body) => request('POST', path, body),
  };
}

/** Recipients whose outcome is final, whatever it was. */
export function processed(n: NotificationJson): number {
  return n.successfully_sent_count + n.pruned_count + n.failed_count + n.expired_count;
}
