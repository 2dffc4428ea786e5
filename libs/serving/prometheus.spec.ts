import { Counter, escapeLabelValue, formatValue, Histogram, mergeExpositions, MetricsRegistry } from './prometheus';

describe('Prometheus text format 0.0.4', () => {
  it('renders HELP, TYPE and one line per series, ending in a line feed', () => {
    const r = new MetricsRegistry();
    const c = r.counter('requests_total', 'Requests answered', ['model', 'code']);
    c.inc({ model: 'a', code: '200' });
    c.inc({ model: 'a', code: '200' }, 2);
    c.inc({ model: 'b', code: '400' });
    const g = r.gauge('queue_depth', 'Waiting requests');
    g.set(undefined, 7);
    expect(r.render()).toBe(
      [
        '# HELP requests_total Requests answered',
        '# TYPE requests_total counter',
        'requests_total{model="a",code="200"} 3',
        'requests_total{model="b",code="400"} 1',
        '# HELP queue_depth Waiting requests',
        '# TYPE queue_depth gauge',
        'queue_depth 7',
        '',
      ].join('\n'),
    );
  });

  it('renders histograms with cumulative le buckets, +Inf, _sum and _count', () => {
    const h = new Histogram('latency_seconds', 'Latency', ['model'], [0.1, 1]);
    h.observe({ model: 'a' }, 0.05);
    h.observe({ model: 'a' }, 0.5);
    h.observe({ model: 'a' }, 0.5);
    h.observe({ model: 'a' }, 3);
    expect(h.render().split('\n')).toEqual([
      '# HELP latency_seconds Latency',
      '# TYPE latency_seconds histogram',
      'latency_seconds_bucket{model="a",le="0.1"} 1',
      'latency_seconds_bucket{model="a",le="1"} 3',
      'latency_seconds_bucket{model="a",le="+Inf"} 4',
      'latency_seconds_sum{model="a"} 4.05',
      'latency_seconds_count{model="a"} 4',
    ]);
    expect(h.get({ model: 'a' })).toEqual({ count: 4, sum: 4.05 });
  });

  it('escapes label values and help text', () => {
    expect(escapeLabelValue('a"b\\c\nd')).toBe('a\\"b\\\\c\\nd');
    const c = new Counter('x_total', 'line one\nback\\slash', ['l']);
    c.inc({ l: 'say "hi"' });
    expect(c.render()).toBe('# HELP x_total line one\\nback\\\\slash\n# TYPE x_total counter\nx_total{l="say \\"hi\\""} 1');
  });

  it('spells special values as Prometheus does', () => {
    expect([formatValue(Infinity), formatValue(-Infinity), formatValue(NaN), formatValue(0.25), formatValue(3)]).toEqual(['+Inf', '-Inf', 'NaN', '0.25', '3']);
  });

  it('refuses bad names, missing labels, decreasing counters and duplicate registration', () => {
    expect(() => new Counter('bad-name', 'x')).toThrow(/invalid metric name/);
    expect(() => new Counter('ok', 'x', ['le'])).toThrow(/invalid label name/);
    const c = new Counter('ok_total', 'x', ['model']);
    expect(() => c.inc({})).toThrow(/needs label 'model'/);
    expect(() => c.inc({ model: 'a' }, -1)).toThrow(/cannot decrease/);
    const r = new MetricsRegistry();
    r.counter('dup_total', 'x');
    expect(() => r.counter('dup_total', 'x')).toThrow(/already registered/);
    expect(() => new Histogram('h', 'x', [], [1, 1])).toThrow(/increasing/);
  });

  it('runs scrape hooks before rendering and can drop series', () => {
    const r = new MetricsRegistry();
    const g = r.gauge('loaded', 'Loaded', ['version']);
    let n = 0;
    r.beforeScrape(() => g.set({ version: '1' }, ++n));
    expect(r.render()).toContain('loaded{version="1"} 1');
    expect(r.render()).toContain('loaded{version="1"} 2');
    g.remove({ version: '1' });
    expect(g.samples()).toEqual([]);
  });

  it('counts through bound series as through labels, also after the series was removed', () => {
    const c = new Counter('req_total', 'Requests', ['model', 'code']);
    const h = new Histogram('lat_seconds', 'Latency', ['model'], [0.1, 1]);
    const ok = c.bind({ model: 'a', code: '200' });
    const lat = h.bind({ model: 'a' });
    ok.inc();
    ok.inc(2);
    c.inc({ model: 'a', code: '200' });
    lat.observe(0.05);
    lat.observe(0.5);
    expect(c.get({ model: 'a', code: '200' })).toBe(4);
    expect(h.get({ model: 'a' })).toEqual({ count: 2, sum: 0.55 });
    expect(() => ok.inc(-1)).toThrow(/cannot decrease/);
    expect(() => c.bind({ model: 'a' })).toThrow(/needs label 'code'/);

    // A removed series starts again from zero, and a handle bound before adds to the new one, which is rendered.
    c.remove({ model: 'a', code: '200' });
    h.remove();
    ok.inc();
    lat.observe(2);
    expect(c.samples()).toEqual(['req_total{model="a",code="200"} 1']);
    expect(h.get({ model: 'a' })).toEqual({ count: 1, sum: 2 });
  });
});

describe('mergeExpositions', () => {
  function process(requests: number, busy: number, latencies: number[]): string {
    const r = new MetricsRegistry();
    const c = r.counter('req_total', 'Requests', ['model']);
    const g = r.gauge('busy', 'Busy threads');
    const h = r.histogram('lat_seconds', 'Latency', ['model'], [0.1, 1]);
    c.inc({ model: 'm' }, requests);
    g.set(undefined, busy);
    for (const l of latencies) h.observe({ model: 'm' }, l);
    return r.render();
  }

  it('sums counters and histograms series by series and keeps each process gauge under a worker label', () => {
    const merged = mergeExpositions([
      { worker: '1', text: process(3, 2, [0.05, 0.5]) },
      { worker: '2', text: process(4, 1, [2]) },
    ]);
    const lines = merged.trim().split('\n');
    expect(lines.filter((l) => l === '# TYPE req_total counter')).toHaveLength(1);
    expect(lines).toContain('req_total{model="m"} 7');
    expect(lines).toContain('busy{worker="1"} 2');
    expect(lines).toContain('busy{worker="2"} 1');
    expect(lines).toContain('lat_seconds_bucket{model="m",le="0.1"} 1');
    expect(lines).toContain('lat_seconds_bucket{model="m",le="1"} 2');
    expect(lines).toContain('lat_seconds_bucket{model="m",le="+Inf"} 3');
    expect(lines).toContain('lat_seconds_count{model="m"} 3');
    expect(lines).toContain('lat_seconds_sum{model="m"} 2.55');
  });

  it('keeps a series only one process has', () => {
    const one = new MetricsRegistry();
    one.counter('req_total', 'Requests', ['model']).inc({ model: 'a' });
    const two = new MetricsRegistry();
    two.counter('req_total', 'Requests', ['model']).inc({ model: 'b' }, 2);
    const merged = mergeExpositions([
      { worker: '1', text: one.render() },
      { worker: '2', text: two.render() },
    ]);
    expect(merged).toContain('req_total{model="a"} 1\n');
    expect(merged).toContain('req_total{model="b"} 2\n');
  });
});
