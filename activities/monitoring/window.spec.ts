import { createHmac } from 'node:crypto';
import {
  alertId,
  dataQuality,
  derivedId,
  histogramPair,
  logDatePrefixes,
  monitoringReportId,
  onlineQuality,
  operations,
  parseLogLines,
  percentile,
  signWebhookBody,
  verifyWebhookSignature,
  windowTable,
} from './window';
import type { LoggedRequest } from './window';
import { seededSample, verdictOf } from './monitoring.activities';

const features = [
  { name: 'temp', kind: 'numeric' as const },
  { name: 'sky', kind: 'categorical' as const },
];

function req(i: number, over: Partial<LoggedRequest> = {}): LoggedRequest {
  return { ts: `2026-01-02T10:00:${String(i % 60).padStart(2, '0')}.000Z`, requestId: `r${i}`, version: 1, status: 200, latencyMs: i, rows: 1, inputs: { temp: [i], sky: ['sun'] }, ...over };
}

describe('ids and signatures', () => {
  it('derives the same UUID-shaped id from the same model and window, and another for another window', () => {
    const a = monitoringReportId('m', '2026-01-02T10:00:00Z', '2026-01-02T11:00:00.000Z');
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(monitoringReportId('m', '2026-01-02T10:00:00.000Z', '2026-01-02T11:00:00Z')).toBe(a);
    expect(monitoringReportId('m', '2026-01-02T11:00:00Z', '2026-01-02T12:00:00Z')).not.toBe(a);
    expect(alertId(a, 'drift')).not.toBe(alertId(a, 'quality_drop'));
    expect(derivedId('x')).toBe(derivedId('x'));
  });

  it('signs the exact body with HMAC-SHA256 and verifies it in constant time', () => {
    const body = '{"alertId":"a","kind":"drift"}';
    const sig = signWebhookBody(body, 's3cret');
    expect(sig).toBe(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(verifyWebhookSignature(body, 's3cret', sig)).toBe(true);
    expect(verifyWebhookSignature(body + ' ', 's3cret', sig)).toBe(false);
    expect(verifyWebhookSignature(body, 'other', sig)).toBe(false);
    expect(verifyWebhookSignature(body, 's3cret', undefined)).toBe(false);
    expect(verifyWebhookSignature(body, 's3cret', 'sha256=00')).toBe(false);
  });
});

describe('prediction log', () => {
  it('lists every UTC date the window overlaps, end exclusive', () => {
    expect(logDatePrefixes(new Date('2026-01-01T23:30:00Z'), new Date('2026-01-02T00:00:00Z'))).toEqual(['2026-01-01']);
    expect(logDatePrefixes(new Date('2026-01-01T23:30:00Z'), new Date('2026-01-03T00:00:01Z'))).toEqual(['2026-01-01', '2026-01-02', '2026-01-03']);
  });

  it("keeps the model's records inside [start, end) and counts malformed lines", () => {
    const lines = [
      JSON.stringify({ ...req(1), model: 'm', ts: '2026-01-02T10:00:00.000Z' }),
      JSON.stringify({ ...req(2), model: 'm', ts: '2026-01-02T11:00:00.000Z' }), // end: excluded
      JSON.stringify({ ...req(3), model: 'other', ts: '2026-01-02T10:30:00.000Z' }),
      '{not json',
      JSON.stringify({ model: 'm', ts: 'never' }),
      '',
    ].join('\n');
    const { records, malformed } = parseLogLines(lines, 'm', new Date('2026-01-02T10:00:00Z'), new Date('2026-01-02T11:00:00Z'));
    expect(records.map((r) => r.requestId)).toEqual(['r1']);
    expect(malformed).toBe(2);
  });
});

describe('window table and data quality', () => {
  it('concatenates the rows of successful requests and reports schema violations and rejected requests', () => {
    const records = [
      req(1),
      req(2, { rows: 2, inputs: { temp: [1, null], sky: ['rain', ''] } }),
      req(3, { inputs: { temp: ['hot'], sky: ['sun'] } }),
      req(4, { inputs: { temp: [1] } }),
      req(5, { inputs: { temp: [1], sky: ['sun'], extra: [1] } }),
      req(6, { status: 400, inputs: undefined, error: "input 'temp' must be FP32" }),
      req(7, { status: 503, inputs: undefined, error: 'overloaded' }),
    ];
    const { table, violations } = windowTable(records, features);
    expect(table.rowCount).toBe(3);
    expect(Array.from(table.numeric.temp)).toEqual([1, 1, NaN]);
    expect(table.categorical.sky).toEqual(['sun', 'rain', null]);
    expect(violations.count).toBe(4);
    expect(violations.examples.map((e) => e.problem)).toEqual([
      "column 'temp' has values that are not numbers",
      "column 'sky' is missing",
      "unknown column 'extra'",
      "input 'temp' must be FP32",
    ]);
  });

  it('flags missing-rate rises, values outside the training range and unseen categories', () => {
    const n = 100;
    const table = {
      rowCount: n,
      numeric: { temp: Float64Array.from({ length: n }, (_, i) => (i < 20 ? NaN : i < 30 ? 999 : 10)) },
      categorical: { sky: Array.from({ length: n }, (_, i) => (i < 10 ? 'hail' : 'sun')) },
    };
    const q = dataQuality(table, [
      { name: 'temp', kind: 'numeric', missingRate: 0.01, min: 0, max: 40 },
      { name: 'sky', kind: 'categorical', missingRate: 0, categories: ['sun', 'rain'] },
    ], { count: 0, examples: [] });
    const temp = q.columns.find((c) => c.column === 'temp')!;
    expect(temp.missingRate).toBeCloseTo(0.2);
    expect(temp.aboveMax).toBe(10);
    expect(temp.outOfRangeShare).toBeCloseTo(10 / 80);
    const sky = q.columns.find((c) => c.column === 'sky')!;
    expect(sky.unseen).toBe(10);
    expect(sky.unseenExamples).toEqual(['hail']);
    expect(q.issues).toHaveLength(3);
    expect(q.issues.join(' ')).toMatch(/outside the training range.*missing in 20.0% of rows.*never seen in training/);
  });

  it('raises nothing when production looks like training', () => {
    const table = { rowCount: 2, numeric: { temp: Float64Array.from([1, 2]) }, categorical: { sky: ['sun', 'rain'] } };
    const q = dataQuality(table, [
      { name: 'temp', kind: 'numeric', missingRate: 0, min: 0, max: 40 },
      { name: 'sky', kind: 'categorical', missingRate: 0, categories: ['sun', 'rain'] },
    ], { count: 0, examples: [] });
    expect(q.issues).toEqual([]);
  });
});

describe('operations', () => {
  it('counts requests, errors and latency percentiles per version', () => {
    const records = [...Array.from({ length: 99 }, (_, i) => req(i + 1, { latencyMs: i + 1 })), req(100, { status: 500, latencyMs: 1000 }), req(101, { version: undefined, status: 503 })];
    const ops = operations(records, 60 * 60_000);
    expect(ops.map((o) => o.version)).toEqual([null, 1]);
    const v1 = ops[1];
    expect(v1.requests).toBe(100);
    expect(v1.errors).toBe(1);
    expect(v1.errorRate).toBeCloseTo(0.01);
    expect(v1.rows).toBe(99);
    expect(v1.requestRate).toBeCloseTo(100 / 60);
    expect(v1.latencyMs).toEqual({ p50: 50, p95: 95, p99: 99, max: 1000 });
    expect(percentile([], 0.5)).toBeNull();
  });
});

describe('online quality', () => {
  const classes = ['a', 'b'];
  const pair = (i: number, label: string, predicted: string) => ({ requestId: `r${i}`, label, predicted, probabilities: predicted === 'a' ? [0.9, 0.1] : [0.1, 0.9] });

  it('computes the primary metric as evaluation does and flags a drop beyond the allowed one', () => {
    const pairs = Array.from({ length: 60 }, (_, i) => pair(i, i % 2 ? 'a' : 'b', i < 36 ? (i % 2 ? 'a' : 'b') : i % 2 ? 'b' : 'a'));
    const q = onlineQuality({ metric: 'accuracy', task: 'classification', classes, pairs, evaluation: 0.9, maxDrop: 0.05, minLabelled: 50 });
    expect(q.online).toBeCloseTo(0.6);
    expect(q.drop).toBeCloseTo(0.3);
    expect(q.status).toBe('dropped');
    expect(q.dropped).toBe(true);
  });

  it('treats lower-is-better metrics the other way round', () => {
    const pairs = Array.from({ length: 10 }, (_, i) => ({ requestId: `r${i}`, value: i, predicted: i + 0.1 }));
    const q = onlineQuality({ metric: 'rmse', task: 'regression', pairs, evaluation: 1, maxDrop: 0.05, minLabelled: 5 });
    expect(q.online).toBeCloseTo(0.1);
    expect(q.status).toBe('ok');
    const worse = onlineQuality({ metric: 'rmse', task: 'regression', pairs: pairs.map((p) => ({ ...p, predicted: p.value + 2 })), evaluation: 1, maxDrop: 0.05, minLabelled: 5 });
    expect(worse.status).toBe('dropped');
  });

  it('says so when there are too few labels, and leaves out labels that are not classes', () => {
    const pairs = [pair(1, 'a', 'a'), pair(2, 'zebra', 'a')];
    const q = onlineQuality({ metric: 'accuracy', task: 'classification', classes, pairs, evaluation: 0.9, maxDrop: 0.05, minLabelled: 2 });
    expect(q.status).toBe('insufficient_labels');
    expect(q.dropped).toBe(false);
    expect(q.labelled).toBe(1);
    expect(q.unknownLabels).toBe(1);
  });
});

describe('histograms, sampling and the verdict', () => {
  it('bins numeric values over both ranges and keeps shares', () => {
    const h = histogramPair('numeric', Float64Array.from([0, 1, 2, 3]), Float64Array.from([8, 9, 10, NaN]));
    expect(h.kind).toBe('numeric');
    expect(h.reference.reduce((s, x) => s + x, 0)).toBeCloseTo(1);
    expect(h.current.reduce((s, x) => s + x, 0)).toBeCloseTo(1);
    const c = histogramPair('categorical', ['a', 'a', 'b', null], ['c']);
    expect(c).toEqual({ kind: 'categorical', categories: ['c', 'a', 'b'], reference: [0, 2 / 3, 1 / 3], current: [1, 0, 0] });
  });

  it('samples the same rows every time', () => {
    const rows = Array.from({ length: 1000 }, (_, i) => i * 2);
    const a = seededSample(rows, 100, 7);
    expect(a).toEqual(seededSample(rows, 100, 7));
    expect(new Set(a).size).toBe(100);
    expect(seededSample(rows, 5000, 7)).toEqual(rows);
  });

  it('never calls an untested window "no drift"', () => {
    const v = verdictOf(
      { reportId: 'x', modelName: 'm', windowStart: '', windowEnd: '', championVersion: 1, samples: 3, status: 'insufficient_data', datasetDrift: null, driftedColumns: [], driftShare: null, predictionDrift: null, alerts: [], retrain: null },
      '3 logged prediction row(s) in the window, fewer than the 100 needed',
      [],
      { columns: [], schemaViolations: { count: 0, examples: [] }, issues: [] },
      null,
    );
    expect(v.tone).toBe('unknown');
    expect(v.headline).toBe('Not enough data to judge this window');
    expect(v.reasons.join(' ')).toMatch(/not a "no drift" verdict/);
  });
});
