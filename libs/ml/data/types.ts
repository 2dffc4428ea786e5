/**
 * Shared in-memory data model for the ML library: parsers produce a RawTable, schema inference types it into a
 * TypedTable, and trainers, profiles, splits and metrics all read the TypedTable (columnar, so a million rows of
 * numbers are one Float64Array per column, not a million objects).
 */

export type ColumnType = 'numeric' | 'categorical' | 'boolean' | 'datetime';

export interface ColumnSchema {
  name: string;
  type: ColumnType;
  /** share of rows where the value is missing (null, empty string, NaN) */
  missingRate: number;
}

export interface DatasetSchema {
  columns: ColumnSchema[];
}

export type RawValue = string | number | boolean | null;

/** Columnar table as read from a file, before typing. */
export interface RawTable {
  columns: string[];
  rowCount: number;
  data: Record<string, RawValue[]>;
}

/**
 * Typed columnar table. Numeric columns hold NaN for missing; datetime columns are numeric epoch milliseconds;
 * categorical and boolean columns hold strings ('true'/'false' for booleans) and null for missing.
 */
export interface TypedTable {
  schema: DatasetSchema;
  rowCount: number;
  numeric: Record<string, Float64Array>;
  categorical: Record<string, (string | null)[]>;
}

export type Task = 'binary_classification' | 'multiclass_classification' | 'regression';

/** A feature as the model sees it: numeric features are float inputs, categorical ones string inputs. */
export interface FeatureColumn {
  name: string;
  kind: 'numeric' | 'categorical';
}

/** Predictions for a set of rows, in row order. */
export interface Prediction {
  /** classification: predicted class label per row */
  labels?: string[];
  /** classification: per-row probabilities, row-major [rows x classes], class order = `classes` */
  probabilities?: Float64Array;
  classes?: string[];
  /** regression: predicted value per row */
  values?: Float64Array;
}
