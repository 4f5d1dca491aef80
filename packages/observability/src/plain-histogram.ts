import type { Metric, Registry } from 'prom-client';

/** One sample as prom-client's registry formats it. */
interface Sample {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

interface Series {
  /** Observations per bucket, not cumulative; the last one is above every bound (+Inf). */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

export interface PlainHistogramConfiguration<L extends string> {
  readonly name: string;
  readonly help: string;
  /** Its one label. */
  readonly labelName: L;
  /** Upper bounds, increasing. */
  readonly buckets: readonly number[];
  readonly registers: readonly Registry[];
}

/**
 * A Prometheus histogram with one label, for what is observed once per request: prom-client's
 * `observe` builds a closure, a copy of the labels and their hash for every value (2 % of an APNs
 * worker's CPU, docs/benchmarks.md); here a series is looked up once and an observation is a few
 * array writes. prom-client's registries expose it like their own histograms (`get()`, `reset()`).
 */
export class PlainHistogram<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  readonly #labelName: L;
  readonly #bounds: readonly number[];
  readonly #series = new Map<string, Series>();

  constructor(config: PlainHistogramConfiguration<L>) {
    if (config.buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= config.buckets[i - 1]!))) {
      throw new RangeError(`${config.name}: buckets must be finite and increasing`);
    }
    this.name = config.name;
    this.help = config.help;
    this.#labelName = config.labelName;
    this.#bounds = [...config.buckets];
    for (const registry of config.registers) registry.registerMetric(this as unknown as Metric);
  }

  /** Observes values under one label value; the function allocates nothing per call. */
  series(labelValue: string): (value: number) => void {
    let series = this.#series.get(labelValue);
    if (series === undefined) this.#series.set(labelValue, (series = { counts: new Float64Array(this.#bounds.length + 1), sum: 0, count: 0 }));
    const bounds = this.#bounds;
    const found = series;
    return (value) => {
      if (!Number.isFinite(value)) return;
      let i = 0;
      while (i < bounds.length && value > bounds[i]!) i += 1;
      found.counts[i]! += 1;
      found.sum += value;
      found.count += 1;
    };
  }

  /** The series as prom-client's registry formats them: cumulative buckets with `le`, then `_sum` and `_count`. */
  get(): { name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Sample[] } {
    const values: Sample[] = [];
    for (const [labelValue, series] of this.#series) {
      let cumulative = 0;
      for (let i = 0; i <= this.#bounds.length; i += 1) {
        cumulative += series.counts[i]!;
        const le = i < this.#bounds.length ? this.#bounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.#labelName]: labelValue }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: { [this.#labelName]: labelValue }, value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.#labelName]: labelValue }, value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series; functions from `series` keep observing into them. */
  reset(): void {
    for (const series of this.#series.values()) {
      series.counts.fill(0);
      series.sum = 0;
      series.count = 0;
    }
  }
}
