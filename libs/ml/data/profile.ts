/**
 * Column statistics of a dataset snapshot. A training run stores the profile of its data as the baseline that
 * drift monitoring compares live traffic against, so the profile is plain JSON (no NaN, no typed arrays; absent
 * statistics are null), self-describing (`version`, `conventions`) and stable for the same table.
 *
 * Numeric and datetime columns (datetimes in epoch milliseconds) get moments, quantiles and two histograms:
 * - `histogram`: equal-width bins between min and max, for display;
 * - `quantileHistogram`: bins whose edges are the 0, 1/30, …, 1 quantiles (repeated edges merged), for the
 *   population stability index: bucket new data with the same edges, the first and last bins open-ended.
 * Categorical and boolean columns get the distinct count and the most frequent values.
 */
import type { ColumnType, FeatureColumn, TypedTable } from './types';

export const PROFILE_VERSION = 1;
export const HISTOGRAM_BINS = 20;
export const QUANTILE_BINS = 30;
export const MAX_TOP_CATEGORIES = 100;

export const PROFILE_QUANTILES = { p01: 0.01, p05: 0.05, p25: 0.25, p50: 0.5, p75: 0.75, p95: 0.95, p99: 0.99 } as const;
export type QuantileKey = keyof typeof PROFILE_QUANTILES;

export interface Histogram {
  /** bin i covers [edges[i], edges[i+1]); the last bin also includes edges[n] */
  edges: number[];
  counts: number[];
}

interface ColumnProfileBase {
  name: string;
  type: ColumnType;
  /** rows with a value */
  count: number;
  /** rows without a value */
  missing: number;
  missingRate: number;
}

export interface NumericColumnProfile extends ColumnProfileBase {
  type: 'numeric' | 'datetime';
  min: number | null;
  max: number | null;
  mean: number | null;
  /** population standard deviation (divides by count) */
  std: number | null;
  quantiles: Record<QuantileKey, number> | null;
  histogram: Histogram;
  quantileHistogram: Histogram;
}

export interface CategoricalColumnProfile extends ColumnProfileBase {
  type: 'categorical' | 'boolean';
  distinct: number;
  /** most frequent values, by count descending then value ascending, at most MAX_TOP_CATEGORIES */
  top: { value: string; count: number }[];
  /** rows whose value is not in `top` */
  otherCount: number;
}

export type ColumnProfile = NumericColumnProfile | CategoricalColumnProfile;

export interface DatasetProfile {
  version: typeof PROFILE_VERSION;
  rowCount: number;
  conventions: {
    quantileMethod: 'linear';
    std: 'population';
    histogramBins: number;
    quantileBins: number;
    maxTopCategories: number;
    datetimeUnit: 'epoch_ms';
  };
  columns: ColumnProfile[];
}

/**
 * Profiles the given columns (names or resolved features, in that order), or every column of the table when none
 * are given. Unknown column names throw RangeError.
 */
export function profileTable(table: TypedTable, features?: ReadonlyArray<FeatureColumn | string>): DatasetProfile {
  const names = features ? [...new Set(features.map((f) => (typeof f === 'string' ? f : f.name)))] : table.schema.columns.map((c) => c.name);
  const columns = names.map((name) => {
    const schema = table.schema.columns.find((c) => c.name === name);
    if (!schema) throw new RangeError(`cannot profile column '${name}': it is not in the table`);
    if (schema.type === 'numeric' || schema.type === 'datetime') return profileNumeric(name, schema.type, table.numeric[name]);
    return profileCategorical(name, schema.type, table.categorical[name]);
  });
  return {
    version: PROFILE_VERSION,
    rowCount: table.rowCount,
    conventions: {
      quantileMethod: 'linear',
      std: 'population',
      histogramBins: HISTOGRAM_BINS,
      quantileBins: QUANTILE_BINS,
      maxTopCategories: MAX_TOP_CATEGORIES,
      datetimeUnit: 'epoch_ms',
    },
    columns,
  };
}

export function profileNumeric(name: string, type: 'numeric' | 'datetime', values: Float64Array): NumericColumnProfile {
  const present = values.filter((v) => !Number.isNaN(v)).sort(); // typed-array sort is numeric
  const count = present.length;
  const missing = values.length - count;
  const base = { name, type, count, missing, missingRate: values.length === 0 ? 0 : missing / values.length };
  if (count === 0) {
    const empty = { edges: [], counts: [] };
    return { ...base, min: null, max: null, mean: null, std: null, quantiles: null, histogram: empty, quantileHistogram: empty };
  }
  const mean = present.reduce((sum, v) => sum + v, 0) / count;
  const variance = present.reduce((sum, v) => sum + (v - mean) * (v - mean), 0) / count;
  const quantiles = Object.fromEntries(
    Object.entries(PROFILE_QUANTILES).map(([key, q]) => [key, quantileSorted(present, q)]),
  ) as Record<QuantileKey, number>;
  return {
    ...base,
    min: present[0],
    max: present[count - 1],
    mean,
    std: Math.sqrt(variance),
    quantiles,
    histogram: histogram(present, equalWidthEdges(present[0], present[count - 1], HISTOGRAM_BINS)),
    quantileHistogram: histogram(present, quantileEdges(present, QUANTILE_BINS)),
  };
}

/** Linear-interpolation quantile of sorted values (numpy's default, Hyndman & Fan type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const position = (n - 1) * q;
  const lower = Math.floor(position);
  const upper = Math.min(lower + 1, n - 1);
  const fraction = position - lower;
  return fraction === 0 ? sorted[lower] : sorted[lower] + (sorted[upper] - sorted[lower]) * fraction;
}

function equalWidthEdges(min: number, max: number, bins: number): number[] {
  if (min === max) return [min, max];
  const width = (max - min) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => min + width * i);
  edges[bins] = max; // exact, whatever the rounding of min + width * bins
  return edges;
}

function quantileEdges(sorted: Float64Array, bins: number): number[] {
  const edges: number[] = [];
  for (let i = 0; i <= bins; i++) {
    const edge = quantileSorted(sorted, i / bins);
    if (edges.length === 0 || edge > edges[edges.length - 1]) edges.push(edge);
  }
  if (edges.length === 1) edges.push(edges[0]); // constant column: one bin [v, v]
  return edges;
}

/** Counts sorted values into bins [e_i, e_{i+1}), the last bin closed. */
export function histogram(sorted: ArrayLike<number>, edges: number[]): Histogram {
  const bins = edges.length - 1;
  const counts = new Array<number>(bins).fill(0);
  let bin = 0;
  for (let i = 0; i < sorted.length; i++) {
    const v = sorted[i];
    while (bin < bins - 1 && v >= edges[bin + 1]) bin++;
    counts[bin]++;
  }
  return { edges, counts };
}

export function profileCategorical(
  name: string,
  type: 'categorical' | 'boolean',
  values: readonly (string | null)[],
): CategoricalColumnProfile {
  const counts = new Map<string, number>();
  let missing = 0;
  for (const value of values) {
    if (value === null) missing++;
    else counts.set(value, (counts.get(value) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort(([va, ca], [vb, cb]) => cb - ca || (va < vb ? -1 : va > vb ? 1 : 0));
  const top = ranked.slice(0, MAX_TOP_CATEGORIES).map(([value, count]) => ({ value, count }));
  const count = values.length - missing;
  return {
    name,
    type,
    count,
    missing,
    missingRate: values.length === 0 ? 0 : missing / values.length,
    distinct: counts.size,
    top,
    otherCount: count - top.reduce((sum, t) => sum + t.count, 0),
  };
}
