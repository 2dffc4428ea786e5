import type { StatsRow } from './stats';
import { emptyLatencyBuckets, jensenShannonDistance, latencyBucketOf, latencyQuantile, regressionBin, StatsAccumulator, summarizeWindows } from './stats';

describe('StatsAccumulator', () => {
  it('counts requests, errors, latency buckets, predictions and agreements per version and kind', () => {
    const acc = new StatsAccumulator();
    acc.record({ modelId: 'm', version: 1, kind: 'live', latencyMs: 0.4, error: false, predictions: ['sun', 'rain'] });
    acc.record({ modelId: 'm', version: 1, kind: 'live', latencyMs: 30, error: true });
    acc.record({ modelId: 'm', version: 2, kind: 'shadow', latencyMs: 3, error: false, predictions: ['sun'], agreed: true });
    const windows = acc.flush(new Date(1000));
    expect(windows).toHaveLength(2);
    const live = windows.find((w) => w.kind === 'live')!;
    expect(live).toMatchObject({ version: 1, requests: 2, errors: 1, predictions: { sun: 1, rain: 1 }, agreements: 0 });
    expect(live.latencyBuckets['1']).toBe(1);
    expect(live.latencyBuckets['50']).toBe(1);
    expect(windows.find((w) => w.kind === 'shadow')).toMatchObject({ version: 2, requests: 1, agreements: 1 });
    expect(acc.flush()).toEqual([]);
  });

  it('merges windows put back after a failed write', () => {
    const acc = new StatsAccumulator();
    acc.record({ modelId: 'm', version: 1, kind: 'live', latencyMs: 1, error: false, predictions: ['a'] });
    const failed = acc.flush();
    acc.record({ modelId: 'm', version: 1, kind: 'live', latencyMs: 1, error: false, predictions: ['a'] });
    acc.restore(failed);
    const [w] = acc.flush();
    expect(w).toMatchObject({ requests: 2, predictions: { a: 2 } });
    expect(w.latencyBuckets['1']).toBe(2);
  });
});

describe('latency arithmetic', () => {
  it('puts latencies in the first bucket whose bound they do not exceed', () => {
    expect([latencyBucketOf(0.2), latencyBucketOf(1), latencyBucketOf(1.01), latencyBucketOf(99999)]).toEqual(['1', '1', '2', '+Inf']);
  });

  it('interpolates quantiles inside buckets', () => {
    const b = emptyLatencyBuckets();
    b['10'] = 50; // (5, 10]
    b['25'] = 50; // (10, 25]
    expect(latencyQuantile(b, 0.5)).toBeCloseTo(10, 5);
    expect(latencyQuantile(b, 0.99)).toBeCloseTo(10 + 15 * (49 / 50), 5);
    expect(latencyQuantile(emptyLatencyBuckets(), 0.5)).toBeNull();
  });

  it('sums windows over replicas with rates', () => {
    const b = emptyLatencyBuckets();
    b['2'] = 4;
    const rows: StatsRow[] = [
      { replicaId: 'r1', version: 2, kind: 'shadow' as const, requests: 4, errors: 0, agreements: 3, latencyBuckets: b, predictions: { x: 4 } },
      { replicaId: 'r2', version: 2, kind: 'shadow' as const, requests: 4, errors: 1, agreements: 3, latencyBuckets: b, predictions: { y: 4 } },
      { replicaId: 'r1', version: 1, kind: 'live' as const, requests: 10, errors: 0, agreements: 0, latencyBuckets: b, predictions: { x: 10 } },
    ];
    const [live, shadow] = summarizeWindows(rows);
    expect(live).toMatchObject({ version: 1, kind: 'live', requests: 10, errorRate: 0, agreementRate: null, replicas: 1 });
    expect(shadow).toMatchObject({ version: 2, kind: 'shadow', requests: 8, errors: 1, errorRate: 0.125, agreementRate: 0.75, predictions: { x: 4, y: 4 }, replicas: 2 });
    expect(shadow.p50Ms).toBeGreaterThan(1);
    expect(shadow.p50Ms).toBeLessThanOrEqual(2);
  });
});

describe('prediction distributions', () => {
  it('bins regression values to two significant digits', () => {
    expect([regressionBin(12.345), regressionBin(0.0123), regressionBin(-987), regressionBin(0), regressionBin(NaN)]).toEqual(['12', '0.012', '-990', '0', 'NaN']);
  });

  it('measures Jensen-Shannon distance in [0, 1]', () => {
    expect(jensenShannonDistance({ a: 5, b: 5 }, { a: 50, b: 50 })).toBeCloseTo(0, 10);
    expect(jensenShannonDistance({ a: 1 }, { b: 1 })).toBeCloseTo(1, 10);
    const d = jensenShannonDistance({ a: 8, b: 2 }, { a: 5, b: 5 });
    expect(d).toBeGreaterThan(0.1);
    expect(d).toBeLessThan(0.4);
    expect(jensenShannonDistance({}, { a: 1 })).toBe(0);
  });
});
