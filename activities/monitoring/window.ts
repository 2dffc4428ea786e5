/**
 * The pure half of a monitoring window: reading prediction-log lines into requests, the window's feature table,
 * data-quality checks against the training baseline, operational numbers per version, online quality from ground
 * truth, histograms for the report page, and the ids and webhook signature that make the side effects idempotent
 * and verifiable. No I/O here, so all of it is tested as plain functions (window.spec.ts).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { FeatureColumn } from '../../libs/ml/data/types';
import { classificationMetrics, regressionMetrics } from '../../libs/ml/metrics';
import { LOWER_IS_BETTER } from '../../libs/ml/spec';

// ---------------------------------------------------------------- ids and signatures

/** A UUID-shaped id derived from its parts (name-based, like a v5 UUID but over sha256): retries find the same id. */
export function derivedId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\n')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((parseInt(h[16], 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A window's report id: the same model and window always give the same id, so a retry rewrites one report. */
export function monitoringReportId(modelName: string, windowStart: string, windowEnd: string): string {
  return derivedId('monitoring-report', modelName, new Date(windowStart).toISOString(), new Date(windowEnd).toISOString());
}

export function alertId(reportId: string, kind: string): string {
  return derivedId('alert', reportId, kind);
}

export const SIGNATURE_HEADER = 'X-Mlcycle-Signature';

/** The value of X-Mlcycle-Signature: `sha256=` and the hex HMAC-SHA256 of the exact body bytes under the secret. */
export function signWebhookBody(body: string | Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** What a receiver does: recompute and compare in constant time. */
export function verifyWebhookSignature(body: string | Buffer, secret: string, header: string | undefined | null): boolean {
  if (!header) return false;
  const expected = Buffer.from(signWebhookBody(body, secret));
  const given = Buffer.from(header);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

// ---------------------------------------------------------------- prediction log

/** One logged request as the window reads it (libs/serving/prediction-log.ts PredictionRecord, after JSON). */
export interface LoggedRequest {
  ts: string;
  requestId: string;
  version?: number;
  routed?: boolean;
  status: number;
  latencyMs: number;
  rows?: number;
  inputs?: Record<string, unknown[]>;
  outputs?: Record<string, unknown[]>;
  error?: string;
}

/** The date prefixes (yyyy-mm-dd, UTC) of the log objects that may hold records of [start, end). */
export function logDatePrefixes(start: Date, end: Date): string[] {
  const days: string[] = [];
  const last = new Date(Math.max(start.getTime(), end.getTime() - 1));
  for (let d = Date.UTC(start.getUTCFullYear(), start.getUTCMonth(), start.getUTCDate()); d <= last.getTime(); d += 86_400_000) {
    days.push(new Date(d).toISOString().slice(0, 10));
  }
  return days;
}

/** Parses a JSON Lines log object, keeping this model's records whose time is in [start, end). */
export function parseLogLines(text: string, model: string, start: Date, end: Date): { records: LoggedRequest[]; malformed: number } {
  const records: LoggedRequest[] = [];
  let malformed = 0;
  const from = start.getTime();
  const to = end.getTime();
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let r: LoggedRequest & { model?: string };
    try {
      r = JSON.parse(line) as LoggedRequest & { model?: string };
    } catch {
      malformed++;
      continue;
    }
    const t = Date.parse(r.ts);
    if (!Number.isFinite(t) || typeof r.requestId !== 'string' || typeof r.status !== 'number') {
      malformed++;
      continue;
    }
    if ((r.model === undefined || r.model === model) && t >= from && t < to) records.push(r);
  }
  return { records, malformed };
}

// ---------------------------------------------------------------- the window's table and data quality

/** What production should look like, per feature: from the training profile (and the reference sample). */
export interface FeatureBaseline {
  name: string;
  kind: 'numeric' | 'categorical';
  missingRate: number;
  min?: number | null;
  max?: number | null;
  /** every category seen in training; null when the profile only kept the most frequent ones */
  categories?: string[] | null;
}

export interface WindowTable {
  rowCount: number;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, (string | null)[]>;
}

export interface SchemaViolations {
  /** requests whose logged inputs break the schema, plus requests serving rejected as malformed (4xx) */
  count: number;
  /** up to MAX_EXAMPLES of them, with the problem */
  examples: { requestId: string; problem: string }[];
}

const MAX_EXAMPLES = 10;

/**
 * The feature table of the window's successful requests (rows of every request concatenated), and the schema
 * violations: missing or unknown columns, values of the wrong type, column lengths that disagree with the request's
 * rows, and requests serving refused with a 4xx (their inputs are not logged: the message says what was wrong).
 */
export function windowTable(records: readonly LoggedRequest[], features: readonly FeatureColumn[]): { table: WindowTable; violations: SchemaViolations } {
  const violations: SchemaViolations = { count: 0, examples: [] };
  const violate = (requestId: string, problem: string) => {
    violations.count++;
    if (violations.examples.length < MAX_EXAMPLES) violations.examples.push({ requestId, problem });
  };
  const numeric: Record<string, number[]> = {};
  const categorical: Record<string, (string | null)[]> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric[f.name] = [];
    else categorical[f.name] = [];
  }
  const known = new Set(features.map((f) => f.name));
  let rowCount = 0;
  for (const r of records) {
    if (r.status >= 400) {
      if (r.status < 500 && r.status !== 401 && r.status !== 403 && r.status !== 404 && r.status !== 429) violate(r.requestId, r.error ?? `rejected with ${r.status}`);
      continue;
    }
    if (!r.inputs) continue;
    const rows = r.rows ?? Object.values(r.inputs)[0]?.length ?? 0;
    const problems: string[] = [];
    for (const name of Object.keys(r.inputs)) if (!known.has(name)) problems.push(`unknown column '${name}'`);
    for (const f of features) {
      const values = r.inputs[f.name];
      if (!values) problems.push(`column '${f.name}' is missing`);
      else if (values.length !== rows) problems.push(`column '${f.name}' has ${values.length} values for ${rows} rows`);
      else if (values.some((v) => v !== null && typeof v !== (f.kind === 'numeric' ? 'number' : 'string'))) problems.push(`column '${f.name}' has values that are not ${f.kind === 'numeric' ? 'numbers' : 'strings'}`);
    }
    if (problems.length) {
      violate(r.requestId, problems.join('; '));
      continue;
    }
    rowCount += rows;
    for (const f of features) {
      const values = r.inputs[f.name];
      if (f.kind === 'numeric') for (const v of values) numeric[f.name].push(v === null ? NaN : (v as number));
      else for (const v of values) categorical[f.name].push(v === null || v === '' ? null : (v as string));
    }
  }
  return {
    table: { rowCount, numeric: Object.fromEntries(Object.entries(numeric).map(([k, v]) => [k, Float64Array.from(v)])), categorical },
    violations,
  };
}

/** Data-quality thresholds (the spec has none yet): beyond these a column's finding is an issue and alerts. */
export const QUALITY_THRESHOLDS = {
  /** the missing-value rate rose by more than this (absolute) over training */
  missingRateIncrease: 0.1,
  /** more than this share of present numeric values outside the training [min, max] */
  outOfRangeShare: 0.05,
  /** more than this share of present categorical values are categories training never had */
  unseenShare: 0.05,
} as const;

export interface ColumnQuality {
  column: string;
  kind: 'numeric' | 'categorical';
  rows: number;
  missingRate: number | null;
  trainingMissingRate: number;
  /** numeric: present values below the training minimum / above the maximum */
  belowMin?: number;
  aboveMax?: number;
  outOfRangeShare?: number | null;
  /** categorical: present values of categories training never had; null when the training categories are unknown */
  unseen?: number | null;
  unseenShare?: number | null;
  unseenExamples?: string[];
  issues: string[];
}

export interface DataQuality {
  columns: ColumnQuality[];
  schemaViolations: SchemaViolations;
  /** every issue, one sentence each */
  issues: string[];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

export function dataQuality(table: WindowTable, baselines: readonly FeatureBaseline[], violations: SchemaViolations): DataQuality {
  const columns: ColumnQuality[] = [];
  const issues: string[] = [];
  for (const b of baselines) {
    const q: ColumnQuality = { column: b.name, kind: b.kind, rows: table.rowCount, missingRate: null, trainingMissingRate: b.missingRate, issues: [] };
    if (b.kind === 'numeric') {
      const values = table.numeric[b.name] ?? new Float64Array(0);
      let missing = 0;
      let below = 0;
      let above = 0;
      for (const v of values) {
        if (!Number.isFinite(v)) missing++;
        else if (b.min !== null && b.min !== undefined && v < b.min) below++;
        else if (b.max !== null && b.max !== undefined && v > b.max) above++;
      }
      const present = values.length - missing;
      q.missingRate = values.length ? missing / values.length : null;
      q.belowMin = below;
      q.aboveMax = above;
      q.outOfRangeShare = present ? (below + above) / present : null;
      if (q.outOfRangeShare !== null && q.outOfRangeShare > QUALITY_THRESHOLDS.outOfRangeShare) {
        q.issues.push(`${pct(q.outOfRangeShare)} of '${b.name}' values are outside the training range [${b.min}, ${b.max}]`);
      }
    } else {
      const values = table.categorical[b.name] ?? [];
      const seen = b.categories ? new Set(b.categories) : null;
      let missing = 0;
      let unseen = 0;
      const unseenCounts = new Map<string, number>();
      for (const v of values) {
        if (v === null) missing++;
        else if (seen && !seen.has(v)) {
          unseen++;
          unseenCounts.set(v, (unseenCounts.get(v) ?? 0) + 1);
        }
      }
      const present = values.length - missing;
      q.missingRate = values.length ? missing / values.length : null;
      q.unseen = seen ? unseen : null;
      q.unseenShare = seen && present ? unseen / present : null;
      q.unseenExamples = [...unseenCounts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([v]) => v);
      if (q.unseenShare !== null && q.unseenShare !== undefined && q.unseenShare > QUALITY_THRESHOLDS.unseenShare) {
        q.issues.push(`${pct(q.unseenShare)} of '${b.name}' values are categories never seen in training (${q.unseenExamples.map((e) => `'${e}'`).join(', ')})`);
      }
    }
    if (q.missingRate !== null && q.missingRate - b.missingRate > QUALITY_THRESHOLDS.missingRateIncrease) {
      q.issues.push(`'${b.name}' is missing in ${pct(q.missingRate)} of rows (${pct(b.missingRate)} in training)`);
    }
    issues.push(...q.issues);
    columns.push(q);
  }
  if (violations.count) issues.push(`${violations.count} request(s) broke the input schema (e.g. ${violations.examples[0]?.problem})`);
  return { columns, schemaViolations: violations, issues };
}

// ---------------------------------------------------------------- operational

export interface VersionOperations {
  /** null: requests refused before a version was chosen */
  version: number | null;
  requests: number;
  errors: number;
  errorRate: number | null;
  rows: number;
  /** requests per minute over the window (of the logged, i.e. sampled, requests) */
  requestRate: number;
  latencyMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function operations(records: readonly LoggedRequest[], windowMs: number): VersionOperations[] {
  const groups = new Map<number | null, LoggedRequest[]>();
  for (const r of records) {
    const key = r.version ?? null;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = []));
    g.push(r);
  }
  return [...groups]
    .sort(([a], [b]) => (a ?? -1) - (b ?? -1))
    .map(([version, rs]) => {
      const errors = rs.filter((r) => r.status >= 500 || (r.status >= 400 && r.status !== 404)).length;
      const latencies = Float64Array.from(rs.map((r) => r.latencyMs).filter((l) => Number.isFinite(l))).sort();
      return {
        version,
        requests: rs.length,
        errors,
        errorRate: rs.length ? errors / rs.length : null,
        rows: rs.reduce((n, r) => n + (r.status < 400 ? (r.rows ?? 0) : 0), 0),
        requestRate: windowMs > 0 ? rs.length / (windowMs / 60_000) : 0,
        latencyMs: { p50: percentile(latencies, 0.5), p95: percentile(latencies, 0.95), p99: percentile(latencies, 0.99), max: percentile(latencies, 1) },
      };
    });
}

// ---------------------------------------------------------------- online quality

export type LabelledPrediction =
  | { requestId: string; label: string; predicted: string; probabilities: number[] }
  | { requestId: string; value: number; predicted: number };

export interface OnlineQuality {
  metric: string;
  /** the primary metric on the window's labelled predictions; null when it could not be computed */
  online: number | null;
  /** its value on the test split at evaluation time */
  evaluation: number | null;
  labelled: number;
  minLabelled: number;
  /** labels that are not one of the model's classes (left out) */
  unknownLabels: number;
  /** how much worse online is than evaluation (positive = worse), in the metric's units */
  drop: number | null;
  maxDrop: number;
  dropped: boolean;
  status: 'ok' | 'dropped' | 'insufficient_labels' | 'not_computable';
  reason: string;
  /** classification: every label that arrived for the window's predictions (the current side of label drift) */
  labels?: string[];
}

/**
 * The primary metric on the window's labelled predictions, computed as evaluation computes it, and whether it fell
 * more than `maxDrop` below the evaluation-time value (concept drift). Too few labels is said so, never 'ok'.
 */
export function onlineQuality(input: {
  metric: string;
  task: 'regression' | 'classification';
  classes?: readonly string[];
  pairs: readonly LabelledPrediction[];
  evaluation: number | null;
  maxDrop: number;
  minLabelled: number;
}): OnlineQuality {
  const { metric, maxDrop, minLabelled } = input;
  const base = { metric, evaluation: input.evaluation, minLabelled, maxDrop, online: null, drop: null, dropped: false };
  let unknownLabels = 0;
  let online: number;
  let labelled: number;
  try {
    if (input.task === 'regression') {
      const pairs = input.pairs.filter((p): p is Extract<LabelledPrediction, { value: number }> => 'value' in p && Number.isFinite(p.value) && Number.isFinite(p.predicted));
      labelled = pairs.length;
      if (labelled < minLabelled) return { ...base, labelled, unknownLabels, status: 'insufficient_labels', reason: `${labelled} labelled prediction(s), fewer than the ${minLabelled} needed` };
      online = Number(regressionMetrics(pairs.map((p) => p.value), pairs.map((p) => p.predicted))[metric as 'rmse']);
    } else {
      const classes = input.classes ?? [];
      const known = new Set(classes);
      const pairs = input.pairs.filter((p): p is Extract<LabelledPrediction, { label: string }> => {
        if (!('label' in p)) return false;
        if (!known.has(p.label) || !known.has(p.predicted) || p.probabilities.length !== classes.length) {
          unknownLabels++;
          return false;
        }
        return true;
      });
      labelled = pairs.length;
      if (labelled < minLabelled) return { ...base, labelled, unknownLabels, status: 'insufficient_labels', reason: `${labelled} labelled prediction(s), fewer than the ${minLabelled} needed` };
      const probabilities = new Float64Array(labelled * classes.length);
      pairs.forEach((p, i) => probabilities.set(p.probabilities, i * classes.length));
      online = Number(classificationMetrics(pairs.map((p) => p.label), pairs.map((p) => p.predicted), probabilities, classes)[metric as 'accuracy']);
    }
  } catch (err) {
    return { ...base, labelled: input.pairs.length, unknownLabels, status: 'not_computable', reason: (err as Error).message };
  }
  if (!Number.isFinite(online) || input.evaluation === null || !Number.isFinite(input.evaluation)) {
    return { ...base, labelled, unknownLabels, online: Number.isFinite(online) ? online : null, status: 'not_computable', reason: `${metric} cannot be compared (online ${online}, evaluation ${input.evaluation})` };
  }
  const drop = LOWER_IS_BETTER.has(metric) ? online - input.evaluation : input.evaluation - online;
  const dropped = drop > maxDrop;
  return {
    ...base,
    online,
    labelled,
    unknownLabels,
    drop,
    dropped,
    status: dropped ? 'dropped' : 'ok',
    reason: `${metric} ${online.toFixed(4)} on ${labelled} labelled predictions against ${input.evaluation.toFixed(4)} at evaluation: ${dropped ? `worse by ${drop.toFixed(4)}, more than the ${maxDrop} allowed` : `within the ${maxDrop} allowed`}`,
  };
}

// ---------------------------------------------------------------- histograms for the report page

export type HistogramPair =
  | { kind: 'numeric'; edges: number[]; reference: number[]; current: number[] }
  | { kind: 'categorical'; categories: string[]; reference: number[]; current: number[] };

const BINS = 20;
const MAX_CATEGORIES = 12;

/** Shares per bin (numeric: equal-width bins over both samples' range) or per category (the most frequent, then 'other'). */
export function histogramPair(kind: 'numeric' | 'categorical', reference: ArrayLike<number> | readonly (string | null)[], current: ArrayLike<number> | readonly (string | null)[]): HistogramPair {
  if (kind === 'numeric') {
    const ref = Array.from(reference as ArrayLike<number>).filter(Number.isFinite);
    const cur = Array.from(current as ArrayLike<number>).filter(Number.isFinite);
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of [...ref, ...cur]) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    if (!Number.isFinite(lo)) return { kind, edges: [], reference: [], current: [] };
    if (hi === lo) hi = lo + 1;
    const width = (hi - lo) / BINS;
    const edges = Array.from({ length: BINS + 1 }, (_, i) => lo + i * width);
    const count = (values: number[]) => {
      const counts = new Array<number>(BINS).fill(0);
      for (const v of values) counts[Math.min(BINS - 1, Math.floor((v - lo) / width))]++;
      return counts.map((c) => (values.length ? c / values.length : 0));
    };
    return { kind, edges, reference: count(ref), current: count(cur) };
  }
  const ref = (reference as readonly (string | null)[]).filter((v): v is string => v !== null);
  const cur = (current as readonly (string | null)[]).filter((v): v is string => v !== null);
  const tally = (values: string[]) => {
    const m = new Map<string, number>();
    for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
    return m;
  };
  const r = tally(ref);
  const c = tally(cur);
  const all = [...new Set([...r.keys(), ...c.keys()])].sort((a, b) => (r.get(b) ?? 0) / (ref.length || 1) + (c.get(b) ?? 0) / (cur.length || 1) - ((r.get(a) ?? 0) / (ref.length || 1) + (c.get(a) ?? 0) / (cur.length || 1)) || (a < b ? -1 : 1));
  const top = all.slice(0, MAX_CATEGORIES);
  const share = (m: Map<string, number>, n: number) => {
    const shares = top.map((k) => (n ? (m.get(k) ?? 0) / n : 0));
    if (all.length > top.length) shares.push(n ? 1 - shares.reduce((s, x) => s + x, 0) : 0);
    return shares;
  };
  return { kind, categories: all.length > top.length ? [...top, '(other)'] : top, reference: share(r, ref.length), current: share(c, cur.length) };
}

/** The categories whose share moved most, for an alert a person can read: "fog 3% → 11%, drizzle 6% → 1%". */
export function labelMixChange(pair: HistogramPair | undefined, top = 3): string {
  if (!pair || pair.kind !== 'categorical') return '';
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  return pair.categories
    .map((c, i) => ({ c, from: pair.reference[i], to: pair.current[i] }))
    .sort((a, b) => Math.abs(b.to - b.from) - Math.abs(a.to - a.from))
    .slice(0, top)
    .map(({ c, from, to }) => `${c} ${pct(from)} → ${pct(to)}`)
    .join(', ');
}
