/**
 * Traffic counters per model version and kind (live | shadow) over short windows, as the serving_stats table
 * stores them, and the arithmetic rollout guardrails need on their sums: latency quantiles from the histogram,
 * agreement and error rates, and the Jensen-Shannon distance between two prediction distributions.
 */

/** Latency bucket upper bounds in milliseconds. serving_stats.latencyBuckets holds per-bucket (not cumulative) counts. */
export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000] as const;

export type StatsKind = 'live' | 'shadow';

export interface StatsWindow {
  modelId: string;
  version: number;
  kind: StatsKind;
  windowStart: Date;
  requests: number;
  errors: number;
  /** bound (ms, as a string) → requests whose latency fell in (previous bound, bound]; '+Inf' for the rest */
  latencyBuckets: Record<string, number>;
  /** predicted label (or regression value bin) → rows */
  predictions: Record<string, number>;
  agreements: number;
}

export function emptyLatencyBuckets(): Record<string, number> {
  const b: Record<string, number> = {};
  for (const bound of LATENCY_BOUNDS_MS) b[String(bound)] = 0;
  b['+Inf'] = 0;
  return b;
}

export function latencyBucketOf(ms: number): string {
  for (const bound of LATENCY_BOUNDS_MS) if (ms <= bound) return String(bound);
  return '+Inf';
}

/**
 * The distribution key of a regression prediction: the value rounded to two significant digits, so that two
 * versions' outputs over the same traffic land in comparable bins without knowing the target's range.
 */
export function regressionBin(value: number): string {
  if (!Number.isFinite(value)) return 'NaN';
  if (value === 0) return '0';
  return String(Number(value.toPrecision(2)));
}

/** Accumulates the current window; `flush()` hands back the non-empty windows and starts new ones. */
export class StatsAccumulator {
  private windows = new Map<string, StatsWindow>();
  private windowStart = new Date();
  /** the window recorded into last: requests mostly come for the same version in a row */
  private last: StatsWindow | undefined;

  private window(modelId: string, version: number, kind: StatsKind): StatsWindow {
    const last = this.last;
    if (last && last.modelId === modelId && last.version === version && last.kind === kind) return last;
    const key = `${modelId}\u0001${version}\u0001${kind}`;
    let w = this.windows.get(key);
    if (!w) {
      w = { modelId, version, kind, windowStart: this.windowStart, requests: 0, errors: 0, latencyBuckets: emptyLatencyBuckets(), predictions: {}, agreements: 0 };
      this.windows.set(key, w);
    }
    this.last = w;
    return w;
  }

  record(e: { modelId: string; version: number; kind: StatsKind; latencyMs: number; error: boolean; predictions?: Iterable<string>; agreed?: boolean }): void {
    const w = this.window(e.modelId, e.version, e.kind);
    w.requests++;
    if (e.error) w.errors++;
    w.latencyBuckets[latencyBucketOf(e.latencyMs)]++;
    if (e.predictions) for (const p of e.predictions) w.predictions[p] = (w.predictions[p] ?? 0) + 1;
    if (e.agreed) w.agreements++;
  }

  flush(now = new Date()): StatsWindow[] {
    const out = [...this.windows.values()];
    this.windows = new Map();
    this.last = undefined;
    this.windowStart = now;
    return out;
  }

  /** Puts windows back after a failed write, merged into the current ones. */
  restore(windows: StatsWindow[]): void {
    for (const old of windows) {
      const w = this.window(old.modelId, old.version, old.kind);
      w.windowStart = old.windowStart < w.windowStart ? old.windowStart : w.windowStart;
      w.requests += old.requests;
      w.errors += old.errors;
      w.agreements += old.agreements;
      for (const [k, v] of Object.entries(old.latencyBuckets)) w.latencyBuckets[k] = (w.latencyBuckets[k] ?? 0) + v;
      for (const [k, v] of Object.entries(old.predictions)) w.predictions[k] = (w.predictions[k] ?? 0) + v;
    }
  }
}

/**
 * A latency quantile (ms) from per-bucket counts, interpolating linearly inside the bucket as Prometheus'
 * histogram_quantile does. Returns the last finite bound when the quantile falls into '+Inf'; null without data.
 */
export function latencyQuantile(buckets: Record<string, number>, q: number): number | null {
  const total = Object.values(buckets).reduce((a, b) => a + b, 0);
  if (!total) return null;
  const rank = q * total;
  let cumulative = 0;
  let lower = 0;
  for (const bound of LATENCY_BOUNDS_MS) {
    const count = buckets[String(bound)] ?? 0;
    if (cumulative + count >= rank && count > 0) return lower + (bound - lower) * ((rank - cumulative) / count);
    cumulative += count;
    lower = bound;
  }
  return LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.length - 1];
}

/** Jensen-Shannon distance (base 2, in [0, 1]) between two count distributions over labels or bins. */
export function jensenShannonDistance(a: Record<string, number>, b: Record<string, number>): number {
  const totalA = Object.values(a).reduce((s, v) => s + v, 0);
  const totalB = Object.values(b).reduce((s, v) => s + v, 0);
  if (!totalA || !totalB) return 0;
  let divergence = 0;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const p = (a[key] ?? 0) / totalA;
    const q = (b[key] ?? 0) / totalB;
    const m = (p + q) / 2;
    if (p > 0) divergence += 0.5 * p * Math.log2(p / m);
    if (q > 0) divergence += 0.5 * q * Math.log2(q / m);
  }
  return Math.sqrt(Math.max(0, Math.min(1, divergence)));
}

/** Sums of a version's windows, with the rates a guardrail compares. */
export interface VersionTraffic {
  version: number;
  kind: StatsKind;
  requests: number;
  errors: number;
  errorRate: number;
  agreements: number;
  /** shadow: agreements / requests (null without requests) */
  agreementRate: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
  latencyBuckets: Record<string, number>;
  predictions: Record<string, number>;
  replicas: number;
}

export type StatsRow = Pick<StatsWindow, 'version' | 'kind' | 'requests' | 'errors' | 'agreements' | 'latencyBuckets' | 'predictions'> & { replicaId?: string };

/** Sums windows (of any replicas) per version and kind. */
export function summarizeWindows(rows: StatsRow[]): VersionTraffic[] {
  const byKey = new Map<string, VersionTraffic & { replicaSet: Set<string> }>();
  for (const r of rows) {
    const key = `${r.version}\u0001${r.kind}`;
    let s = byKey.get(key);
    if (!s) {
      s = {
        version: r.version,
        kind: r.kind,
        requests: 0,
        errors: 0,
        errorRate: 0,
        agreements: 0,
        agreementRate: null,
        p50Ms: null,
        p99Ms: null,
        latencyBuckets: emptyLatencyBuckets(),
        predictions: {},
        replicas: 0,
        replicaSet: new Set(),
      };
      byKey.set(key, s);
    }
    s.requests += r.requests;
    s.errors += r.errors;
    s.agreements += r.agreements;
    for (const [k, v] of Object.entries(r.latencyBuckets)) s.latencyBuckets[k] = (s.latencyBuckets[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.predictions)) s.predictions[k] = (s.predictions[k] ?? 0) + v;
    if (r.replicaId) s.replicaSet.add(r.replicaId);
  }
  return [...byKey.values()]
    .map(({ replicaSet, ...s }) => ({
      ...s,
      errorRate: s.requests ? s.errors / s.requests : 0,
      agreementRate: s.kind === 'shadow' && s.requests ? s.agreements / s.requests : null,
      p50Ms: latencyQuantile(s.latencyBuckets, 0.5),
      p99Ms: latencyQuantile(s.latencyBuckets, 0.99),
      replicas: replicaSet.size,
    }))
    .sort((a, b) => a.version - b.version || a.kind.localeCompare(b.kind));
}
