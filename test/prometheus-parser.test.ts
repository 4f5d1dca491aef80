import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from './support/prometheus.ts';

// The parser the metrics tests rely on must refuse what Prometheus would refuse, or they prove nothing.

const valid = `# HELP pushcast_sends_total Recipients given an outcome
# TYPE pushcast_sends_total counter
pushcast_sends_total{provider="web",outcome="delivered"} 3
pushcast_sends_total{provider="web",outcome="failed"} 1
# HELP pushcast_lat Latency with a \\\\ and a \\n
# TYPE pushcast_lat histogram
pushcast_lat_bucket{le="0.1",provider="web"} 1
pushcast_lat_bucket{le="+Inf",provider="web"} 2
pushcast_lat_sum{provider="web"} 0.35
pushcast_lat_count{provider="web"} 2
# TYPE pushcast_g gauge
pushcast_g{origin="https://a.example:8443",q="with \\"quotes\\", commas"} -1.5e-3
pushcast_g{origin="b"} NaN
`;

describe('parsePrometheusText', () => {
  it('reads samples, labels, escapes and help', () => {
    const e = parsePrometheusText(valid);
    expect(sampleValue(e, 'pushcast_sends_total', { provider: 'web', outcome: 'delivered' })).toBe(3);
    expect(sampleValue(e, 'pushcast_lat_count', { provider: 'web' })).toBe(2);
    expect(sampleValue(e, 'pushcast_g', { origin: 'https://a.example:8443', q: 'with "quotes", commas' })).toBe(-0.0015);
    expect(e.help.get('pushcast_lat')).toBe('Latency with a \\ and a \n');
    expect(e.types.get('pushcast_lat')).toBe('histogram');
  });

  it.each([
    ['a sample without a value', 'x_total{a="b"}\n'],
    ['an unquoted label value', '# TYPE x counter\nx{a=b} 1\n'],
    ['an unterminated label value', 'x{a="b} 1\n'],
    ['a bad metric name', '1x 1\n'],
    ['a bad value', 'x 1,5\n'],
    ['a bad escape', 'x{a="\\q"} 1\n'],
    ['the same series twice', 'x{a="1"} 1\nx{a="1"} 2\n'],
    ['interleaved families', 'x 1\ny 1\nx{a="1"} 1\n'],
    ['a TYPE after its samples', 'x 1\n# TYPE x gauge\n'],
    ['an unknown type', '# TYPE x meter\n'],
    ['a negative counter', '# TYPE x counter\nx -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['a histogram whose count differs', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['decreasing buckets', '# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['a missing final newline', 'x 1'],
  ])('refuses %s', (_what, text) => {
    expect(() => parsePrometheusText(text)).toThrow();
  });
});
