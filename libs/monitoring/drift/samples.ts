/**
 * A column's sample as the drift statistics read it, cleaned and summarized once: numeric samples sorted (missing
 * values dropped and counted), categorical samples as counts per category. A reference is prepared once and
 * compared with every monitoring window, so the expensive part (the sort) is never repeated for it.
 */
import { countDistinctSorted, finiteValues, sortFloat64 } from './sort';
import { populationStd } from './stattests';

export type CategoryKey = string | number;

/**
 * Categorical values: strings (null or undefined is missing), or numbers — category values or codes of one shared
 * dictionary. In a Float64Array NaN and ±Infinity are missing; in an Int32Array negative codes are missing.
 */
export type CategoricalValues = ReadonlyArray<string | null | undefined> | Float64Array | Int32Array;

export interface NumericSample {
  readonly kind: 'numeric';
  /** finite values, ascending */
  readonly sorted: Float64Array;
  /** NaN or ±Infinity (Evidently drops both) */
  readonly missing: number;
  /** population standard deviation of the finite values (NaN when there are none) */
  readonly std: number;
  /** distinct finite values */
  readonly distinct: number;
}

export interface CategoricalSample {
  readonly kind: 'categorical';
  readonly counts: ReadonlyMap<CategoryKey, number>;
  /** values present */
  readonly size: number;
  readonly missing: number;
}

export type DriftSample = NumericSample | CategoricalSample;

export function numericSample(values: ArrayLike<number>): NumericSample {
  const { values: present, missing } = finiteValues(values);
  const sorted = sortFloat64(present);
  return { kind: 'numeric', sorted, missing, std: populationStd(sorted), distinct: countDistinctSorted(sorted) };
}

export function categoricalSample(values: CategoricalValues): CategoricalSample {
  if (values instanceof Int32Array) return codeSample(values);
  // One map lookup per value: categories map to slots of a plain count array.
  const slots = new Map<CategoryKey, number>();
  const slotCounts: number[] = [];
  let missing = 0;
  const numeric = values instanceof Float64Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (numeric ? !Number.isFinite(v) : v === null || v === undefined) {
      missing++;
      continue;
    }
    const slot = slots.get(v as CategoryKey);
    if (slot === undefined) {
      slots.set(v as CategoryKey, slotCounts.length);
      slotCounts.push(1);
    } else {
      slotCounts[slot]++;
    }
  }
  const counts = new Map<CategoryKey, number>();
  for (const [key, slot] of slots) counts.set(key, slotCounts[slot]);
  return { kind: 'categorical', counts, size: values.length - missing, missing };
}

/** Dictionary codes count into an array (no hashing), then become a map of the codes that occur. */
function codeSample(codes: Int32Array): CategoricalSample {
  let max = -1;
  for (let i = 0; i < codes.length; i++) if (codes[i] > max) max = codes[i];
  const dense = new Float64Array(max + 1);
  let missing = 0;
  for (let i = 0; i < codes.length; i++) {
    const c = codes[i];
    if (c < 0) missing++;
    else dense[c]++;
  }
  const counts = new Map<CategoryKey, number>();
  for (let c = 0; c <= max; c++) if (dense[c] > 0) counts.set(c, dense[c]);
  return { kind: 'categorical', counts, size: codes.length - missing, missing };
}

export function sampleSize(sample: DriftSample): number {
  return sample.kind === 'numeric' ? sample.sorted.length : sample.size;
}

export function distinctValues(sample: DriftSample): number {
  return sample.kind === 'numeric' ? sample.distinct : sample.counts.size;
}

/** Counts of both samples aligned on the union of their categories (reference categories first). */
export interface AlignedCounts {
  keys: CategoryKey[];
  reference: Float64Array;
  current: Float64Array;
  /** categories present in the current sample and absent from the reference */
  unseen: number;
}

export function alignCategories(reference: CategoricalSample, current: CategoricalSample): AlignedCounts {
  const keys = [...reference.counts.keys()];
  let unseen = 0;
  for (const key of current.counts.keys()) {
    if (!reference.counts.has(key)) {
      keys.push(key);
      unseen++;
    }
  }
  const ref = new Float64Array(keys.length);
  const cur = new Float64Array(keys.length);
  keys.forEach((key, i) => {
    ref[i] = reference.counts.get(key) ?? 0;
    cur[i] = current.counts.get(key) ?? 0;
  });
  return { keys, reference: ref, current: cur, unseen };
}

/** Per-value counts of two sorted numeric samples on the union of their values (ascending), one merge walk. */
export function alignValues(a: Float64Array, b: Float64Array): AlignedCounts {
  const keys: number[] = [];
  const countsA: number[] = [];
  const countsB: number[] = [];
  let unseen = 0;
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = j >= b.length || (i < a.length && a[i] <= b[j]) ? a[i] : b[j];
    const i0 = i;
    const j0 = j;
    while (i < a.length && a[i] === x) i++;
    while (j < b.length && b[j] === x) j++;
    keys.push(x);
    countsA.push(i - i0);
    countsB.push(j - j0);
    if (i === i0) unseen++;
  }
  return { keys, reference: Float64Array.from(countsA), current: Float64Array.from(countsB), unseen };
}

/** Index of the smallest key (Python's sorted() order for one type: numbers ascending, strings by code unit). */
export function firstKeyIndex(keys: readonly CategoryKey[]): number {
  let best = 0;
  for (let i = 1; i < keys.length; i++) if (keys[i] < keys[best]) best = i;
  return best;
}
