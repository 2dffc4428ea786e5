/** Model evaluation: classification and regression metrics (sklearn-compatible) and the baselines to beat. */
export { binaryRocAuc, classificationMetrics } from './classification';
export type { ClassificationMetricName, ClassificationMetrics } from './classification';
export { regressionMetrics } from './regression';
export type { RegressionMetricName, RegressionMetrics } from './regression';
export { majorityClassBaseline, meanBaseline } from './baseline';
export type { ClassificationPrediction, MajorityClassBaseline, MeanBaseline, RegressionPrediction } from './baseline';
