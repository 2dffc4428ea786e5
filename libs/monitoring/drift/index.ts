/**
 * Drift statistics for monitoring: per-column drift of a current window against a reference sample and the
 * dataset-level verdict, with Evidently's method choice and thresholds and SciPy's statistics and p-values.
 * Pure computation on typed arrays (no I/O), so activities, the API and benchmarks can all call it.
 */
export {
  compareSamples,
  DEFAULT_DRIFT_SHARE,
  DEFAULT_MIN_CURRENT_SAMPLES,
  DEFAULT_MIN_REFERENCE_SAMPLES,
  DEFAULT_THRESHOLDS,
  defaultMethod,
  detectColumnDrift,
  detectDrift,
  DRIFT_METHODS,
  prepareReference,
  PSI_MODERATE,
  PSI_SIGNIFICANT,
  psiLevel,
} from './drift';
export type {
  ColumnDriftOptions,
  ColumnDriftResult,
  ColumnKind,
  DatasetDriftResult,
  DriftColumn,
  DriftMethod,
  DriftOptions,
  DriftReference,
  DriftStatus,
  DriftTable,
  PsiLevel,
  SampleSummary,
} from './drift';
export { categoricalSample, numericSample } from './samples';
export type { CategoricalSample, CategoricalValues, CategoryKey, DriftSample, NumericSample } from './samples';
export {
  chiSquareTest,
  jensenShannonDistance,
  ksTwoSample,
  populationStabilityIndex,
  proportionsZTest,
  wassersteinDistance,
  wassersteinNormed,
} from './stattests';
export type { ChiSquareResult, KsResult, ZResult } from './stattests';
export { kolmogorovSf, smirnovSf } from './kolmogorov';
export { chiSquareSf, normalCdf, normalSf, regularizedGammaP, regularizedGammaQ } from './special';
