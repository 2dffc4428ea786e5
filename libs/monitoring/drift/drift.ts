/**
 * Column and dataset drift of a current sample against a reference sample, with Evidently's defaults (0.7,
 * DataDriftPreset) so that a decision here is the decision Evidently would make on the same rows:
 *
 * - method, chosen per column as evidently/legacy/calculations/stattests/registry.py `_get_default_stattest` does,
 *   from the number of reference values (after dropping missing ones) and the distinct values of both samples:
 *
 *   | reference values | numeric, > 5 distinct | numeric, ≤ 5 distinct          | categorical                   |
 *   |------------------|-----------------------|--------------------------------|-------------------------------|
 *   | ≤ 1000           | `ks` (p ≤ 0.05)        | `chisquare`, `z` if ≤ 2 values  | `chisquare`, `z` if ≤ 2 values |
 *   | > 1000           | `wasserstein` (≥ 0.1)  | `jensenshannon` (≥ 0.1)         | `jensenshannon` (≥ 0.1)        |
 *
 *   chisquare and z drift when p < 0.05, the distances when the score is ≥ the threshold, KS when p ≤ 0.05 (the
 *   comparisons are Evidently's, `<=` for KS included).
 * - whether a column is numeric or categorical is the caller's: mlcycle's schema says it. Evidently infers it from
 *   the pandas dtype (float → numeric; integer → categorical when it has ≤ 10 distinct values, else numeric;
 *   strings → categorical); a numeric column with few distinct values still gets a categorical test from the
 *   table above, as in Evidently.
 * - `chi2_contingency` (never chosen automatically; ask for it per column) is the two-sample chi-square test of
 *   homogeneity. Evidently's `chisquare` takes the reference shares as exact, so its false-alarm rate grows with the
 *   window/reference ratio (about 19% for 500 rows against 800); this one stays near the nominal 5%.
 * - PSI is computed for every column beside the deciding test (Evidently's `psi` binning; ≥ 0.1 moderate,
 *   ≥ 0.2 significant shift) and decides only when asked for with `method: 'psi'`.
 * - dataset drift: at least `driftShare` (0.5) of the columns drift, Evidently's `share >= drift_share`. Unlike
 *   Evidently, a column with too few values (`minCurrentSamples`, `minReferenceSamples`) is reported as
 *   'insufficient_data', never as 'no_drift', and the share is taken over the columns that could be tested.
 *
 * Results are plain JSON (no NaN, no Infinity: an infinite statistic is null) so they can go into workflow
 * history and the registry as they are.
 */
import type { AlignedCounts, CategoricalSample, CategoricalValues, DriftSample, NumericSample } from './samples';
import { alignCategories, alignValues, categoricalSample, distinctValues, firstKeyIndex, numericSample, sampleSize } from './samples';
import { countDistinctUnion } from './sort';
import {
  chiSquareContingency,
  chiSquareTest,
  histogramSorted,
  jensenShannonDistance,
  ksTwoSample,
  populationStabilityIndex,
  proportionsZTest,
  shares,
  sturgesEdges,
  wassersteinNormed,
} from './stattests';

export type DriftMethod = 'ks' | 'chisquare' | 'chi2_contingency' | 'z' | 'wasserstein' | 'jensenshannon' | 'psi';
export type ColumnKind = 'numeric' | 'categorical';
export type DriftStatus = 'drift' | 'no_drift' | 'insufficient_data';
export type PsiLevel = 'stable' | 'moderate' | 'significant';

export const DRIFT_METHODS: readonly DriftMethod[] = ['ks', 'chisquare', 'chi2_contingency', 'z', 'wasserstein', 'jensenshannon', 'psi'];

/** Evidently's default thresholds (each StatTest's default_threshold). */
export const DEFAULT_THRESHOLDS: Readonly<Record<DriftMethod, number>> = {
  ks: 0.05,
  chisquare: 0.05,
  chi2_contingency: 0.05,
  z: 0.05,
  wasserstein: 0.1,
  jensenshannon: 0.1,
  psi: 0.1,
};

/** p-value tests drift when the p-value is small; the others when the distance is large. */
export const P_VALUE_METHODS: ReadonlySet<DriftMethod> = new Set(['ks', 'chisquare', 'chi2_contingency', 'z']);
const NUMERIC_ONLY: ReadonlySet<DriftMethod> = new Set(['ks', 'wasserstein']);

/** Above this many reference values Evidently switches from tests to distances. */
export const LARGE_REFERENCE = 1000;
/** At most this many distinct values (both samples together) make a numeric column get a categorical test. */
export const FEW_VALUES = 5;
/** Evidently bins numeric columns (for PSI and Jensen–Shannon) only above this many distinct reference values. */
export const BINNED_ABOVE = 20;
export const PSI_MODERATE = 0.1;
export const PSI_SIGNIFICANT = 0.2;

export interface ColumnDriftOptions {
  method?: DriftMethod;
  threshold?: number;
}

export interface DriftOptions {
  /** dataset drift when at least this share of the tested columns drift (Evidently's drift_share); default 0.5 */
  driftShare?: number;
  /** fewer present current values than this: 'insufficient_data'; default 30 */
  minCurrentSamples?: number;
  /** fewer present reference values than this: 'insufficient_data'; default 30 */
  minReferenceSamples?: number;
  /** method / threshold for every numeric column (Evidently's num_method / num_threshold) */
  numeric?: ColumnDriftOptions;
  /** method / threshold for every categorical column (cat_method / cat_threshold) */
  categorical?: ColumnDriftOptions;
  /** per column, over the numeric / categorical settings (per_column_method / per_column_threshold) */
  columnOptions?: Readonly<Record<string, ColumnDriftOptions>>;
  /** the columns to compare (default: every column of the reference) */
  columns?: readonly string[];
}

export const DEFAULT_DRIFT_SHARE = 0.5;
export const DEFAULT_MIN_CURRENT_SAMPLES = 30;
export const DEFAULT_MIN_REFERENCE_SAMPLES = 30;

export interface SampleSummary {
  /** rows, missing included */
  rows: number;
  /** rows with a value */
  count: number;
  missing: number;
  /** distinct values present */
  distinct: number;
}

export interface ColumnDriftResult {
  column: string;
  kind: ColumnKind;
  status: DriftStatus;
  /** the test that decided; null when there was not enough data to run one */
  method: DriftMethod | null;
  methodChosenBy: 'auto' | 'option';
  threshold: number | null;
  /** what is compared with the threshold (Evidently's drift_score): the p-value of ks/chisquare/z, else the distance */
  score: number | null;
  pValue: number | null;
  /** KS D, chi-square statistic, z, Wasserstein distance before norming, JS distance or PSI; null when infinite */
  statistic: number | null;
  /** how ks computed its p-value (SciPy's method='auto' choice) */
  ksMethod?: 'exact' | 'asymp';
  /** population stability index, always computed beside the deciding test */
  psi: number | null;
  psiLevel: PsiLevel | null;
  reference: SampleSummary;
  current: SampleSummary & {
    /** categorical columns: distinct current categories the reference never had */
    unseenCategories?: number;
  };
  /** why the status is 'insufficient_data' */
  reason?: string;
}

export interface DatasetDriftResult {
  status: DriftStatus;
  driftShare: number;
  /** drifted / tested columns; null when none could be tested */
  shareOfDriftedColumns: number | null;
  driftedColumns: number;
  testedColumns: number;
  insufficientColumns: number;
  referenceRows: number;
  currentRows: number;
  columns: ColumnDriftResult[];
}

interface ResolvedOptions {
  driftShare: number;
  minCurrentSamples: number;
  minReferenceSamples: number;
}

function resolveOptions(options: DriftOptions): ResolvedOptions {
  const driftShare = options.driftShare ?? DEFAULT_DRIFT_SHARE;
  if (!(driftShare > 0 && driftShare <= 1)) throw new RangeError(`driftShare must be in (0, 1], got ${driftShare}`);
  const minCurrentSamples = options.minCurrentSamples ?? DEFAULT_MIN_CURRENT_SAMPLES;
  const minReferenceSamples = options.minReferenceSamples ?? DEFAULT_MIN_REFERENCE_SAMPLES;
  for (const [name, value] of [['minCurrentSamples', minCurrentSamples], ['minReferenceSamples', minReferenceSamples]] as const) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
  }
  return { driftShare, minCurrentSamples, minReferenceSamples };
}

function columnSettings(column: string, kind: ColumnKind, options: DriftOptions): ColumnDriftOptions {
  const settings = { ...(kind === 'numeric' ? options.numeric : options.categorical), ...options.columnOptions?.[column] };
  if (settings.method !== undefined) {
    if (!DRIFT_METHODS.includes(settings.method)) throw new RangeError(`column '${column}': unknown drift method '${settings.method}'`);
    if (kind === 'categorical' && NUMERIC_ONLY.has(settings.method)) {
      throw new RangeError(`column '${column}': method '${settings.method}' needs a numeric column`);
    }
  }
  if (settings.threshold !== undefined && !(Number.isFinite(settings.threshold) && settings.threshold >= 0)) {
    throw new RangeError(`column '${column}': threshold must be a finite number ≥ 0, got ${settings.threshold}`);
  }
  return settings;
}

/** Evidently's `_get_default_stattest`. */
export function defaultMethod(kind: ColumnKind, referenceCount: number, distinctInBoth: number): DriftMethod {
  if (referenceCount <= LARGE_REFERENCE) {
    if (kind === 'numeric' && distinctInBoth > FEW_VALUES) return 'ks';
    return distinctInBoth > 2 ? 'chisquare' : 'z';
  }
  if (kind === 'numeric' && distinctInBoth > FEW_VALUES) return 'wasserstein';
  return 'jensenshannon';
}

export function psiLevel(psi: number): PsiLevel {
  return psi >= PSI_SIGNIFICANT ? 'significant' : psi >= PSI_MODERATE ? 'moderate' : 'stable';
}

const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

type SamplePair =
  | { kind: 'numeric'; reference: NumericSample; current: NumericSample }
  | { kind: 'categorical'; reference: CategoricalSample; current: CategoricalSample };

function pairOf(column: string, reference: DriftSample, current: DriftSample): SamplePair {
  if (reference.kind === 'numeric' && current.kind === 'numeric') return { kind: 'numeric', reference, current };
  if (reference.kind === 'categorical' && current.kind === 'categorical') return { kind: 'categorical', reference, current };
  throw new RangeError(`column '${column}' is ${reference.kind} in the reference but ${current.kind} in the current sample`);
}

function summarize(sample: DriftSample): SampleSummary {
  const count = sampleSize(sample);
  return { rows: count + sample.missing, count, missing: sample.missing, distinct: distinctValues(sample) };
}

/**
 * Compares one column's current sample with its reference sample. Both must be of the same kind; the reference
 * may be shared by many calls (it is only read).
 */
export function compareSamples(column: string, reference: DriftSample, current: DriftSample, options: DriftOptions = {}): ColumnDriftResult {
  const pair = pairOf(column, reference, current);
  const resolved = resolveOptions(options);
  const settings = columnSettings(column, pair.kind, options);
  const nRef = sampleSize(reference);
  const nCur = sampleSize(current);
  // Categories (or per-value counts of a numeric column) on the union of both samples, built only when a test
  // needs them: a million distinct floats never go through a map.
  let aligned: AlignedCounts | undefined;
  const alignedCounts = (): AlignedCounts =>
    (aligned ??= pair.kind === 'numeric' ? alignValues(pair.reference.sorted, pair.current.sorted) : alignCategories(pair.reference, pair.current));
  const currentSummary = (): ColumnDriftResult['current'] =>
    pair.kind === 'categorical' ? { ...summarize(current), unseenCategories: alignedCounts().unseen } : summarize(current);
  const methodChosenBy = settings.method ? ('option' as const) : ('auto' as const);

  const shortfall =
    nCur < resolved.minCurrentSamples
      ? `${nCur} current value(s), fewer than the ${resolved.minCurrentSamples} needed`
      : nRef < resolved.minReferenceSamples
        ? `${nRef} reference value(s), fewer than the ${resolved.minReferenceSamples} needed`
        : undefined;
  if (shortfall) {
    return {
      column,
      kind: pair.kind,
      status: 'insufficient_data',
      method: settings.method ?? null,
      methodChosenBy,
      threshold: null,
      score: null,
      pValue: null,
      statistic: null,
      psi: null,
      psiLevel: null,
      reference: summarize(reference),
      current: currentSummary(),
      reason: shortfall,
    };
  }

  const distinctInBoth =
    pair.kind === 'numeric' ? countDistinctUnion(pair.reference.sorted, pair.current.sorted, FEW_VALUES) : alignedCounts().keys.length;
  const method = settings.method ?? defaultMethod(pair.kind, nRef, distinctInBoth);
  const threshold = settings.threshold ?? DEFAULT_THRESHOLDS[method];

  // Evidently's get_binned_data: Sturges bins on the pooled values for numeric columns with > 20 distinct
  // reference values, else the shares of each value. Shared by Jensen–Shannon and PSI.
  let binned: [Float64Array, Float64Array] | undefined;
  const binnedShares = (): [Float64Array, Float64Array] => {
    if (binned) return binned;
    if (pair.kind === 'numeric' && pair.reference.distinct > BINNED_ABOVE) {
      const ref = pair.reference.sorted;
      const cur = pair.current.sorted;
      const edges = sturgesEdges(Math.min(ref[0], cur[0]), Math.max(ref[nRef - 1], cur[nCur - 1]), nRef + nCur);
      binned = [shares(histogramSorted(ref, edges), nRef), shares(histogramSorted(cur, edges), nCur)];
    } else {
      const counts = alignedCounts();
      binned = [shares(counts.reference, nRef), shares(counts.current, nCur)];
    }
    return binned;
  };
  // PSI fills empty bins in place, so it gets copies.
  const psiValue = (): number => populationStabilityIndex(binnedShares()[0].slice(), binnedShares()[1].slice());

  let score: number;
  let statistic: number;
  let pValue: number | null = null;
  let ksMethod: 'exact' | 'asymp' | undefined;
  let psi: number | undefined;
  switch (method) {
    case 'ks': {
      if (pair.kind !== 'numeric') throw new RangeError(`column '${column}': ks needs a numeric column`);
      const ks = ksTwoSample(pair.reference.sorted, pair.current.sorted);
      statistic = ks.statistic;
      score = pValue = ks.pValue;
      ksMethod = ks.method;
      break;
    }
    case 'chisquare': {
      const counts = alignedCounts();
      const chi = chiSquareTest(counts.reference, counts.current);
      statistic = chi.statistic;
      score = pValue = chi.pValue;
      break;
    }
    case 'chi2_contingency': {
      const counts = alignedCounts();
      const chi = chiSquareContingency(counts.reference, counts.current);
      statistic = chi.statistic;
      score = pValue = chi.pValue;
      break;
    }
    case 'z': {
      const counts = alignedCounts();
      const z = proportionsZTest(counts.reference, counts.current, firstKeyIndex(counts.keys));
      statistic = z.statistic;
      score = pValue = z.pValue;
      break;
    }
    case 'wasserstein': {
      if (pair.kind !== 'numeric') throw new RangeError(`column '${column}': wasserstein needs a numeric column`);
      const w = wassersteinNormed(pair.reference.sorted, pair.current.sorted, pair.reference.std);
      statistic = w.distance;
      score = w.normed;
      break;
    }
    case 'jensenshannon': {
      const [ref, cur] = binnedShares();
      score = statistic = jensenShannonDistance(ref, cur);
      break;
    }
    case 'psi':
      score = statistic = psi = psiValue();
      break;
  }
  psi ??= psiValue();

  // Evidently's comparisons: ks `p <= t`, chisquare and z `p < t`, distances `score >= t`.
  const drifted = method === 'ks' ? score <= threshold : P_VALUE_METHODS.has(method) ? score < threshold : score >= threshold;
  return {
    column,
    kind: pair.kind,
    status: drifted ? 'drift' : 'no_drift',
    method,
    methodChosenBy,
    threshold,
    score,
    pValue,
    statistic: finiteOrNull(statistic),
    ...(ksMethod ? { ksMethod } : {}),
    psi: finiteOrNull(psi),
    psiLevel: psiLevel(psi),
    reference: summarize(reference),
    current: currentSummary(),
  };
}

/** One column given as raw arrays: Float64Array for numeric (NaN missing), strings or codes for categorical. */
export type DriftColumn =
  | { name: string; kind: 'numeric'; reference: ArrayLike<number>; current: ArrayLike<number> }
  | { name: string; kind: 'categorical'; reference: CategoricalValues; current: CategoricalValues };

export function detectColumnDrift(column: DriftColumn, options: DriftOptions = {}): ColumnDriftResult {
  if (column.kind === 'numeric') return compareSamples(column.name, numericSample(column.reference), numericSample(column.current), options);
  return compareSamples(column.name, categoricalSample(column.reference), categoricalSample(column.current), options);
}

/**
 * Columns of a table as drift reads them. A TypedTable (libs/ml/data) is one: numeric columns are Float64Array
 * with NaN for missing, categorical columns strings with null for missing.
 */
export interface DriftTable {
  rowCount?: number;
  numeric?: Readonly<Record<string, ArrayLike<number>>>;
  categorical?: Readonly<Record<string, CategoricalValues>>;
}

/** A reference table prepared once (sorted, counted) for comparison with many windows. */
export interface DriftReference {
  readonly prepared: true;
  readonly rowCount: number;
  readonly samples: ReadonlyMap<string, DriftSample>;
}

function tableRows(table: DriftTable): number {
  if (table.rowCount !== undefined) return table.rowCount;
  const first = Object.values(table.numeric ?? {})[0] ?? Object.values(table.categorical ?? {})[0];
  return first ? first.length : 0;
}

function tableColumn(table: DriftTable, name: string): { kind: ColumnKind; values: ArrayLike<number> | CategoricalValues } | undefined {
  if (table.numeric && Object.prototype.hasOwnProperty.call(table.numeric, name)) return { kind: 'numeric', values: table.numeric[name] };
  if (table.categorical && Object.prototype.hasOwnProperty.call(table.categorical, name)) return { kind: 'categorical', values: table.categorical[name] };
  return undefined;
}

function sampleOf(kind: ColumnKind, values: ArrayLike<number> | CategoricalValues): DriftSample {
  return kind === 'numeric' ? numericSample(values as ArrayLike<number>) : categoricalSample(values as CategoricalValues);
}

/** Sorts and counts the reference columns (all of them, or those named) once. Unknown names throw RangeError. */
export function prepareReference(table: DriftTable, columns?: readonly string[]): DriftReference {
  const names = columns ?? [...Object.keys(table.numeric ?? {}), ...Object.keys(table.categorical ?? {})];
  const samples = new Map<string, DriftSample>();
  for (const name of names) {
    const column = tableColumn(table, name);
    if (!column) throw new RangeError(`column '${name}' is not in the reference table`);
    samples.set(name, sampleOf(column.kind, column.values));
  }
  return { prepared: true, rowCount: tableRows(table), samples };
}

/**
 * Drift of every reference column in the current window, and whether the dataset drifted. The current table must
 * have each column, of the same kind; `options.columns` narrows the comparison.
 */
export function detectDrift(reference: DriftReference | DriftTable, current: DriftTable, options: DriftOptions = {}): DatasetDriftResult {
  const resolved = resolveOptions(options);
  const prepared = 'prepared' in reference ? reference : prepareReference(reference, options.columns);
  const names = options.columns ?? [...prepared.samples.keys()];
  const currentRows = tableRows(current);
  const columns = names.map((name) => {
    const ref = prepared.samples.get(name);
    if (!ref) throw new RangeError(`column '${name}' is not in the reference`);
    const column = tableColumn(current, name);
    if (!column) throw new RangeError(`column '${name}' is not in the current window`);
    if (column.kind !== ref.kind) throw new RangeError(`column '${name}' is ${ref.kind} in the reference but ${column.kind} in the current window`);
    return compareSamples(name, ref, sampleOf(column.kind, column.values), options);
  });
  const tested = columns.filter((c) => c.status !== 'insufficient_data');
  const drifted = tested.filter((c) => c.status === 'drift').length;
  const share = tested.length > 0 ? drifted / tested.length : null;
  let status: DriftStatus;
  if (share === null || currentRows < resolved.minCurrentSamples) status = 'insufficient_data';
  else status = share >= resolved.driftShare ? 'drift' : 'no_drift';
  return {
    status,
    driftShare: resolved.driftShare,
    shareOfDriftedColumns: share,
    driftedColumns: drifted,
    testedColumns: tested.length,
    insufficientColumns: columns.length - tested.length,
    referenceRows: prepared.rowCount,
    currentRows,
    columns,
  };
}
