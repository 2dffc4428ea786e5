import type { JsonNumbers } from './__fixtures__/fixtures';
import { expectClose, fixtures, toFloat64 } from './__fixtures__/fixtures';
import type { ColumnDriftResult, DriftTable } from './drift';
import { compareSamples, defaultMethod, detectColumnDrift, detectDrift, prepareReference } from './drift';
import { categoricalSample, numericSample } from './samples';

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
}

/** Box–Muller normals from a seeded generator: fixed data without numpy. */
function normals(n: number, mean: number, sd: number, seed: number): Float64Array {
  const random = lcg(seed);
  return Float64Array.from({ length: n }, () => mean + sd * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
}

function labels(n: number, weights: Record<string, number>, seed: number): string[] {
  const random = lcg(seed);
  const entries = Object.entries(weights);
  return Array.from({ length: n }, () => {
    let u = random();
    for (const [label, w] of entries) if ((u -= w) < 0) return label;
    return entries[entries.length - 1][0];
  });
}

function expectJsonSafe(result: unknown): void {
  expect(JSON.parse(JSON.stringify(result))).toEqual(result);
}

describe(`column drift decides as Evidently ${fixtures.versions.evidently ?? '(not installed when the fixtures were made)'}`, () => {
  if (fixtures.evidently.length === 0) {
    it.skip('fixtures have no Evidently section: rerun make_fixtures.py with evidently installed', () => undefined);
    return;
  }

  it('covers every automatic method', () => {
    expect(new Set(fixtures.evidently.map((c) => c.method))).toEqual(new Set(['ks', 'chisquare', 'z', 'wasserstein', 'jensenshannon']));
  });

  it.each(fixtures.evidently.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const result =
      c.kind === 'numeric'
        ? detectColumnDrift({ name, kind: 'numeric', reference: toFloat64(c.reference as JsonNumbers), current: toFloat64(c.current as JsonNumbers) })
        : detectColumnDrift({ name, kind: 'categorical', reference: c.reference as string[], current: c.current as string[] });
    expect({ method: result.method, threshold: result.threshold, drift: result.status === 'drift' }).toEqual({
      method: c.method,
      threshold: c.threshold,
      drift: c.drift,
    });
    expectClose(result.score, c.score, `${name} score`, 1e-300);
    expectJsonSafe(result);
  });
});

describe('automatic method choice (Evidently _get_default_stattest)', () => {
  it.each([
    ['numeric', 1000, 6, 'ks'],
    ['numeric', 1000, 5, 'chisquare'],
    ['numeric', 1000, 3, 'chisquare'],
    ['numeric', 1000, 2, 'z'],
    ['numeric', 1001, 6, 'wasserstein'],
    ['numeric', 1001, 5, 'jensenshannon'],
    ['categorical', 1000, 50, 'chisquare'],
    ['categorical', 1000, 2, 'z'],
    ['categorical', 1001, 2, 'jensenshannon'],
  ] as const)('%s with %d reference values and %d distinct → %s', (kind, referenceCount, distinct, method) => {
    expect(defaultMethod(kind, referenceCount, distinct)).toBe(method);
  });
});

describe('edge cases', () => {
  it('identical samples do not drift, whatever the method', () => {
    const small = normals(500, 0, 1, 1);
    const large = normals(5000, 0, 1, 2);
    const cats = labels(3000, { a: 0.5, b: 0.3, c: 0.2 }, 3);
    const ks = detectColumnDrift({ name: 'x', kind: 'numeric', reference: small, current: small });
    expect(ks).toMatchObject({ method: 'ks', status: 'no_drift', statistic: 0, pValue: 1, psi: 0, psiLevel: 'stable' });
    const w = detectColumnDrift({ name: 'x', kind: 'numeric', reference: large, current: large });
    expect(w).toMatchObject({ method: 'wasserstein', status: 'no_drift', score: 0, psi: 0 });
    const js = detectColumnDrift({ name: 'c', kind: 'categorical', reference: cats, current: cats });
    expect(js).toMatchObject({ method: 'jensenshannon', status: 'no_drift', score: 0, psi: 0 });
    const chi = detectColumnDrift({ name: 'c', kind: 'categorical', reference: cats.slice(0, 900), current: cats.slice(0, 900) });
    expect(chi).toMatchObject({ method: 'chisquare', status: 'no_drift', statistic: 0, pValue: 1 });
  });

  it('disjoint samples drift, with the statistic at its maximum', () => {
    const reference = normals(800, 0, 1, 4);
    const current = normals(600, 100, 1, 5);
    const result = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current });
    expect(result).toMatchObject({ method: 'ks', status: 'drift', statistic: 1, psiLevel: 'significant' });
    expect(result.pValue).toBeLessThan(1e-100);
    const large = detectColumnDrift({ name: 'x', kind: 'numeric', reference: normals(2000, 0, 1, 6), current });
    expect(large.method).toBe('wasserstein');
    expect(large.score).toBeGreaterThan(90); // ≈ 100 reference standard deviations
    const cats = detectColumnDrift({ name: 'c', kind: 'categorical', reference: labels(2000, { a: 0.5, b: 0.5 }, 7), current: labels(500, { c: 0.5, d: 0.5 }, 8) });
    expect(cats).toMatchObject({ method: 'jensenshannon', status: 'drift', current: { unseenCategories: 2 } });
    expect(cats.score).toBeCloseTo(Math.sqrt(Math.LN2), 12); // the JS distance's maximum, with the natural log
  });

  it('constant columns: equal constants do not drift, different ones do', () => {
    const five = new Float64Array(600).fill(5);
    const six = new Float64Array(400).fill(6);
    expect(detectColumnDrift({ name: 'k', kind: 'numeric', reference: five, current: five.subarray(0, 400) })).toMatchObject({ method: 'z', status: 'no_drift', pValue: 1 });
    const moved = detectColumnDrift({ name: 'k', kind: 'numeric', reference: five, current: six });
    expect(moved).toMatchObject({ method: 'z', status: 'drift' });
    // a constant reference with > 1000 values and a spread current sample: Wasserstein normed by the 0.001 floor
    const spread = detectColumnDrift({ name: 'k', kind: 'numeric', reference: new Float64Array(1500).fill(5), current: normals(900, 5, 0.01, 9) });
    expect(spread.method).toBe('wasserstein');
    expect(spread.score).toBeCloseTo(spread.statistic! / 0.001, 9);
    expect(spread.status).toBe('drift');
  });

  it('excludes missing values from the statistic and reports how many there were', () => {
    const reference = normals(700, 0, 1, 10);
    const current = normals(500, 0, 1, 11);
    const holed = current.slice();
    for (let i = 0; i < holed.length; i += 5) holed[i] = Number.NaN;
    holed[1] = Infinity;
    const result = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: holed });
    const present = Float64Array.from(holed).filter((v) => Number.isFinite(v));
    const clean = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: present });
    expect(result.current).toEqual({ rows: 500, count: present.length, missing: 500 - present.length, distinct: present.length });
    expect(result.pValue).toBe(clean.pValue);
    const cats = detectColumnDrift({ name: 'c', kind: 'categorical', reference: ['a', 'b', null, 'a', ...labels(100, { a: 0.5, b: 0.5 }, 12)], current: [null, undefined, ...labels(100, { a: 0.5, b: 0.5 }, 13)] });
    expect(cats.reference.missing).toBe(1);
    expect(cats.current).toMatchObject({ rows: 102, count: 100, missing: 2 });
  });

  it('a category unseen in the reference makes chi-square infinite (null in JSON) and p = 0', () => {
    const reference = labels(600, { a: 0.5, b: 0.3, c: 0.2 }, 14);
    const current = [...labels(400, { a: 0.5, b: 0.3, c: 0.2 }, 15), 'new'];
    const result = detectColumnDrift({ name: 'c', kind: 'categorical', reference, current });
    expect(result).toMatchObject({ method: 'chisquare', status: 'drift', statistic: null, pValue: 0, current: { unseenCategories: 1 } });
    expectJsonSafe(result);
  });

  it('too few values are insufficient_data, never no_drift', () => {
    const reference = normals(500, 0, 1, 16);
    const few = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: normals(29, 0, 1, 17) });
    expect(few).toMatchObject({ status: 'insufficient_data', method: null, score: null, pValue: null, psi: null });
    expect(few.reason).toMatch(/29 current value\(s\), fewer than the 30 needed/);
    const mostlyMissing = Float64Array.from(normals(200, 0, 1, 18), (v, i) => (i % 10 === 0 ? v : Number.NaN));
    expect(detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: mostlyMissing }).status).toBe('insufficient_data');
    expect(detectColumnDrift({ name: 'x', kind: 'numeric', reference: reference.subarray(0, 10), current: reference }).reason).toMatch(/10 reference value/);
    expect(detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: new Float64Array(0) }).status).toBe('insufficient_data');
    // the minimum is an option; with it lowered the same tiny sample is tested
    const tiny = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: normals(5, 3, 1, 19) }, { minCurrentSamples: 5 });
    expect(tiny).toMatchObject({ method: 'ks', ksMethod: 'exact', status: 'drift' });
  });

  it('accepts categorical values as strings, numbers or dictionary codes alike', () => {
    const strings = labels(900, { x: 0.6, y: 0.3, z: 0.1 }, 20);
    const shifted = labels(700, { x: 0.5, y: 0.3, z: 0.2 }, 21);
    const code = (s: (string | null)[]) => Int32Array.from(s, (v) => (v === null ? -1 : 'xyz'.indexOf(v)));
    const number = (s: (string | null)[]) => Float64Array.from(s, (v) => (v === null ? Number.NaN : 10 * 'xyz'.indexOf(v)));
    const fromStrings = detectColumnDrift({ name: 'c', kind: 'categorical', reference: strings, current: shifted });
    const fromCodes = detectColumnDrift({ name: 'c', kind: 'categorical', reference: code(strings), current: code([...shifted, null]) });
    const fromNumbers = detectColumnDrift({ name: 'c', kind: 'categorical', reference: number(strings), current: number(shifted) });
    expect(fromCodes.pValue).toBeCloseTo(fromStrings.pValue!, 14);
    expect(fromNumbers.pValue).toBeCloseTo(fromStrings.pValue!, 14);
    expect(fromCodes.current.missing).toBe(1);
  });

  it('leaves the caller’s arrays as they were', () => {
    const reference = normals(3000, 0, 1, 22);
    const copy = reference.slice();
    detectColumnDrift({ name: 'x', kind: 'numeric', reference, current: normals(100, 0, 1, 23) });
    expect(reference).toEqual(copy);
  });
});

describe('options', () => {
  const reference = normals(800, 0, 1, 30);
  const current = normals(600, 0.12, 1, 31);

  it('overrides method and threshold per column, per kind, or both', () => {
    const auto = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current });
    expect(auto).toMatchObject({ method: 'ks', methodChosenBy: 'auto', threshold: 0.05 });
    const psi = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current }, { columnOptions: { x: { method: 'psi', threshold: 0.5 } } });
    expect(psi).toMatchObject({ method: 'psi', methodChosenBy: 'option', threshold: 0.5, status: 'no_drift' });
    expect(psi.score).toBe(psi.psi);
    const byKind = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current }, { numeric: { method: 'wasserstein', threshold: 0.01 } });
    expect(byKind).toMatchObject({ method: 'wasserstein', status: 'drift', threshold: 0.01 });
    const columnWins = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current }, { numeric: { method: 'wasserstein' }, columnOptions: { x: { method: 'jensenshannon' } } });
    expect(columnWins.method).toBe('jensenshannon');
    const strict = detectColumnDrift({ name: 'x', kind: 'numeric', reference, current }, { columnOptions: { x: { threshold: 1e-12 } } });
    expect(strict).toMatchObject({ method: 'ks', threshold: 1e-12, status: 'no_drift' });
  });

  it('rejects options that cannot apply', () => {
    const column = { name: 'c', kind: 'categorical' as const, reference: ['a'], current: ['b'] };
    expect(() => detectColumnDrift(column, { categorical: { method: 'ks' } })).toThrow(RangeError);
    expect(() => detectColumnDrift(column, { columnOptions: { c: { threshold: -1 } } })).toThrow(RangeError);
    expect(() => detectColumnDrift(column, { driftShare: 0 })).toThrow(RangeError);
    expect(() => detectColumnDrift(column, { minCurrentSamples: 0.5 })).toThrow(RangeError);
    expect(() => compareSamples('x', numericSample([1]), categoricalSample(['a']))).toThrow(/numeric in the reference but categorical/);
  });
});

describe('dataset drift', () => {
  const n = 2000;
  const reference: DriftTable = {
    numeric: { a: normals(n, 0, 1, 40), b: normals(n, 5, 2, 41), c: normals(n, -3, 1, 42), sparse: new Float64Array(n).fill(Number.NaN) },
    categorical: { colour: labels(n, { red: 0.5, green: 0.3, blue: 0.2 }, 43) },
  };
  const window = (shiftA: number, shiftB: number, rows = 1500): DriftTable => ({
    numeric: { a: normals(rows, shiftA, 1, 50), b: normals(rows, 5 + shiftB, 2, 51), c: normals(rows, -3, 1, 52), sparse: new Float64Array(rows).fill(Number.NaN) },
    categorical: { colour: labels(rows, { red: 0.5, green: 0.3, blue: 0.2 }, 53) },
  });

  it('drifts when at least driftShare of the tested columns drift; columns without data are not counted', () => {
    const prepared = prepareReference(reference);
    const calm = detectDrift(prepared, window(0, 0));
    expect(calm).toMatchObject({ status: 'no_drift', driftedColumns: 0, testedColumns: 4, insufficientColumns: 1, referenceRows: n, currentRows: 1500 });
    const one = detectDrift(prepared, window(1, 0));
    expect(one).toMatchObject({ status: 'no_drift', driftedColumns: 1, shareOfDriftedColumns: 0.25 });
    const two = detectDrift(prepared, window(1, 2));
    expect(two).toMatchObject({ status: 'drift', driftedColumns: 2, shareOfDriftedColumns: 0.5, driftShare: 0.5 });
    expect(detectDrift(prepared, window(1, 2), { driftShare: 0.75 }).status).toBe('no_drift');
    expect(two.columns.find((c) => c.column === 'sparse')).toMatchObject({ status: 'insufficient_data', current: { missing: 1500 } });
    expectJsonSafe(two);
  });

  it('a prepared reference gives the same answer as the raw table, and can be reused', () => {
    const prepared = prepareReference(reference, ['a', 'colour']);
    const fromPrepared = detectDrift(prepared, window(0.3, 0));
    const fromTable = detectDrift(reference, window(0.3, 0), { columns: ['a', 'colour'] });
    expect(fromPrepared).toEqual(fromTable);
    expect(fromPrepared.columns.map((c: ColumnDriftResult) => c.column)).toEqual(['a', 'colour']);
    expect(detectDrift(prepared, window(0.3, 0))).toEqual(fromPrepared);
  });

  it('a window with too few rows is insufficient_data as a whole', () => {
    const result = detectDrift(prepareReference(reference), window(5, 5, 12));
    expect(result).toMatchObject({ status: 'insufficient_data', testedColumns: 0, shareOfDriftedColumns: null, currentRows: 12 });
    expect(result.columns.every((c) => c.status === 'insufficient_data')).toBe(true);
  });

  it('names the column when the current window does not match the reference', () => {
    const { colour: _colour, ...numericOnly } = window(0, 0).categorical!;
    expect(() => detectDrift(reference, { ...window(0, 0), categorical: numericOnly })).toThrow(/'colour' is not in the current window/);
    expect(() => detectDrift(reference, { numeric: { ...window(0, 0).numeric, colour: new Float64Array(3) }, categorical: {} })).toThrow(/categorical in the reference but numeric/);
    expect(() => prepareReference(reference, ['nope'])).toThrow(/'nope' is not in the reference table/);
  });
});
