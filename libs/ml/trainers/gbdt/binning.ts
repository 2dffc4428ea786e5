/**
 * Feature binning for the histogram GBDT. Numeric features get up to `maxBins` quantile bins over their float32
 * values (what the ONNX input carries) plus a missing bin; categorical features get one bin per frequent category
 * (missing is a category of its own when training saw it) plus an "other" bin for rare and unseen categories.
 *
 * Thresholds are float32 values chosen so that `x <= threshold[b]` ⇔ `bin(x) <= b` holds exactly in float32:
 * the splits found on bins then route raw values identically in the in-memory predictor and in onnxruntime.
 */
import type { FeatureColumn, TypedTable } from '../../data/types';
import { categoricalFeature, numericFeature } from '../../onnx/contract';

/** Bin index for NaN (numeric) and for rare/unseen categories (categorical). */
export const MISSING_BIN = 255;
export const MAX_BINS = 255;
/** Categories kept per categorical feature; codes 0..253, bin 255 = other. */
export const MAX_CATEGORIES = 254;

export interface NumericBinner {
  kind: 'numeric';
  name: string;
  /** ascending float32 upper bounds of bins 0..nBins-2 */
  thresholds: Float32Array;
  nBins: number;
}

export interface CategoricalBinner {
  kind: 'categorical';
  name: string;
  /** code = index; '' is the missing category */
  categories: string[];
  nBins: number;
}

export type Binner = NumericBinner | CategoricalBinner;

/** Splits a pair of adjacent distinct float32 values at their midpoint if representable strictly below `hi`. */
function cutBetween(lo: number, hi: number): number {
  const mid = Math.fround((lo + hi) / 2);
  return mid >= lo && mid < hi ? mid : lo;
}

export function fitNumericBinner(name: string, values: Float32Array, maxBins: number): NumericBinner {
  const present = Float64Array.from(values.filter((v) => !Number.isNaN(v))).sort();
  const distinct: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < present.length; i++) {
    if (distinct.length > 0 && present[i] === distinct[distinct.length - 1]) counts[counts.length - 1]++;
    else {
      distinct.push(present[i]);
      counts.push(1);
    }
  }
  const cuts: number[] = [];
  if (distinct.length <= maxBins) {
    for (let i = 0; i + 1 < distinct.length; i++) cuts.push(cutBetween(distinct[i], distinct[i + 1]));
  } else {
    // Greedy equal-frequency bins over distinct values: a value never straddles two bins, and a value heavier than
    // the running target bin size closes the current bin and gets one of its own.
    let remaining = present.length;
    let binsLeft = maxBins;
    let acc = 0;
    for (let i = 0; i + 1 < distinct.length && binsLeft > 1; i++) {
      const target = remaining / binsLeft;
      if (acc > 0 && counts[i] >= target) {
        cuts.push(cutBetween(distinct[i - 1], distinct[i]));
        remaining -= acc;
        binsLeft--;
        acc = 0;
        if (binsLeft <= 1) break;
      }
      acc += counts[i];
      if (acc >= remaining / binsLeft) {
        cuts.push(cutBetween(distinct[i], distinct[i + 1]));
        remaining -= acc;
        binsLeft--;
        acc = 0;
      }
    }
  }
  return { kind: 'numeric', name, thresholds: Float32Array.from(cuts), nBins: cuts.length + 1 };
}

export function fitCategoricalBinner(name: string, values: string[], maxCategories: number): CategoricalBinner {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  const categories = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, Math.min(maxCategories, MAX_CATEGORIES))
    .map(([c]) => c);
  return { kind: 'categorical', name, categories, nBins: categories.length };
}

/** bin(x) = smallest b with x <= thresholds[b], else nBins-1; NaN → MISSING_BIN. */
export function numericBin(thresholds: Float32Array, x: number): number {
  if (Number.isNaN(x)) return MISSING_BIN;
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x <= thresholds[mid]) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

export interface BinnedMatrix {
  /** row-major [rows × features] */
  bins: Uint8Array;
  rows: number;
  features: number;
}

export class FeatureBinning {
  constructor(readonly binners: Binner[]) {}

  static fit(
    table: TypedTable,
    rows: Uint32Array,
    features: FeatureColumn[],
    opts: { maxBins: number; maxCategories: number; sampleRows: Uint32Array },
  ): FeatureBinning {
    return new FeatureBinning(
      features.map((f) =>
        f.kind === 'numeric'
          ? fitNumericBinner(f.name, numericFeature(table, f.name, opts.sampleRows), opts.maxBins)
          : fitCategoricalBinner(f.name, categoricalFeature(table, f.name, rows), opts.maxCategories),
      ),
    );
  }

  transform(table: TypedTable, rows: ArrayLike<number>): BinnedMatrix {
    const F = this.binners.length;
    const n = rows.length;
    const bins = new Uint8Array(n * F);
    this.binners.forEach((b, f) => {
      if (b.kind === 'numeric') {
        const values = numericFeature(table, b.name, rows);
        for (let i = 0; i < n; i++) bins[i * F + f] = numericBin(b.thresholds, values[i]);
      } else {
        const values = categoricalFeature(table, b.name, rows);
        const index = new Map(b.categories.map((c, k) => [c, k]));
        for (let i = 0; i < n; i++) bins[i * F + f] = index.get(values[i]) ?? MISSING_BIN;
      }
    });
    return { bins, rows: n, features: F };
  }
}
