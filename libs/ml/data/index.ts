/** Dataset handling: read files, type columns, validate against a spec, profile, and split. */
export { DataReadError } from './errors';
export { DATASET_FORMATS, detectFormat, formatFromName, readDatasetFile, SNIFF_BYTES } from './read';
export type { DatasetFormat, ReadOptions, ReadTable } from './read';
export {
  coerceToSchema,
  columnLabels,
  findColumn,
  inferColumnType,
  inferTable,
  isMissing,
  MISSING_TOKENS,
  parseDatetime,
  parseNumber,
} from './schema';
export type { RawTableWithHints } from './schema';
export { ISSUE, validateDataset } from './validate';
export type { Issue, ValidationReport, ValidationSpec } from './validate';
export {
  HISTOGRAM_BINS,
  MAX_TOP_CATEGORIES,
  PROFILE_QUANTILES,
  PROFILE_VERSION,
  profileTable,
  QUANTILE_BINS,
  quantileSorted,
} from './profile';
export type { CategoricalColumnProfile, ColumnProfile, DatasetProfile, Histogram, NumericColumnProfile, QuantileKey } from './profile';
export { allocate, membershipHash, mulberry32, splitRows } from './split';
export type { SplitFractions, SplitInput, SplitResult } from './split';
export type * from './types';
