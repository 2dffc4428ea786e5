/**
 * Checks a typed dataset against a model spec before any training time is spent on it. Errors block the run;
 * warnings are recorded with the dataset and shown to the user. Each issue names its column and says what to
 * change (the data or which spec field).
 */
import { FeatureResolutionError, resolveFeatures } from '../features';
import type { ModelSpec } from '../spec';
import { columnLabels, findColumn } from './schema';
import type { DatasetSchema, FeatureColumn, TypedTable } from './types';

export interface Issue {
  code: string;
  column?: string;
  message: string;
}

export interface ValidationReport {
  ok: boolean;
  rowCount: number;
  columnCount: number;
  errors: Issue[];
  warnings: Issue[];
  schema: DatasetSchema;
  /** the resolved features; empty when they could not be resolved */
  features: FeatureColumn[];
  /** classification only: rows per class label (rows without a label not counted), labels sorted */
  classCounts?: Record<string, number>;
}

/** Issue codes, so callers and tests need not match on message text. */
export const ISSUE = {
  targetMissing: 'target_missing',
  tooFewRows: 'too_few_rows',
  targetMissingValues: 'target_missing_values',
  tooManyMissing: 'too_many_missing',
  constantColumn: 'constant_column',
  constantTarget: 'constant_target',
  targetType: 'target_type',
  labelCardinality: 'label_cardinality',
  rareClass: 'rare_class',
  columnRemoved: 'column_removed',
  columnTypeChanged: 'column_type_changed',
  columnAdded: 'column_added',
  // Feature resolution problems keep the codes of FeatureProblem: unknown_include, unknown_exclude,
  // duplicate_include, datetime_feature, no_features.
} as const;

export type ValidationSpec = Pick<ModelSpec, 'task' | 'target' | 'features' | 'validation'>;

const MAX_LISTED = 10;

export function validateDataset(table: TypedTable, spec: ValidationSpec, previousSchema?: DatasetSchema): ValidationReport {
  const errors: Issue[] = [];
  const warnings: Issue[] = [];
  const { schema } = table;
  const limits = spec.validation;
  const target = findColumn(schema, spec.target);

  if (!target) {
    errors.push({
      code: ISSUE.targetMissing,
      column: spec.target,
      message: `target column '${spec.target}' is not in the dataset; columns are ${listNames(schema.columns.map((c) => c.name))}`,
    });
  }

  let features: FeatureColumn[] = [];
  try {
    features = resolveFeatures(schema, spec);
  } catch (err) {
    if (!(err instanceof FeatureResolutionError)) throw err;
    for (const problem of err.problems) {
      if (problem.code === 'unknown_target') continue; // reported above as target_missing
      errors.push({ code: problem.code, column: problem.column, message: problem.message });
    }
  }
  const featureNames = features.length > 0 ? features.map((f) => f.name) : candidateFeatureNames(schema, spec);

  // Rows and missing values.
  let labelledRows = table.rowCount;
  if (target) {
    const missingTarget = countMissing(table, target.name);
    labelledRows = table.rowCount - missingTarget;
    if (missingTarget > 0 && labelledRows === 0) {
      errors.push({ code: ISSUE.targetMissingValues, column: target.name, message: `target column '${target.name}' has no values at all` });
    } else if (missingTarget > 0) {
      warnings.push({
        code: ISSUE.targetMissingValues,
        column: target.name,
        message: `${missingTarget} of ${table.rowCount} rows (${percent(target.missingRate)}) have no value for target '${target.name}'; they will be left out of training and evaluation`,
      });
    }
  }
  if (labelledRows < limits.minRows) {
    errors.push({
      code: ISSUE.tooFewRows,
      message: `the dataset has ${labelledRows} ${target ? 'rows with a target value' : 'rows'}; the spec requires at least ${limits.minRows} (validation.minRows)`,
    });
  }
  for (const name of featureNames) {
    const column = findColumn(schema, name)!;
    if (column.missingRate > limits.maxMissingRate) {
      errors.push({
        code: ISSUE.tooManyMissing,
        column: name,
        message: `feature '${name}' is missing in ${percent(column.missingRate)} of rows, above validation.maxMissingRate (${percent(limits.maxMissingRate)}); fill it in, add it to features.exclude, or raise the limit`,
      });
    }
    const distinct = distinctValues(table, name, 2);
    if (distinct.length <= 1) {
      warnings.push({
        code: ISSUE.constantColumn,
        column: name,
        message:
          distinct.length === 0
            ? `feature '${name}' has no values; it carries no information (consider features.exclude)`
            : `feature '${name}' has the same value (${distinct[0]}) in every row; it carries no information (consider features.exclude)`,
      });
    }
  }

  // The target: type and classes.
  let classCounts: Record<string, number> | undefined;
  if (target && labelledRows > 0) {
    const distinct = distinctValues(table, target.name, 2);
    if (distinct.length <= 1) {
      errors.push({
        code: ISSUE.constantTarget,
        column: target.name,
        message: `target '${target.name}' has the same value (${distinct[0]}) in every row; there is nothing to learn`,
      });
    }
    if (spec.task === 'regression') {
      if (target.type !== 'numeric') {
        errors.push({
          code: ISSUE.targetType,
          column: target.name,
          message: `regression needs a numeric target, but '${target.name}' is ${target.type}; use a classification task or pick a numeric target`,
        });
      }
    } else {
      if (target.type === 'datetime') {
        errors.push({
          code: ISSUE.targetType,
          column: target.name,
          message: `target '${target.name}' is a datetime column; a classification target must be a label`,
        });
      }
      classCounts = countLabels(columnLabels(table, target.name));
      const classes = Object.keys(classCounts);
      if (distinct.length > 1) checkCardinality(spec, target.name, classes, errors);
      const rare = classes.filter((c) => classCounts![c] < 2);
      if (rare.length > 0) {
        warnings.push({
          code: ISSUE.rareClass,
          column: target.name,
          message: `${rare.length === 1 ? 'class' : 'classes'} ${listNames(rare)} of '${target.name}' ${rare.length === 1 ? 'has' : 'have'} fewer than 2 rows; the model can hardly learn ${rare.length === 1 ? 'it' : 'them'} and evaluation may not see ${rare.length === 1 ? 'it' : 'them'}`,
        });
      }
    }
  }

  // Only the columns the model reads can break it: a change in a column the spec leaves out (features.exclude, or
  // not in features.include) — a dropped id or date column — is a warning.
  const include = spec.features.include;
  const used = (column: string): boolean => column === spec.target || (include ? include.includes(column) : !spec.features.exclude.includes(column));
  if (previousSchema) compareSchemas(previousSchema, schema, limits.allowSchemaChange, used, errors, warnings);

  return {
    ok: errors.length === 0,
    rowCount: table.rowCount,
    columnCount: schema.columns.length,
    errors,
    warnings,
    schema,
    features,
    ...(classCounts ? { classCounts } : {}),
  };
}

function checkCardinality(spec: ValidationSpec, target: string, classes: string[], errors: Issue[]): void {
  const n = classes.length;
  const shown = listNames(classes);
  if (spec.task === 'binary_classification' && n !== 2) {
    errors.push({
      code: ISSUE.labelCardinality,
      column: target,
      message: `binary_classification needs exactly 2 classes in '${target}', found ${n} (${shown}); use multiclass_classification or fix the labels`,
    });
  }
  if (spec.task === 'multiclass_classification') {
    if (n < 3) {
      errors.push({
        code: ISSUE.labelCardinality,
        column: target,
        message: `multiclass_classification needs at least 3 classes in '${target}', found ${n} (${shown}); use binary_classification`,
      });
    } else if (n > spec.validation.maxClasses) {
      errors.push({
        code: ISSUE.labelCardinality,
        column: target,
        message: `'${target}' has ${n} distinct values, more than validation.maxClasses (${spec.validation.maxClasses}); if it is really a label, raise the limit, otherwise it may be a regression target`,
      });
    }
  }
}

function compareSchemas(previous: DatasetSchema, current: DatasetSchema, allowChange: boolean, used: (column: string) => boolean, errors: Issue[], warnings: Issue[]): void {
  for (const before of previous.columns) {
    const blocking = allowChange || !used(before.name) ? warnings : errors;
    const advice = blocking === warnings ? '' : ' (set validation.allowSchemaChange to accept the change)';
    const now = findColumn(current, before.name);
    if (!now) {
      blocking.push({
        code: ISSUE.columnRemoved,
        column: before.name,
        message: `column '${before.name}' (${before.type}) was in the previous snapshot but is missing now${advice}`,
      });
    } else if (now.type !== before.type) {
      blocking.push({
        code: ISSUE.columnTypeChanged,
        column: before.name,
        message: `column '${before.name}' was ${before.type} in the previous snapshot and is ${now.type} now${advice}`,
      });
    }
  }
  for (const now of current.columns) {
    if (!findColumn(previous, now.name)) {
      warnings.push({ code: ISSUE.columnAdded, column: now.name, message: `column '${now.name}' (${now.type}) is new since the previous snapshot` });
    }
  }
}

/** Features the spec asks for that exist, used to check missing values even when resolution failed elsewhere. */
function candidateFeatureNames(schema: DatasetSchema, spec: ValidationSpec): string[] {
  const excluded = new Set(spec.features.exclude);
  const names = spec.features.include ?? schema.columns.map((c) => c.name);
  return [...new Set(names)].filter((name) => {
    const type = findColumn(schema, name)?.type;
    return name !== spec.target && !excluded.has(name) && type !== undefined && type !== 'datetime';
  });
}

function countMissing(table: TypedTable, name: string): number {
  let missing = 0;
  const numeric = Object.hasOwn(table.numeric, name) ? table.numeric[name] : undefined;
  if (numeric) {
    for (let i = 0; i < numeric.length; i++) if (Number.isNaN(numeric[i])) missing++;
  } else {
    for (const value of table.categorical[name] ?? []) if (value === null) missing++;
  }
  return missing;
}

/** Up to `limit` distinct non-missing values of a column, as display strings. */
function distinctValues(table: TypedTable, name: string, limit: number): string[] {
  const found = new Set<string>();
  const numeric = Object.hasOwn(table.numeric, name) ? table.numeric[name] : undefined;
  if (numeric) {
    for (let i = 0; i < numeric.length && found.size < limit; i++) if (!Number.isNaN(numeric[i])) found.add(String(numeric[i]));
  } else {
    for (const value of table.categorical[name] ?? []) {
      if (value !== null) found.add(`'${value}'`);
      if (found.size >= limit) break;
    }
  }
  return [...found];
}

function countLabels(labels: readonly (string | null)[]): Record<string, number> {
  const counts = new Map<string, number>();
  for (const label of labels) if (label !== null) counts.set(label, (counts.get(label) ?? 0) + 1);
  const sorted = [...counts.keys()].sort();
  return Object.fromEntries(sorted.map((k) => [k, counts.get(k)!]));
}

function listNames(names: readonly string[]): string {
  const shown = names.slice(0, MAX_LISTED).map((n) => `'${n}'`).join(', ');
  return names.length > MAX_LISTED ? `${shown} and ${names.length - MAX_LISTED} more` : shown;
}

function percent(rate: number): string {
  return `${(rate * 100).toFixed(rate < 0.01 && rate > 0 ? 2 : 1)}%`;
}
