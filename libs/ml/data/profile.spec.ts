import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, rawColumns, SEATTLE_WEATHER_CSV } from './__fixtures__/tables';
import type { CategoricalColumnProfile, NumericColumnProfile } from './profile';
import { histogram, profileTable, quantileSorted } from './profile';
import { readDatasetFile } from './read';
import { inferTable } from './schema';

interface NumpyColumn {
  count: number;
  min: number;
  max: number;
  mean: number;
  std: number;
  quantiles: Record<string, number>;
  histogram: { edges: number[]; counts: number[] };
  quantileHistogram: { edges: number[]; counts: number[] };
}
const numpy = JSON.parse(readFileSync(join(FIXTURES, 'seattle-weather-profile.json'), 'utf8')) as {
  columns: Record<string, NumpyColumn> & { weather: { count: number; distinct: number; counts: Record<string, number> } };
};

function expectAllClose(actual: number[], expected: number[], tolerance = 1e-9): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => {
    if (Math.abs(v - expected[i]) > tolerance) throw new Error(`index ${i}: expected ${expected[i]}, got ${v}`);
  });
}

describe('profileTable on seattle-weather, checked against numpy', () => {
  let profile: ReturnType<typeof profileTable>;
  beforeAll(async () => {
    profile = profileTable(inferTable(await readDatasetFile(SEATTLE_WEATHER_CSV)));
  });

  it('describes itself', () => {
    expect(profile.version).toBe(1);
    expect(profile.rowCount).toBe(1461);
    expect(profile.conventions).toEqual({
      quantileMethod: 'linear',
      std: 'population',
      histogramBins: 20,
      quantileBins: 30,
      maxTopCategories: 100,
      datetimeUnit: 'epoch_ms',
    });
    expect(profile.columns.map((c) => [c.name, c.type])).toEqual([
      ['date', 'datetime'],
      ['precipitation', 'numeric'],
      ['temp_max', 'numeric'],
      ['temp_min', 'numeric'],
      ['wind', 'numeric'],
      ['weather', 'categorical'],
    ]);
  });

  it.each(['precipitation', 'temp_max', 'temp_min', 'wind'])('%s: moments, quantiles and both histograms', (name) => {
    const expected = numpy.columns[name];
    const column = profile.columns.find((c) => c.name === name) as NumericColumnProfile;
    expect(column).toMatchObject({ count: expected.count, missing: 0, missingRate: 0, min: expected.min, max: expected.max });
    expectAllClose([column.mean!, column.std!], [expected.mean, expected.std]);
    expectAllClose(Object.values(column.quantiles!), Object.values(expected.quantiles));
    expect(Object.keys(column.quantiles!)).toEqual(['p01', 'p05', 'p25', 'p50', 'p75', 'p95', 'p99']);
    expectAllClose(column.histogram.edges, expected.histogram.edges);
    expect(column.histogram.counts).toEqual(expected.histogram.counts);
    expectAllClose(column.quantileHistogram.edges, expected.quantileHistogram.edges);
    expect(column.quantileHistogram.counts).toEqual(expected.quantileHistogram.counts);
  });

  it('weather: every category with its count', () => {
    const column = profile.columns.find((c) => c.name === 'weather') as CategoricalColumnProfile;
    expect(column).toMatchObject({ count: 1461, missing: 0, distinct: 5, otherCount: 0 });
    expect(column.top).toEqual([
      { value: 'rain', count: 641 },
      { value: 'sun', count: 640 },
      { value: 'fog', count: 101 },
      { value: 'drizzle', count: 53 },
      { value: 'snow', count: 26 },
    ]);
  });

  it('date: a datetime column profiled in epoch milliseconds', () => {
    const column = profile.columns.find((c) => c.name === 'date') as NumericColumnProfile;
    expect(column.min).toBe(Date.UTC(2012, 0, 1));
    expect(column.max).toBe(Date.UTC(2015, 11, 31));
  });

  it('is plain JSON: survives a round trip unchanged', () => {
    expect(JSON.parse(JSON.stringify(profile))).toEqual(profile);
  });
});

describe('profileTable', () => {
  const table = inferTable(
    rawColumns({
      x: ['1', '2', null, '4', 'NA'],
      c: ['a', 'b', 'a', null, 'c'],
      empty: [null, null, null, null, null],
      same: ['3', '3', '3', '3', '3'],
    }),
    { empty: 'numeric' },
  );

  it('profiles only the named columns, in the given order; takes features or names', () => {
    const profile = profileTable(table, ['c', { name: 'x', kind: 'numeric' }]);
    expect(profile.columns.map((c) => c.name)).toEqual(['c', 'x']);
    expect(() => profileTable(table, ['nope'])).toThrow("cannot profile column 'nope': it is not in the table");
  });

  it('counts missing values and computes statistics from the rest', () => {
    const x = profileTable(table, ['x']).columns[0] as NumericColumnProfile;
    expect(x).toMatchObject({ count: 3, missing: 2, missingRate: 0.4, min: 1, max: 4 });
    expect(x.mean).toBeCloseTo(7 / 3, 12);
    expect(x.std).toBeCloseTo(Math.sqrt(((1 - 7 / 3) ** 2 + (2 - 7 / 3) ** 2 + (4 - 7 / 3) ** 2) / 3), 12);
    expect(x.histogram.counts.reduce((a, b) => a + b, 0)).toBe(3);
    expect(x.histogram.counts[19]).toBe(1); // the maximum lands in the last, closed bin
  });

  it('uses nulls, not NaN, for a column with no values', () => {
    const empty = profileTable(table, ['empty']).columns[0];
    expect(empty).toEqual({
      name: 'empty',
      type: 'numeric',
      count: 0,
      missing: 5,
      missingRate: 1,
      min: null,
      max: null,
      mean: null,
      std: null,
      quantiles: null,
      histogram: { edges: [], counts: [] },
      quantileHistogram: { edges: [], counts: [] },
    });
  });

  it('gives a constant column one bin', () => {
    const same = profileTable(table, ['same']).columns[0] as NumericColumnProfile;
    expect(same.std).toBe(0);
    expect(same.histogram).toEqual({ edges: [3, 3], counts: [5] });
    expect(same.quantileHistogram).toEqual({ edges: [3, 3], counts: [5] });
  });

  it('keeps the top 100 categories (count, then value) and counts the rest as other', () => {
    const values = Array.from({ length: 150 }, (_, i) => `v${String(i).padStart(3, '0')}`);
    const many = inferTable(rawColumns({ c: [...values, 'v149', 'v149', 'v120', null] }));
    const c = profileTable(many).columns[0] as CategoricalColumnProfile;
    expect(c.distinct).toBe(150);
    expect(c.top).toHaveLength(100);
    expect(c.top.slice(0, 3)).toEqual([
      { value: 'v149', count: 3 },
      { value: 'v120', count: 2 },
      { value: 'v000', count: 1 },
    ]);
    expect(c.otherCount).toBe(153 - c.top.reduce((s, t) => s + t.count, 0));
    expect(c.otherCount).toBe(50);
    expect(c.missing).toBe(1);
  });
});

describe('quantileSorted and histogram', () => {
  it('interpolates linearly between order statistics', () => {
    const sorted = [1, 2, 3, 4];
    expect(quantileSorted(sorted, 0)).toBe(1);
    expect(quantileSorted(sorted, 1)).toBe(4);
    expect(quantileSorted(sorted, 0.5)).toBe(2.5);
    expect(quantileSorted(sorted, 0.25)).toBe(1.75);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  it('puts values on an inner edge in the upper bin, the maximum in the last bin', () => {
    expect(histogram([0, 1, 1, 2, 3], [0, 1, 2, 3])).toEqual({ edges: [0, 1, 2, 3], counts: [1, 2, 2] });
  });
});
