import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLASSIFICATION_METRICS, REGRESSION_METRICS } from '../spec';
import { majorityClassBaseline, meanBaseline } from './baseline';
import { binaryRocAuc, classificationMetrics } from './classification';
import { regressionMetrics } from './regression';

interface ExpectedClassification {
  [metric: string]: number | null | number[][];
  confusion_matrix: number[][];
}
interface ClassificationCase {
  name: string;
  classes: string[];
  y_true: string[];
  y_pred: string[];
  probabilities: number[][];
  expected: ExpectedClassification;
  baseline?: { train_labels: string[]; priors: number[]; majority_class: string; expected: ExpectedClassification };
}
interface RegressionCase {
  name: string;
  y_true: number[];
  y_pred: number[];
  expected: Record<string, number>;
  baseline?: { y_train: number[]; mean: number; expected: Record<string, number> };
}
interface Fixtures {
  sklearn_version: string;
  classification: ClassificationCase[];
  regression: RegressionCase[];
}

const fixtures = JSON.parse(
  readFileSync(join(__dirname, '__fixtures__', 'sklearn-metrics.json'), 'utf8'),
) as Fixtures;
const TOLERANCE = 1e-9;

function expectClose(actual: number, expected: number | null, label: string): void {
  if (expected === null) {
    // sklearn returned NaN (undefined metric); the fixture stores it as null
    expect({ label, actual }).toEqual({ label, actual: Number.NaN });
    return;
  }
  expect(Number.isFinite(actual)).toBe(true);
  if (Math.abs(actual - expected) > TOLERANCE) {
    throw new Error(`${label}: expected ${expected}, got ${actual} (difference ${Math.abs(actual - expected)})`);
  }
}

function expectClassificationMatches(actual: ReturnType<typeof classificationMetrics>, expected: ExpectedClassification, label: string) {
  for (const metric of CLASSIFICATION_METRICS) {
    expectClose(actual[metric], expected[metric] as number | null, `${label} ${metric}`);
  }
  expect(actual.confusion_matrix).toEqual(expected.confusion_matrix);
}

describe(`classification metrics match scikit-learn ${fixtures.sklearn_version}`, () => {
  it('has fixtures covering binary, multiclass, ties, unpredicted and absent classes', () => {
    const names = fixtures.classification.map((c) => c.name);
    expect(names).toEqual(
      expect.arrayContaining([
        'binary_continuous',
        'binary_tied_scores',
        'binary_extreme_probabilities',
        'binary_never_predicts_positive',
        'multiclass_3',
        'multiclass_4_ties_class_never_predicted',
        'multiclass_4_class_absent_from_truth',
      ]),
    );
  });

  it.each(fixtures.classification.map((c) => [c.name, c] as const))('%s', (_name, fixture) => {
    const probabilities = Float64Array.from(fixture.probabilities.flat());
    const actual = classificationMetrics(fixture.y_true, fixture.y_pred, probabilities, fixture.classes);
    expectClassificationMatches(actual, fixture.expected, fixture.name);
    expect(Object.keys(actual).sort()).toEqual([...CLASSIFICATION_METRICS, 'confusion_matrix'].sort());
  });

  it.each(fixtures.classification.filter((c) => c.baseline).map((c) => [c.name, c] as const))(
    'majority-class baseline on %s matches DummyClassifier(strategy="prior")',
    (_name, fixture) => {
      const baseline = majorityClassBaseline(fixture.baseline!.train_labels, fixture.classes);
      expect(baseline.majorityClass).toBe(fixture.baseline!.majority_class);
      baseline.priors.forEach((p, i) => expectClose(p, fixture.baseline!.priors[i], `prior ${fixture.classes[i]}`));
      const prediction = baseline.predict(fixture.y_true.length);
      const actual = classificationMetrics(fixture.y_true, prediction.labels, prediction.probabilities, prediction.classes);
      expectClassificationMatches(actual, fixture.baseline!.expected, `${fixture.name} baseline`);
    },
  );
});

describe(`regression metrics match scikit-learn ${fixtures.sklearn_version}`, () => {
  it.each(fixtures.regression.map((c) => [c.name, c] as const))('%s', (_name, fixture) => {
    const actual = regressionMetrics(Float64Array.from(fixture.y_true), Float64Array.from(fixture.y_pred));
    for (const metric of REGRESSION_METRICS) expectClose(actual[metric], fixture.expected[metric], `${fixture.name} ${metric}`);
    expect(Object.keys(actual).sort()).toEqual([...REGRESSION_METRICS].sort());
  });

  it.each(fixtures.regression.filter((c) => c.baseline).map((c) => [c.name, c] as const))(
    'mean baseline on %s matches DummyRegressor(strategy="mean")',
    (_name, fixture) => {
      const baseline = meanBaseline(Float64Array.from(fixture.baseline!.y_train));
      expectClose(baseline.mean, fixture.baseline!.mean, 'mean');
      const { values } = baseline.predict(fixture.y_true.length);
      const actual = regressionMetrics(Float64Array.from(fixture.y_true), values);
      for (const metric of REGRESSION_METRICS) expectClose(actual[metric], fixture.baseline!.expected[metric], `${fixture.name} baseline ${metric}`);
    },
  );
});

describe('classificationMetrics', () => {
  const classes = ['a', 'b'];
  const probabilities = Float64Array.from([0.9, 0.1, 0.2, 0.8, 0.6, 0.4]);

  it('computes a small binary case by hand', () => {
    const m = classificationMetrics(['a', 'b', 'b'], ['a', 'b', 'a'], probabilities, classes);
    expect(m.accuracy).toBeCloseTo(2 / 3, 12);
    expect(m.confusion_matrix).toEqual([
      [1, 0],
      [1, 1],
    ]);
    // positives (b) score 0.8 and 0.4, the negative 0.1: both positives rank above it
    expect(m.roc_auc).toBe(1);
    expect(m.log_loss).toBeCloseTo(-(Math.log(0.9) + Math.log(0.8) + Math.log(0.4)) / 3, 12);
  });

  it('treats the second class as positive for binary ROC AUC, whatever the alphabet says', () => {
    const flipped = classificationMetrics(['a', 'b', 'b'], ['a', 'b', 'a'], Float64Array.from([0.1, 0.9, 0.8, 0.2, 0.4, 0.6]), ['b', 'a']);
    expect(flipped.roc_auc).toBe(1);
  });

  it('rejects labels outside the classes, mismatched lengths and bad probabilities', () => {
    expect(() => classificationMetrics(['a', 'c', 'b'], ['a', 'b', 'a'], probabilities, classes)).toThrow(
      "yTrue[1] is 'c', which is not one of the model's classes ('a', 'b')",
    );
    expect(() => classificationMetrics(['a', 'b'], ['a', 'b', 'a'], probabilities, classes)).toThrow('yTrue has 2 rows but yPred has 3');
    expect(() => classificationMetrics(['a', 'b', 'b'], ['a', 'b', 'a'], probabilities.subarray(1), classes)).toThrow(
      'expected rows x classes = 3 x 2 = 6',
    );
    expect(() => classificationMetrics(['a', 'b', 'b'], ['a', 'b', 'a'], Float64Array.from([0.9, 0.1, NaN, 0.8, 0.6, 0.4]), classes)).toThrow(
      "non-finite value (NaN) at row 1, class 'a'",
    );
    expect(() => classificationMetrics([], [], new Float64Array(0), classes)).toThrow('at least one row');
    expect(() => classificationMetrics(['a'], ['a'], Float64Array.from([1, 0]), ['a', 'a'])).toThrow("classes lists 'a' twice");
  });
});

describe('binaryRocAuc', () => {
  it('counts ties as half', () => {
    expect(binaryRocAuc([1, 0], [0.5, 0.5])).toBe(0.5);
    expect(binaryRocAuc([1, 0, 1, 0], [0.9, 0.5, 0.5, 0.1])).toBe(0.875);
  });
  it('is NaN when one class is absent, like sklearn', () => {
    expect(binaryRocAuc([1, 1], [0.2, 0.3])).toBeNaN();
  });
});

describe('regressionMetrics', () => {
  it('rejects empty, mismatched and non-finite input', () => {
    expect(() => regressionMetrics(new Float64Array(0), new Float64Array(0))).toThrow('at least one row');
    expect(() => regressionMetrics(Float64Array.from([1, 2]), Float64Array.from([1]))).toThrow('yTrue has 2 rows but yPred has 1');
    expect(() => regressionMetrics(Float64Array.from([1, NaN]), Float64Array.from([1, 2]))).toThrow('yTrue[1] is not a finite number');
  });
});

describe('baselines', () => {
  it('majority class: ignores missing labels, ties go to the first class, priors follow the class order', () => {
    const baseline = majorityClassBaseline(['x', 'y', null, 'y', 'x', 'z'], ['y', 'x', 'z']);
    expect(baseline.majorityClass).toBe('y');
    expect(baseline.priors).toEqual([0.4, 0.4, 0.2]);
    const prediction = baseline.predict(2);
    expect(prediction.labels).toEqual(['y', 'y']);
    expect(Array.from(prediction.probabilities)).toEqual([0.4, 0.4, 0.2, 0.4, 0.4, 0.2]);
    expect(prediction.classes).toEqual(['y', 'x', 'z']);
    expect(JSON.parse(JSON.stringify(baseline))).toEqual({ kind: 'majority_class', classes: ['y', 'x', 'z'], priors: [0.4, 0.4, 0.2], majorityClass: 'y' });
  });

  it('majority class: a class unseen in training gets prior 0', () => {
    expect(majorityClassBaseline(['a', 'a', 'b'], ['a', 'b', 'c']).priors).toEqual([2 / 3, 1 / 3, 0]);
  });

  it('rejects unknown labels and empty training data', () => {
    expect(() => majorityClassBaseline(['a', 'q'], ['a', 'b'])).toThrow("training label 'q' is not one of the classes ('a', 'b')");
    expect(() => majorityClassBaseline([null], ['a', 'b'])).toThrow('at least one labelled training row');
    expect(() => meanBaseline(Float64Array.from([NaN]))).toThrow('at least one training target value');
  });

  it('mean: ignores NaN and predicts the training mean', () => {
    const baseline = meanBaseline(Float64Array.from([1, NaN, 2, 6]));
    expect(baseline.mean).toBe(3);
    expect(Array.from(baseline.predict(3).values)).toEqual([3, 3, 3]);
    expect(() => baseline.predict(-1)).toThrow('rowCount must be a non-negative integer');
  });
});
