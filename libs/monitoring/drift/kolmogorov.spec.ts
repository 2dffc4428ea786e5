import { expectClose, fixtures } from './__fixtures__/fixtures';
import { kolmogorovSf, roundHalfEven, smirnovSf, twoSampleExactSf } from './kolmogorov';

describe(`Kolmogorov distributions match SciPy ${fixtures.versions.scipy}`, () => {
  // The grids cover every branch of scipy's _kolmogn (Ruben–Gambino, Durbin/MTW, Pomeranz, Pelz–Good, Smirnov,
  // the n > 140 cut-offs and n > 100,000) and of cephes' smirnov (x ≤ 1/n, x ≥ 1 − 1/n, n > 10^6).
  it('two-sided one-sample tail (scipy.stats.kstwo.sf)', () => {
    for (const [n, d, p] of fixtures.kstwo_sf) expectClose(kolmogorovSf(n, d), p, `kstwo.sf(${d}, ${n})`, 1e-300);
  });

  it('one-sided tail (scipy.special.smirnov)', () => {
    for (const [n, d, p] of fixtures.smirnov) expectClose(smirnovSf(n, d), p, `smirnov(${n}, ${d})`, 1e-300);
  });

  it('handles the edges of the support', () => {
    expect(kolmogorovSf(10, 0)).toBe(1);
    expect(kolmogorovSf(10, 1)).toBe(0);
    expect(kolmogorovSf(10, 0.04)).toBe(1); // d ≤ 1/2n: D_n is always at least 1/2n
    expect(kolmogorovSf(2.5, 0.3)).toBeNaN();
    expect(smirnovSf(1, 0.3)).toBeCloseTo(0.7, 15);
    expect(smirnovSf(5, 0)).toBe(1);
  });

  it('exact two-sample tails agree with the equal-size closed form and with symmetry', () => {
    // P(D_{n,n} ≥ 1) = 2 / C(2n, n): only the two fully separated orders reach D = 1
    expect(twoSampleExactSf(5, 5, 1)!.pValue).toBeCloseTo(2 / 252, 15);
    expect(twoSampleExactSf(3, 7, 0.4)!.pValue).toBeCloseTo(twoSampleExactSf(7, 3, 0.4)!.pValue, 15);
    expect(twoSampleExactSf(4, 6, 0)).toEqual({ statistic: 0, pValue: 1 });
  });

  it('rounds halves to even like numpy', () => {
    expect([0.5, 1.5, 2.5, 2.4, 2.6, 7].map(roundHalfEven)).toEqual([0, 2, 2, 2, 3, 7]);
  });
});
