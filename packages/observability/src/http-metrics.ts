import { Counter, Histogram, type Registry } from 'prom-client';

const HTTP_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The label of a request that matched no route: raw URLs would make one series per probe. */
export const UNMATCHED_ROUTE = 'unmatched';

export type HttpLabels = { readonly method: string; readonly route: string; readonly status: string };

/** API requests by method, route pattern (`/api/v1/projects/:id`, never the raw URL) and status. */
export class HttpMetrics {
  readonly #requests: Counter<keyof HttpLabels>;
  readonly #seconds: Histogram<keyof HttpLabels>;

  constructor(registry: Registry) {
    const labelNames = ['method', 'route', 'status'] as const;
    this.#requests = new Counter({
      name: 'pushcast_http_requests_total',
      help: 'HTTP requests answered by the API, by method, route pattern and status',
      labelNames,
      registers: [registry],
    });
    this.#seconds = new Histogram({
      name: 'pushcast_http_request_duration_seconds',
      help: 'Time the API took to answer, by method, route pattern and status',
      labelNames,
      buckets: HTTP_BUCKETS,
      registers: [registry],
    });
  }

  observe(method: string, route: string | undefined, status: number, seconds: number): void {
    const labels = { method, route: route ?? UNMATCHED_ROUTE, status: String(status) };
    this.#requests.inc(labels);
    this.#seconds.observe(labels, seconds);
  }
}
