import { countDistinctSorted, countDistinctUnion, finiteValues, lowerBound, sortFloat64, upperBound } from './sort';

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

describe('sortFloat64', () => {
  it.each([
    ['wide normal-ish values', (u: number) => (u - 0.5) * 1e6],
    ['rounded integers (many ties, constant low bits)', (u: number) => Math.round((u - 0.5) * 100)],
    ['zeros, negative subnormals and huge magnitudes', (u: number) => (u < 0.2 ? -0 : u < 0.4 ? 0 : u < 0.6 ? -5e-324 * Math.ceil(u * 50) : u < 0.8 ? -u * 1e300 : u * 1e-310)],
  ])('sorts %s like the built-in sort', (_name, make) => {
    const random = lcg(42);
    for (const n of [0, 1, 7, 2047, 2048, 50_000]) {
      const values = Float64Array.from({ length: n }, () => make(random()));
      const expected = values.slice().sort();
      const actual = sortFloat64(values.slice());
      expect(actual.length).toBe(n);
      for (let i = 0; i < n; i++) if (actual[i] !== expected[i]) throw new Error(`n=${n}: index ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  });
});

describe('sorted-array helpers', () => {
  it('drops NaN and infinities and counts them', () => {
    const { values, missing } = finiteValues([1, Number.NaN, Infinity, -Infinity, 2]);
    expect(Array.from(values)).toEqual([1, 2]);
    expect(missing).toBe(3);
  });

  it('counts distinct values, stopping past a limit', () => {
    const a = Float64Array.of(1, 1, 2, 3, 3, 3);
    const b = Float64Array.of(0, 2, 4, 4);
    expect(countDistinctSorted(a)).toBe(3);
    expect(countDistinctSorted(a, 1)).toBe(2);
    expect(countDistinctUnion(a, b)).toBe(5);
    expect(countDistinctUnion(a, b, 2)).toBe(3);
    expect(countDistinctUnion(new Float64Array(0), new Float64Array(0))).toBe(0);
  });

  it('searches like numpy searchsorted', () => {
    const a = Float64Array.of(1, 2, 2, 2, 5);
    expect([0, 1, 2, 3, 6].map((x) => lowerBound(a, x))).toEqual([0, 0, 1, 4, 5]);
    expect([0, 1, 2, 3, 6].map((x) => upperBound(a, x))).toEqual([0, 1, 4, 4, 5]);
  });
});
