/** The demo drives Pushcast the way a user would, over HTTP, so that it exercises what users get. */

export const PLATFORMS = ['web', 'apns', 'fcm'] as const;
export type Platform = (typeof PLATFORMS)[number];

export interface OutcomeCounts {
  successfully_sent_count: number;
  pruned_count: number;
  failed_count: number;
  expired_count: number;
  failures: Record<string, number>;
}

export interface PlatformJson extends OutcomeCounts {
  /** What the planner found on this platform. */
  scheduled_count: number;
}

export interface NotificationJson extends OutcomeCounts {
  id: number;
  status: 'scheduled' | 'queued' | 'planning' | 'sending' | 'sent' | 'cancelled';
  scheduled_count: number;
  platforms: Record<Platform, PlatformJson>;
  created_at: string;
  completed_at: string | null;
}

export interface ApiClient {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  patch<T>(path: string, body: unknown): Promise<T>;
}

export function apiClient(baseUrl: string, token: string, signal: AbortSignal): ApiClient {
  const request = async <T>(method: 'GET' | 'POST' | 'PATCH', path: string, body?: unknown): Promise<T> => {
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
    patch: (path, body) => request('PATCH', path, body),
  };
}

/** Recipients whose outcome is final, whatever it was (of the whole notification or one platform). */
export function processed(n: OutcomeCounts): number {
  return n.successfully_sent_count + n.pruned_count + n.failed_count + n.expired_count;
}
