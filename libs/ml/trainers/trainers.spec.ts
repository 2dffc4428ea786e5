import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FeatureColumn, Prediction, Task, TypedTable } from '../data/types';
import { readMlcycleMetadata } from '../onnx/contract';
import { runOnnxModel } from '../onnx/runner';
import { makeRng, resolveParams, sortClasses } from './common';
import { fitNumericBinner, numericBin, MISSING_BIN } from './gbdt/binning';
import { choleskySolve, lbfgs } from './linalg';
import { LinearPreprocessor } from './preprocessing';
import { BUILTIN_TRAINERS, getTrainer } from './registry';
import type { TrainedModel, TrainInput } from './types';
import { TrainerInputError, TrainerParamError, UnknownTrainerError } from './types';
import { trainInWorkerThread } from './worker-thread';

/** A TypedTable from plain columns (numbers → numeric, strings/null → categorical). */
function table(columns: Record<string, ArrayLike<number> | (string | null)[]>): TypedTable {
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, (string | null)[]> = {};
  let rowCount = 0;
  for (const [name, values] of Object.entries(columns)) {
    rowCount = values.length;
    if (Array.isArray(values) && values.some((v) => typeof v === 'string' || v === null)) categorical[name] = values as (string | null)[];
    else numeric[name] = Float64Array.from(values as ArrayLike<number>);
  }
  return {
    schema: { columns: Object.keys(columns).map((name) => ({ name, type: name in numeric ? 'numeric' : 'categorical', missingRate: 0 })) },
    rowCount,
    numeric,
    categorical,
  };
}

const range = (from: number, to: number) => Uint32Array.from({ length: to - from }, (_, i) => from + i);

/**
 * Synthetic data with signal in a numeric (x1), a numeric with missing values whose missingness is informative
 * (x2), and a categorical with a missing category (c); the last rows carry an unseen category and all-missing rows.
 */
function synthetic(n: number, seed = 7): TypedTable {
  const rng = makeRng(seed);
  const x1: number[] = [];
  const x2: number[] = [];
  const c: (string | null)[] = [];
  const yb: string[] = [];
  const ym: string[] = [];
  const yr: number[] = [];
  for (let i = 0; i < n; i++) {
    const a = rng() * 4 - 2;
    const missing = rng() < 0.15;
    const b = missing ? NaN : rng() * 10;
    const cat = ['red', 'green', 'blue', null][Math.floor(rng() * 4)];
    const z = 1.5 * a + (missing ? 1.2 : 0.25 * (b - 5)) + (cat === 'red' ? 1 : cat === 'green' ? -1 : cat === null ? 0.5 : 0) + (rng() - 0.5) * 0.8;
    x1.push(a);
    x2.push(b);
    c.push(cat);
    yb.push(z > 0.3 ? 'yes' : 'no');
    ym.push(z > 1 ? 'high' : z < -1 ? 'low' : 'mid');
    yr.push(3 * z + 10 + rng() * 0.5);
  }
  // tail rows: unseen category, everything missing
  const tail = 6;
  for (let i = n - tail; i < n; i++) {
    c[i] = i % 2 === 0 ? 'purple' : null;
    if (i >= n - 2) {
      x1[i] = NaN;
      x2[i] = NaN;
    }
  }
  return table({ x1, x2, c, yb, ym, yr });
}

const FEATURES: FeatureColumn[] = [
  { name: 'x1', kind: 'numeric' },
  { name: 'x2', kind: 'numeric' },
  { name: 'c', kind: 'categorical' },
];
const TARGETS: Record<Task, string> = { binary_classification: 'yb', multiclass_classification: 'ym', regression: 'yr' };

function input(data: TypedTable, task: Task, params: TrainInput['params'] = {}, n = data.rowCount): TrainInput {
  const cut = Math.floor(n * 0.7);
  return { table: data, features: FEATURES, target: TARGETS[task], task, trainRows: range(0, cut), validRows: range(cut, n - 10), params, seed: 3 };
}

async function expectOnnxMatches(model: TrainedModel, data: TypedTable, rows: Uint32Array, features = FEATURES): Promise<void> {
  const memory: Prediction = model.predict(data, rows);
  const onnx = await runOnnxModel(model.onnx, data, rows, features);
  if (memory.values) {
    expect(onnx.values).toHaveLength(rows.length);
    for (let i = 0; i < rows.length; i++) {
      expect(Math.abs(onnx.values![i] - memory.values[i])).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(memory.values[i])));
    }
    return;
  }
  expect(onnx.classes).toEqual(memory.classes);
  expect(onnx.labels).toEqual(memory.labels);
  let maxDiff = 0;
  for (let i = 0; i < memory.probabilities!.length; i++) maxDiff = Math.max(maxDiff, Math.abs(onnx.probabilities![i] - memory.probabilities![i]));
  expect(maxDiff).toBeLessThan(1e-5);
}

const data = synthetic(1200);
const cases: [string, Task][] = [];
for (const name of BUILTIN_TRAINERS) {
  for (const task of getTrainer(name).tasks) cases.push([name, task]);
}

describe('built-in trainers', () => {
  const trained = new Map<string, TrainedModel>();
  beforeAll(async () => {
    for (const [name, task] of cases) trained.set(`${name}/${task}`, await getTrainer(name).train(input(data, task)));
  });

  it('cover the expected trainer/task pairs', () => {
    expect(BUILTIN_TRAINERS).toEqual(['gbdt', 'logistic_regression', 'ridge']);
    expect(cases.map((c) => c.join('/'))).toEqual([
      'gbdt/binary_classification',
      'gbdt/multiclass_classification',
      'gbdt/regression',
      'logistic_regression/binary_classification',
      'logistic_regression/multiclass_classification',
      'ridge/regression',
    ]);
  });

  it.each(cases)('%s %s: ONNX output equals in-memory predict (incl. missing values and unseen categories)', async (name, task) => {
    const model = trained.get(`${name}/${task}`)!;
    // every row, including the tail with an unseen category and all-missing features
    await expectOnnxMatches(model, data, range(0, data.rowCount));
    const tail = range(data.rowCount - 6, data.rowCount);
    expect(data.categorical.c[data.rowCount - 6]).toBe('purple');
    expect(Number.isNaN(data.numeric.x1[data.rowCount - 1])).toBe(true);
    await expectOnnxMatches(model, data, tail);
  });

  it.each(cases)('%s %s: metadata and validation metrics', (name, task) => {
    const model = trained.get(`${name}/${task}`)!;
    const meta = readMlcycleMetadata(model.onnx);
    expect(meta.task).toBe(task);
    expect(meta.trainer).toBe(name);
    expect(meta.features).toEqual(FEATURES);
    expect(meta.target).toBe(TARGETS[task]);
    if (task === 'regression') {
      expect(meta.classes).toBeUndefined();
      expect(model.validationMetrics!.r2).toBeGreaterThan(0.8);
    } else {
      expect(meta.classes).toEqual(model.classes);
      expect(model.classes).toEqual(task === 'binary_classification' ? ['no', 'yes'] : ['high', 'low', 'mid']);
      expect(model.validationMetrics!.accuracy).toBeGreaterThan(0.8);
    }
  });

  it.each(cases)('%s %s: deterministic (same seed, same bytes)', async (name, task) => {
    const again = await getTrainer(name).train(input(data, task));
    expect(Buffer.from(again.onnx).equals(Buffer.from(trained.get(`${name}/${task}`)!.onnx))).toBe(true);
  });
});

describe('linear preprocessing', () => {
  it('imputes, standardizes and one-hot encodes like the graph', () => {
    const t = table({ x: [1, 2, 3, NaN, 4], c: ['a', 'b', 'a', null, 'z'] });
    const pre = LinearPreprocessor.fit(t, range(0, 4), [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], {
      impute: 'mean',
      maxCategories: 10,
    });
    expect(pre.columnNames()).toEqual(['x', 'c=a', 'c=<missing>', 'c=b']);
    const X = pre.transform(t, range(0, 5));
    const std = Math.sqrt(2 / 3); // population std of 1,2,3
    const expected = [
      [(1 - 2) / std, 1, 0, 0],
      [0, 0, 0, 1],
      [(3 - 2) / std, 1, 0, 0],
      [0, 0, 1, 0], // missing x → mean → 0; missing category has its own column
      [(4 - 2) / std, 0, 0, 0], // unseen category → all zeros
    ];
    for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) expect(X[i * 4 + j]).toBeCloseTo(expected[i][j], 6);
  });

  it('median imputation and max_categories', () => {
    const t = table({ x: [1, 2, 10, NaN], c: ['a', 'a', 'b', 'c'] });
    const pre = LinearPreprocessor.fit(t, range(0, 4), [{ name: 'x', kind: 'numeric' }, { name: 'c', kind: 'categorical' }], {
      impute: 'median',
      maxCategories: 1,
    });
    expect(pre.numeric[0].fill).toBe(2);
    expect(pre.categorical[0].categories).toEqual(['a']);
  });
});

describe('numerics', () => {
  it('choleskySolve solves an SPD system and rejects a singular one', () => {
    const A = Float64Array.of(4, 2, 2, 3);
    const x = choleskySolve(A, Float64Array.of(2, 1), 2)!;
    expect(x[0]).toBeCloseTo(0.5, 12);
    expect(x[1]).toBeCloseTo(0, 12);
    expect(choleskySolve(Float64Array.of(1, 1, 1, 1), Float64Array.of(1, 1), 2)).toBeUndefined();
  });

  it('lbfgs minimizes a badly scaled quadratic to its exact minimum', () => {
    const scales = [1, 100, 0.01, 10];
    const result = lbfgs(
      (x, g) => {
        let f = 0;
        for (let i = 0; i < x.length; i++) {
          const d = x[i] - (i + 1);
          f += 0.5 * scales[i] * d * d;
          g[i] = scales[i] * d;
        }
        return f;
      },
      new Float64Array(4),
      { maxIter: 200, gradTol: 1e-10 },
    );
    expect(result.converged).toBe(true);
    Array.from(result.x).forEach((v, i) => expect(v).toBeCloseTo(i + 1, 6));
  });

  it('ridge recovers exact linear coefficients with a tiny alpha', async () => {
    const rng = makeRng(1);
    const x1 = Array.from({ length: 200 }, () => rng() * 10);
    const x2 = Array.from({ length: 200 }, () => rng() * 5);
    const c = Array.from({ length: 200 }, (_, i) => ['p', 'q'][i % 2]);
    const y = x1.map((v, i) => 2 * v - 3 * x2[i] + (c[i] === 'q' ? 4 : 0) + 5);
    const t = table({ x1, x2, c, y });
    const features: FeatureColumn[] = [{ name: 'x1', kind: 'numeric' }, { name: 'x2', kind: 'numeric' }, { name: 'c', kind: 'categorical' }];
    const model = await getTrainer('ridge').train({ table: t, features, target: 'y', task: 'regression', trainRows: range(0, 150), validRows: range(150, 200), params: { alpha: 1e-9 }, seed: 0 });
    expect(model.validationMetrics!.rmse).toBeLessThan(1e-3);
    await expectOnnxMatches(model, t, range(0, 200), features);
  });
});

describe('gbdt specifics', () => {
  it('bins: x <= threshold[b] exactly when bin(x) <= b, in float32', () => {
    const rng = makeRng(5);
    const values = Float32Array.from({ length: 5000 }, () => (rng() < 0.05 ? NaN : Math.round(rng() * 1000) / 7));
    const binner = fitNumericBinner('x', values, 32);
    expect(binner.nBins).toBeLessThanOrEqual(32);
    let mismatches = 0;
    for (const x of values) {
      const bin = numericBin(binner.thresholds, x);
      if (Number.isNaN(x)) {
        if (bin !== MISSING_BIN) mismatches++;
        continue;
      }
      for (let b = 0; b < binner.thresholds.length; b++) if (x <= binner.thresholds[b] !== bin <= b) mismatches++;
    }
    expect(mismatches).toBe(0);
    // roughly equal-frequency: no bin holds more than 3x its share
    const counts = new Array<number>(binner.nBins).fill(0);
    for (const x of values) if (!Number.isNaN(x)) counts[numericBin(binner.thresholds, x)]++;
    expect(Math.max(...counts)).toBeLessThan((3 * values.length) / binner.nBins);
    const few = fitNumericBinner('y', Float32Array.of(1, 1, 2, 3, 3, 3), 255);
    expect(Array.from(few.thresholds)).toEqual([1.5, 2.5]);
  });

  it('learns where missing values go', async () => {
    // the label is "is x missing": only the missing-value direction can separate the classes
    const x = Array.from({ length: 400 }, (_, i) => (i % 2 === 0 ? NaN : i / 10));
    const y = x.map((v) => (Number.isNaN(v) ? 'missing' : 'present'));
    const t = table({ x, y });
    const features: FeatureColumn[] = [{ name: 'x', kind: 'numeric' }];
    const model = await getTrainer('gbdt').train({ table: t, features, target: 'y', task: 'binary_classification', trainRows: range(0, 300), validRows: range(300, 400), params: {}, seed: 0 });
    expect(model.validationMetrics!.accuracy).toBe(1);
    await expectOnnxMatches(model, t, range(0, 400), features);
  });

  it('respects max_leaf_nodes and max_iter, and early stopping shortens training', async () => {
    const small = await getTrainer('gbdt').train(input(data, 'regression', { max_leaf_nodes: 4, max_iter: 7, early_stopping: false }));
    expect(small.summary.iterations).toBe(7);
    expect(Number(small.summary.leaves)).toBeLessThanOrEqual(7 * 4);
    const stopped = await getTrainer('gbdt').train(input(data, 'binary_classification', { max_iter: 1000, learning_rate: 0.5 }));
    expect(Number(stopped.summary.iterations)).toBeLessThan(1000);
    expect(String(stopped.summary.stopReason)).toMatch(/early stopping/);
  });

  it('categorical-only features split one-vs-rest', async () => {
    const c = Array.from({ length: 300 }, (_, i) => ['a', 'b', 'c', 'd', 'e'][i % 5]);
    const y = c.map((v) => (v === 'c' || v === 'e' ? 'pos' : 'neg'));
    const t = table({ c, y });
    const features: FeatureColumn[] = [{ name: 'c', kind: 'categorical' }];
    const model = await getTrainer('gbdt').train({ table: t, features, target: 'y', task: 'binary_classification', trainRows: range(0, 200), validRows: range(200, 300), params: { min_samples_leaf: 5 }, seed: 0 });
    expect(model.validationMetrics!.accuracy).toBe(1);
    await expectOnnxMatches(model, table({ c: ['a', 'c', 'e', 'unseen', null], y: ['neg', 'pos', 'pos', 'neg', 'neg'] }), range(0, 5), features);
  });
});

describe('quality on real data (vega-datasets penguins)', () => {
  const file = path.join(__dirname, '../../../node_modules/vega-datasets/data/penguins.json');
  const rows = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string | number | null>[];
  const numericCols = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
  const columns: Record<string, number[] | (string | null)[]> = {};
  for (const c of numericCols) columns[c] = rows.map((r) => (typeof r[c] === 'number' ? (r[c] as number) : NaN));
  for (const c of ['Island', 'Sex', 'Species']) columns[c] = rows.map((r) => (r[c] === null || r[c] === '.' ? null : String(r[c])));
  const t = table(columns);
  const features: FeatureColumn[] = [...numericCols.map((name) => ({ name, kind: 'numeric' as const })), { name: 'Island', kind: 'categorical' }, { name: 'Sex', kind: 'categorical' }];
  // deterministic shuffle, 70/15/15
  const order = Array.from({ length: t.rowCount }, (_, i) => i);
  const rng = makeRng(11);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  const a = Math.floor(order.length * 0.7);
  const b = Math.floor(order.length * 0.85);
  const trainRows = Uint32Array.from(order.slice(0, a));
  const validRows = Uint32Array.from(order.slice(a, b));
  const testRows = Uint32Array.from(order.slice(b));
  const species = columns.Species as string[];
  const counts = new Map<string, number>();
  for (const r of testRows) counts.set(species[r], (counts.get(species[r]) ?? 0) + 1);
  const majority = Math.max(...counts.values()) / testRows.length;

  it.each(['gbdt', 'logistic_regression'])('%s is far above the majority baseline', async (name) => {
    const model = await getTrainer(name).train({ table: t, features, target: 'Species', task: 'multiclass_classification', trainRows, validRows, params: {}, seed: 1 });
    const prediction = await runOnnxModel(model.onnx, t, testRows, features);
    const accuracy = prediction.labels!.filter((l, i) => l === species[testRows[i]]).length / testRows.length;
    expect(majority).toBeLessThan(0.5);
    expect(accuracy).toBeGreaterThan(0.9);
  });
});

describe('parameters and errors', () => {
  it('unknown trainer lists the available ones', () => {
    expect(() => getTrainer('xgboost', ['sklearn'])).toThrow(UnknownTrainerError);
    expect(() => getTrainer('xgboost', ['sklearn'])).toThrow("unknown trainer 'xgboost'; available trainers: gbdt, logistic_regression, ridge, sklearn");
  });

  it('rejects unknown, mistyped and out-of-range params, all at once', () => {
    let error: TrainerParamError | undefined;
    try {
      resolveParams('gbdt', getTrainer('gbdt').paramSpecs, { max_itr: 3, learning_rate: -1, max_leaf_nodes: 2.5, early_stopping: 'yes' });
    } catch (err) {
      error = err as TrainerParamError;
    }
    expect(error).toBeInstanceOf(TrainerParamError);
    expect(error!.problems).toHaveLength(4);
    expect(error!.message).toMatch(/unknown parameter 'max_itr' \(known: max_iter,/);
    expect(error!.message).toMatch(/'learning_rate' must be > 0/);
    // numeric strings from YAML are accepted
    expect(resolveParams('gbdt', getTrainer('gbdt').paramSpecs, { max_iter: '50' as unknown as number }).max_iter).toBe(50);
  });

  it('logistic regression takes C or l2 but not both', () => {
    expect(() => getTrainer('logistic_regression').train(input(data, 'binary_classification', { C: 1, l2: 0.1 }))).toThrow(/either 'C' or 'l2'/);
  });

  it('rejects a task the trainer does not do, and a single-class target', () => {
    expect(() => getTrainer('ridge').train(input(data, 'binary_classification'))).toThrow(TrainerInputError);
    const t = table({ x1: [1, 2, 3], x2: [1, 2, 3], c: ['a', 'b', 'c'], yb: ['k', 'k', 'k'] });
    expect(() => getTrainer('gbdt').train({ ...input(t, 'binary_classification'), trainRows: range(0, 3), validRows: range(0, 0) })).toThrow(
      /single class 'k'/,
    );
  });

  it('sorts numeric class labels numerically', () => {
    expect(sortClasses(['10', '9', '1'])).toEqual(['1', '9', '10']);
    expect(sortClasses(['b', 'a', 'B'])).toEqual(['B', 'a', 'b']);
  });
});

describe('trainInWorkerThread', () => {
  it('trains off the main thread, reports progress and returns the same bytes as in-process training', async () => {
    const progress: [number, string][] = [];
    const task: Task = 'multiclass_classification';
    const result = await trainInWorkerThread({ ...input(data, task, { max_iter: 30 }), trainerName: 'gbdt' }, (fraction, message) =>
      progress.push([fraction, message]),
    );
    const local = await getTrainer('gbdt').train(input(data, task, { max_iter: 30 }));
    expect(Buffer.from(result.onnx).equals(Buffer.from(local.onnx))).toBe(true);
    expect(result.classes).toEqual(local.classes);
    expect(result.params.max_iter).toBe(30);
    expect(result.params.learning_rate).toBe(0.1);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[progress.length - 1][0]).toBe(1);
    expect(progress[progress.length - 1][1]).toMatch(/^done/);
  }, 30_000);

  it('passes trainer errors through with their type and problems', async () => {
    await expect(trainInWorkerThread({ ...input(data, 'regression', { alpha: -1 }), trainerName: 'ridge' })).rejects.toMatchObject({
      name: 'TrainerParamError',
      problems: ["'alpha' must be >= 0, got -1"],
    });
  }, 30_000);

  it('rejects unknown trainers without starting a thread', async () => {
    expect(() => trainInWorkerThread({ ...input(data, 'regression'), trainerName: 'nope' })).toThrow(UnknownTrainerError);
  });

  it('terminates the thread on abort', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const promise = trainInWorkerThread(
      { ...input(data, 'multiclass_classification', { max_iter: 100000, learning_rate: 0.001, early_stopping: false }), trainerName: 'gbdt' },
      (fraction) => {
        if (fraction > 0) controller.abort();
      },
      controller.signal,
    );
    await expect(promise).rejects.toMatchObject({ name: 'AbortError' });
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});
