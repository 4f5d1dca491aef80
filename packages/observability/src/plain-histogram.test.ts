import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { PlainHistogram } from './plain-histogram.ts';

const BUCKETS = [0.01, 0.1, 1];
const VALUES = [0.001, 0.01, 0.05, 0.1, 0.5, 2, 30];

describe('PlainHistogram', () => {
  it('is exposed exactly as prom-client exposes a histogram given the same observations', async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const plain = new PlainHistogram({ name: 'req_seconds', help: 'Request time', labelName: 'provider', buckets: BUCKETS, registers: [ours] });
    const reference = new Histogram({ name: 'req_seconds', help: 'Request time', labelNames: ['provider'], buckets: BUCKETS, registers: [theirs] });
    const apns = plain.series('apns');
    const web = plain.series('web');
    for (const value of VALUES) {
      apns(value);
      reference.observe({ provider: 'apns' }, value);
    }
    web(0.2);
    reference.observe({ provider: 'web' }, 0.2);
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('reset zeroes the series, and their observers go on counting', async () => {
    const registry = new Registry();
    const plain = new PlainHistogram({ name: 'req_seconds', help: 'Request time', labelName: 'provider', buckets: BUCKETS, registers: [registry] });
    const apns = plain.series('apns');
    apns(0.5);
    registry.resetMetrics();
    apns(0.05);
    const text = await registry.metrics();
    expect(text).toContain('req_seconds_count{provider="apns"} 1');
    expect(text).toContain('req_seconds_bucket{le="0.1",provider="apns"} 1');
    expect(text).toContain('req_seconds_sum{provider="apns"} 0.05');
  });

  it('refuses buckets that do not increase', () => {
    expect(() => new PlainHistogram({ name: 'x', help: 'x', labelName: 'l', buckets: [1, 1], registers: [] })).toThrow(RangeError);
  });
});
