/**
 * Regression metrics, as scikit-learn 1.9 computes them (checked to 1e-9 by __fixtures__/sklearn-metrics.json):
 * rmse = root_mean_squared_error, mae = mean_absolute_error, r2 = r2_score, including its convention for a
 * constant y_true (force_finite=True): 1 when the predictions are exact, else 0.
 */
import type { REGRESSION_METRICS } from '../spec';

export type RegressionMetricName = (typeof REGRESSION_METRICS)[number];
export type RegressionMetrics = Record<RegressionMetricName, number>;

export function regressionMetrics(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): RegressionMetrics {
  const n = yTrue.length;
  if (n === 0) throw new RangeError('regression metrics need at least one row');
  if (yPred.length !== n) throw new RangeError(`yTrue has ${n} rows but yPred has ${yPred.length}`);
  let sumTrue = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(yTrue[i])) throw new RangeError(`yTrue[${i}] is not a finite number (${yTrue[i]})`);
    if (!Number.isFinite(yPred[i])) throw new RangeError(`yPred[${i}] is not a finite number (${yPred[i]})`);
    sumTrue += yTrue[i];
  }
  const meanTrue = sumTrue / n;
  let squaredError = 0;
  let absoluteError = 0;
  let totalSquares = 0;
  for (let i = 0; i < n; i++) {
    const residual = yTrue[i] - yPred[i];
    squaredError += residual * residual;
    absoluteError += Math.abs(residual);
    totalSquares += (yTrue[i] - meanTrue) * (yTrue[i] - meanTrue);
  }
  let r2: number;
  if (totalSquares !== 0) r2 = 1 - squaredError / totalSquares;
  else r2 = squaredError === 0 ? 1 : 0;
  return { rmse: Math.sqrt(squaredError / n), mae: absoluteError / n, r2 };
}
