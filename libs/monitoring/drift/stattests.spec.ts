import { expectClose, fixtures } from './__fixtures__/fixtures';
import { alignCategories, alignValues, categoricalSample, firstKeyIndex, numericSample } from './samples';
import {
  chiSquareContingency,
  chiSquareTest,
  histogramSorted,
  jensenShannonDistance,
  ksTwoSample,
  populationStabilityIndex,
  populationStd,
  proportionsZTest,
  shares,
  sturgesEdges,
  wassersteinDistance,
  wassersteinNormed,
} from './stattests';

const sorted = (values: number[]) => numericSample(values).sorted;

/** Evidently's get_binned_data, from the library's pieces: Sturges bins above 20 distinct reference values. */
function binned(reference: number[], current: number[]): [Float64Array, Float64Array, number] {
  const ref = sorted(reference);
  const cur = sorted(current);
  if (new Set(reference).size > 20) {
    const edges = sturgesEdges(Math.min(ref[0], cur[0]), Math.max(ref[ref.length - 1], cur[cur.length - 1]), ref.length + cur.length);
    return [shares(histogramSorted(ref, edges), ref.length), shares(histogramSorted(cur, edges), cur.length), edges.length - 1];
  }
  const counts = alignValues(ref, cur);
  return [shares(counts.reference, ref.length), shares(counts.current, cur.length), counts.keys.length];
}

function categoricalShares(reference: string[], current: string[]): [Float64Array, Float64Array] {
  const counts = alignCategories(categoricalSample(reference), categoricalSample(current));
  return [shares(counts.reference, reference.length), shares(counts.current, current.length)];
}

describe(`two-sample KS matches scipy.stats.ks_2samp (SciPy ${fixtures.versions.scipy})`, () => {
  it('covers exact and asymptotic modes, ties, identical, disjoint and tiny samples', () => {
    expect(fixtures.ks_2samp.map((c) => c.name)).toEqual(
      expect.arrayContaining(['exact_equal_sizes', 'exact_unequal_sizes', 'exact_ties', 'asymp_1000_vs_12000', 'asymp_10001_vs_10001', 'identical', 'disjoint', 'tiny']),
    );
  });

  it.each(fixtures.ks_2samp.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const result = ksTwoSample(sorted(c.a), sorted(c.b));
    expectClose(result.statistic, c.statistic, `${name} statistic`);
    expectClose(result.pValue, c.pvalue, `${name} p-value`, 1e-300);
    expect(result.method).toBe(Math.max(c.a.length, c.b.length) <= 10_000 ? 'exact' : 'asymp');
    // the test is symmetric in its samples
    expectClose(ksTwoSample(sorted(c.b), sorted(c.a)).pValue, c.pvalue, `${name} swapped`, 1e-300);
  });
});

describe('chi-square as Evidently runs scipy.stats.chisquare', () => {
  it.each(fixtures.chisquare.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const counts = alignCategories(categoricalSample(c.reference), categoricalSample(c.current));
    const result = chiSquareTest(counts.reference, counts.current);
    // SciPy's infinite statistic (a category the reference never had) is null in JSON
    expectClose(Number.isFinite(result.statistic) ? result.statistic : null, c.statistic, `${name} statistic`);
    expectClose(result.pValue, c.pvalue, `${name} p-value`, 1e-300);
    expect(result.dof).toBe(counts.keys.length - 1);
  });

  it('a single category has nothing to test: p = 1', () => {
    expect(chiSquareTest(Float64Array.of(40), Float64Array.of(70))).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });
});

describe('chi-square test of homogeneity as scipy.stats.chi2_contingency', () => {
  // Expected values printed by SciPy 1.16: stats.chi2_contingency([reference, current]).
  it.each([
    ['three categories', [30, 50, 20], [45, 40, 15], 4.825396825396825, 0.08957326253887996, 2],
    ['two categories, with Yates correction', [70, 30], [55, 45], 4.181333333333333, 0.04087153408900628, 1],
    ['a category only the current sample has: finite, unlike goodness of fit', [70, 30, 0], [55, 40, 5], 8.228571428571428, 0.016337605961220244, 2],
  ] as const)('%s', (name, reference, current, statistic, pValue, dof) => {
    const result = chiSquareContingency(Float64Array.from(reference), Float64Array.from(current));
    expectClose(result.statistic, statistic, `${name} statistic`);
    expectClose(result.pValue, pValue, `${name} p-value`);
    expect(result.dof).toBe(dof);
  });

  it('a single category has nothing to test: p = 1', () => {
    expect(chiSquareContingency(Float64Array.of(40), Float64Array.of(70))).toEqual({ statistic: 0, pValue: 1, dof: 0 });
  });
});

describe("two-proportion Z-test as Evidently's z stattest", () => {
  it.each(fixtures.z.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const counts = alignCategories(categoricalSample(c.reference), categoricalSample(c.current));
    const result = proportionsZTest(counts.reference, counts.current, firstKeyIndex(counts.keys));
    expectClose(result.statistic, c.statistic, `${name} z`);
    // Evidently's 2·(1 − Φ(|z|)) rounds to multiples of 1.1e-16; erfc does not
    expectClose(result.pValue, c.pvalue, `${name} p-value`, 1e-15);
  });
});

describe('numeric distances match SciPy and Evidently', () => {
  it.each(fixtures.numeric_distances.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const ref = sorted(c.reference);
    const cur = sorted(c.current);
    expectClose(populationStd(ref), c.reference_std, `${name} std`);
    expectClose(wassersteinDistance(ref, cur), c.wasserstein, `${name} wasserstein_distance`);
    expectClose(wassersteinNormed(ref, cur).normed, c.wasserstein_normed, `${name} normed`);
    const [r, k, bins] = binned(c.reference, c.current);
    if (new Set(c.reference).size > 20) expect(bins).toBe(c.sturges_bins);
    expectClose(jensenShannonDistance(r, k), c.jensenshannon, `${name} jensenshannon`);
    expectClose(populationStabilityIndex(r.slice(), k.slice()), c.psi, `${name} psi`);
  });

  it.each(fixtures.categorical_distances.map((c) => [c.name, c] as const))('categorical %s', (name, c) => {
    const [r, k] = categoricalShares(c.reference, c.current);
    expectClose(jensenShannonDistance(r, k), c.jensenshannon, `${name} jensenshannon`);
    expectClose(populationStabilityIndex(r, k), c.psi, `${name} psi`);
  });

  it('identical samples are at distance 0', () => {
    const x = sorted([3, 1, 4, 1, 5, 9, 2, 6]);
    expect(wassersteinDistance(x, x)).toBe(0);
    const p = Float64Array.of(0.2, 0.3, 0.5);
    expect(jensenShannonDistance(p, p)).toBe(0);
    expect(populationStabilityIndex(p.slice(), p.slice())).toBe(0);
  });

  it('numpy.histogram semantics: half-open bins, the last one closed', () => {
    expect(Array.from(histogramSorted(Float64Array.of(0, 1, 1, 2, 3, 4), Float64Array.of(0, 1, 2, 4)))).toEqual([1, 2, 3]);
    expect(Array.from(sturgesEdges(5, 5, 10))).toEqual([4.5, 5.5]);
  });
});
