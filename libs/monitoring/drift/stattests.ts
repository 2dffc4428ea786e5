/**
 * The drift statistics, each as Evidently 0.7 computes it (evidently/legacy/calculations/stattests/*.py) on top of
 * SciPy 1.17, from samples already cleaned of missing values: numeric samples sorted ascending, categorical samples
 * as counts per category aligned on the union of both samples' categories. stattests.spec.ts checks each against
 * SciPy to 1e-6 (most agree to ~1e-12).
 */
import { kolmogorovSf, roundHalfEven, twoSampleExactSf } from './kolmogorov';
import { lowerBound, upperBound } from './sort';
import { chiSquareSf, normalSf } from './special';

/** scipy.stats.ks_2samp method='auto' computes the exact distribution up to this many values in either sample. */
export const KS_EXACT_MAX_N = 10_000;

export interface KsResult {
  /** D = sup |F_ref − F_cur|; in exact mode snapped to the lattice h / lcm(n1, n2) as SciPy reports it */
  statistic: number;
  pValue: number;
  method: 'exact' | 'asymp';
}

/**
 * Two-sided two-sample Kolmogorov–Smirnov test, scipy.stats.ks_2samp(a, b) with method='auto': exact when neither
 * sample exceeds 10,000 values (falling back as SciPy does should the exact computation fail), otherwise
 * kstwo.sf(D, round(n1·n2 / (n1 + n2))). One merge walk over the sorted samples gives D.
 */
export function ksTwoSample(a: Float64Array, b: Float64Array): KsResult {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('the KS test needs values in both samples');
  let maxDiff = 0; // max of F_a − F_b
  let minDiff = 0; // min of F_a − F_b
  let i = 0;
  let j = 0;
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    while (i < n1 && a[i] === x) i++;
    while (j < n2 && b[j] === x) j++;
    // the same divisions numpy makes (searchsorted(...) / n), so D is bit-for-bit SciPy's
    const diff = i / n1 - j / n2;
    if (diff > maxDiff) maxDiff = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  const d = minS > maxDiff ? minS : maxDiff;
  if (Math.max(n1, n2) <= KS_EXACT_MAX_N) {
    const exact = twoSampleExactSf(n1, n2, d);
    if (exact) return { statistic: exact.statistic, pValue: exact.pValue, method: 'exact' };
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  return { statistic: d, pValue: Math.min(Math.max(kolmogorovSf(roundHalfEven(en), d), 0), 1), method: 'asymp' };
}

export interface ChiSquareResult {
  /** Pearson's statistic; +Infinity when the current sample has a category the reference lacks (as SciPy) */
  statistic: number;
  pValue: number;
  dof: number;
}

/**
 * Evidently's `chisquare` drift test: scipy.stats.chisquare(f_obs = current counts, f_exp = reference counts ×
 * n_cur / n_ref) over the union of categories, k − 1 degrees of freedom. A category never seen in the reference
 * has f_exp = 0, which makes the statistic infinite and p = 0, as in SciPy. One category: p = 1 (SciPy has no
 * chi-square with 0 degrees of freedom and returns NaN; Evidently then reports no drift, as does p = 1).
 */
export function chiSquareTest(referenceCounts: Float64Array, currentCounts: Float64Array): ChiSquareResult {
  const k = referenceCounts.length;
  const nRef = sum(referenceCounts);
  const nCur = sum(currentCounts);
  const scale = nCur / nRef;
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const expected = referenceCounts[i] * scale;
    const observed = currentCounts[i];
    const delta = observed - expected;
    if (delta !== 0) statistic += (delta * delta) / expected; // expected = 0 < observed gives +Infinity
  }
  const dof = k - 1;
  if (dof < 1) return { statistic, pValue: 1, dof };
  return { statistic, pValue: statistic === Infinity ? 0 : chiSquareSf(statistic, dof), dof };
}

/**
 * Chi-square test of homogeneity, scipy.stats.chi2_contingency([reference counts, current counts]) with its defaults:
 * both samples are treated as draws, so the reference's own sampling noise is accounted for, unlike the
 * goodness-of-fit `chiSquareTest`, whose false-alarm rate grows with the window/reference ratio. Expected counts come
 * from the pooled shares; with one degree of freedom Yates' continuity correction moves every observed count up to
 * 0.5 towards its expected count (SciPy's `correction=True`). A category only one sample has gives a finite statistic.
 * One category: p = 1 (no degrees of freedom; SciPy returns statistic 0 and p 1).
 */
export function chiSquareContingency(referenceCounts: Float64Array, currentCounts: Float64Array): ChiSquareResult {
  const k = referenceCounts.length;
  const nRef = sum(referenceCounts);
  const nCur = sum(currentCounts);
  const n = nRef + nCur;
  const dof = k - 1;
  if (dof < 1) return { statistic: 0, pValue: 1, dof: 0 };
  const yates = dof === 1;
  let statistic = 0;
  for (let i = 0; i < k; i++) {
    const column = referenceCounts[i] + currentCounts[i];
    for (const [observed, rowTotal] of [
      [referenceCounts[i], nRef],
      [currentCounts[i], nCur],
    ] as const) {
      const expected = (rowTotal * column) / n;
      let delta = observed - expected;
      if (yates) delta = Math.sign(delta) * Math.max(0, Math.abs(delta) - 0.5);
      statistic += (delta * delta) / expected;
    }
  }
  return { statistic, pValue: chiSquareSf(statistic, dof), dof };
}

export interface ZResult {
  statistic: number;
  pValue: number;
}

/**
 * Evidently's `z` drift test (two-proportion Z-test, pooled variance): the share of values other than the first
 * category (in sorted order) in each sample, p = 2·(1 − Φ(|z|)). Both samples holding one and the same single
 * category is no drift (p = 1) as in Evidently. Where the pooled share is 0 or 1 some other way (only possible with
 * three or more categories forced onto this test) Evidently divides 0 by 0 and gets NaN — no drift; p = 1 here.
 * The tail is computed as erfc, so p-values below 1e-16 are kept where Evidently's 1 − Φ rounds them to 0.
 */
export function proportionsZTest(referenceCounts: Float64Array, currentCounts: Float64Array, firstCategory: number): ZResult {
  const nRef = sum(referenceCounts);
  const nCur = sum(currentCounts);
  const p1 = (nRef - referenceCounts[firstCategory]) / nRef;
  const p2 = (nCur - currentCounts[firstCategory]) / nCur;
  const pooled = (p1 * nRef + p2 * nCur) / (nRef + nCur);
  const variance = pooled * (1 - pooled) * (1 / nRef + 1 / nCur);
  if (!(variance > 0)) return { statistic: 0, pValue: 1 };
  const z = (p1 - p2) / Math.sqrt(variance);
  return { statistic: z, pValue: Math.min(1, 2 * normalSf(Math.abs(z))) };
}

/**
 * First Wasserstein distance between two samples, scipy.stats.wasserstein_distance: ∫ |F_a − F_b| over the pooled
 * values, one merge walk over the sorted samples.
 */
export function wassersteinDistance(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 === 0 || n2 === 0) throw new RangeError('the Wasserstein distance needs values in both samples');
  let i = 0;
  let j = 0;
  // All terms are ≥ 0, so summing in blocks keeps the rounding error near (block + n / block) ε without the cost
  // of compensated summation on two million terms.
  let total = 0;
  let block = 0;
  let inBlock = 0;
  let previous = Math.min(a[0], b[0]);
  while (i < n1 || j < n2) {
    const x = j >= n2 || (i < n1 && a[i] <= b[j]) ? a[i] : b[j];
    block += Math.abs(i / n1 - j / n2) * (x - previous);
    if (++inBlock === 4096) {
      total += block;
      block = 0;
      inBlock = 0;
    }
    while (i < n1 && a[i] === x) i++;
    while (j < n2 && b[j] === x) j++;
    previous = x;
  }
  return total + block;
}

/** Population standard deviation (numpy.std, ddof = 0), two-pass. */
export function populationStd(values: Float64Array): number {
  const n = values.length;
  if (n === 0) return Number.NaN;
  const mean = sum(values) / n;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i] - mean;
    squares += d * d;
  }
  return Math.sqrt(squares / n);
}

/** Evidently divides the Wasserstein distance by the reference std, but never by less than this. */
export const WASSERSTEIN_MIN_NORM = 0.001;

/**
 * Evidently's `wasserstein` drift score: scipy.stats.wasserstein_distance(ref, cur) / max(std(ref), 0.001), so the
 * 0.1 threshold means "the mass moved a tenth of a reference standard deviation".
 */
export function wassersteinNormed(reference: Float64Array, current: Float64Array, referenceStd = populationStd(reference)): { distance: number; normed: number } {
  const distance = wassersteinDistance(reference, current);
  return { distance, normed: distance / Math.max(referenceStd, WASSERSTEIN_MIN_NORM) };
}

/**
 * Jensen–Shannon distance, scipy.spatial.distance.jensenshannon(p, q) with the natural log: both vectors
 * normalized to sum 1, sqrt((KL(p‖m) + KL(q‖m)) / 2) with m the mean.
 */
export function jensenShannonDistance(p: Float64Array, q: Float64Array): number {
  const sp = sum(p);
  const sq = sum(q);
  let js = 0;
  for (let i = 0; i < p.length; i++) {
    const pi = p[i] / sp;
    const qi = q[i] / sq;
    const m = (pi + qi) / 2;
    if (pi > 0) js += pi * Math.log(pi / m); // scipy.special.rel_entr: 0 when the first argument is 0
    if (qi > 0) js += qi * Math.log(qi / m);
  }
  return Math.sqrt(Math.max(js, 0) / 2);
}

/**
 * Evidently's `psi`: Σ (r − c) · ln(r / c) over the bins' shares, after Evidently's zero filling (`feel_zeroes`):
 * empty bins of a sample get min(non-empty share) / 10^6 when that minimum is ≤ 0.0001, else 0.0001. The inputs are
 * shares (count / sample size) and are filled in place.
 */
export function populationStabilityIndex(referenceShares: Float64Array, currentShares: Float64Array): number {
  fillZeroes(referenceShares);
  fillZeroes(currentShares);
  let psi = 0;
  for (let i = 0; i < referenceShares.length; i++) {
    const r = referenceShares[i];
    const c = currentShares[i];
    psi += (r - c) * Math.log(r / c);
  }
  return psi;
}

function fillZeroes(shares: Float64Array): void {
  let min = Infinity;
  for (let i = 0; i < shares.length; i++) if (shares[i] !== 0 && shares[i] < min) min = shares[i];
  if (min === Infinity) return;
  const fill = min <= 0.0001 ? min / 10 ** 6 : 0.0001;
  for (let i = 0; i < shares.length; i++) if (shares[i] === 0) shares[i] = fill;
}

/**
 * numpy.histogram_bin_edges(pooled, bins='sturges'), which is how Evidently bins numeric columns with more than 20
 * distinct reference values for PSI and Jensen–Shannon (its `n_bins=30` argument is not used for them): width =
 * range / (log2(n) + 1), ceil(range / width) equal bins from the pooled minimum to the pooled maximum, the edges
 * from numpy.linspace (start + i·step, the last edge exactly the maximum).
 */
export function sturgesEdges(min: number, max: number, pooledSize: number): Float64Array {
  let first = min;
  let last = max;
  if (first === last) {
    first -= 0.5;
    last += 0.5;
  }
  const width = (max - min) / (Math.log2(pooledSize) + 1);
  const bins = width ? Math.ceil((last - first) / width) : 1;
  const edges = new Float64Array(bins + 1);
  const step = (last - first) / bins;
  for (let i = 0; i <= bins; i++) edges[i] = i * step + first;
  edges[bins] = last;
  return edges;
}

/**
 * numpy.histogram(sorted, bins=edges) for values sorted ascending: bins [e_i, e_{i+1}), the last one closed,
 * values outside [e_0, e_n] not counted. Binary searches on the edges, so O(bins · log n).
 */
export function histogramSorted(sorted: Float64Array, edges: Float64Array): Float64Array {
  const bins = edges.length - 1;
  const counts = new Float64Array(bins);
  let below = lowerBound(sorted, edges[0]);
  for (let i = 0; i < bins; i++) {
    const next = i === bins - 1 ? upperBound(sorted, edges[bins]) : lowerBound(sorted, edges[i + 1]);
    counts[i] = next - below;
    below = next;
  }
  return counts;
}

/** Shares of a sample per bin or category (count / sample size), as Evidently's get_binned_data divides. */
export function shares(counts: Float64Array, sampleSize: number): Float64Array {
  const out = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) out[i] = counts[i] / sampleSize;
  return out;
}

export function sum(values: ArrayLike<number>): number {
  // pairwise summation, as numpy sums: error O(log n · ε) rather than O(n · ε)
  return pairwiseSum(values, 0, values.length);
}

function pairwiseSum(values: ArrayLike<number>, start: number, end: number): number {
  if (end - start <= 128) {
    let s = 0;
    for (let i = start; i < end; i++) s += values[i];
    return s;
  }
  const mid = start + Math.floor((end - start) / 2);
  return pairwiseSum(values, start, mid) + pairwiseSum(values, mid, end);
}
