/**
 * The trivial models every candidate must beat (spec.evaluation.mustBeatBaseline): for classification,
 * scikit-learn's DummyClassifier(strategy='prior') — always the most frequent training class, with the training
 * class shares as probabilities; for regression, DummyRegressor(strategy='mean'). The returned objects are plain
 * data plus `predict`, so they can be stored as JSON next to the run.
 */
import type { Prediction } from '../data/types';

export type ClassificationPrediction = Required<Pick<Prediction, 'labels' | 'probabilities' | 'classes'>>;
export type RegressionPrediction = Required<Pick<Prediction, 'values'>>;

export interface MajorityClassBaseline {
  kind: 'majority_class';
  classes: string[];
  /** share of training rows per class, in `classes` order */
  priors: number[];
  /** the most frequent training class; ties go to the class listed first in `classes` */
  majorityClass: string;
  predict(rowCount: number): ClassificationPrediction;
}

export interface MeanBaseline {
  kind: 'mean';
  mean: number;
  predict(rowCount: number): RegressionPrediction;
}

/**
 * @param trainLabels training labels; null entries (rows without a label) are ignored
 * @param classes the model's classes, which fix the probability column order; every label must be one of them
 */
export function majorityClassBaseline(trainLabels: readonly (string | null)[], classes: readonly string[]): MajorityClassBaseline {
  if (classes.length === 0) throw new RangeError('majorityClassBaseline needs at least one class');
  const index = new Map(classes.map((c, i) => [c, i]));
  const counts = new Array<number>(classes.length).fill(0);
  let total = 0;
  for (const label of trainLabels) {
    if (label === null) continue;
    const c = index.get(label);
    if (c === undefined) throw new RangeError(`training label '${label}' is not one of the classes (${classes.map((k) => `'${k}'`).join(', ')})`);
    counts[c]++;
    total++;
  }
  if (total === 0) throw new RangeError('majorityClassBaseline needs at least one labelled training row');
  const priors = counts.map((count) => count / total);
  const majority = counts.reduce((best, count, c) => (count > counts[best] ? c : best), 0);
  const classList = [...classes];
  return {
    kind: 'majority_class',
    classes: classList,
    priors,
    majorityClass: classList[majority],
    predict(rowCount: number): ClassificationPrediction {
      checkRowCount(rowCount);
      const probabilities = new Float64Array(rowCount * classList.length);
      for (let row = 0; row < rowCount; row++) probabilities.set(priors, row * classList.length);
      return { labels: new Array<string>(rowCount).fill(classList[majority]), probabilities, classes: [...classList] };
    },
  };
}

/** @param trainTargets training target values; NaN (missing) entries are ignored */
export function meanBaseline(trainTargets: ArrayLike<number>): MeanBaseline {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < trainTargets.length; i++) {
    if (Number.isNaN(trainTargets[i])) continue;
    sum += trainTargets[i];
    count++;
  }
  if (count === 0) throw new RangeError('meanBaseline needs at least one training target value');
  const mean = sum / count;
  return {
    kind: 'mean',
    mean,
    predict(rowCount: number): RegressionPrediction {
      checkRowCount(rowCount);
      return { values: new Float64Array(rowCount).fill(mean) };
    },
  };
}

function checkRowCount(rowCount: number): void {
  if (!Number.isInteger(rowCount) || rowCount < 0) throw new RangeError(`rowCount must be a non-negative integer, got ${rowCount}`);
}
