/**
 * Decides which columns a model learns from: the spec's `features.include` list if given, else every column but
 * the target, minus `features.exclude`. Every problem is collected and reported at once, with the columns that do
 * exist, so a spec can be fixed in one pass.
 */
import type { ColumnSchema, DatasetSchema, FeatureColumn } from './data/types';
import type { ModelSpec } from './spec';

export interface FeatureProblem {
  code: 'unknown_target' | 'unknown_include' | 'unknown_exclude' | 'datetime_feature' | 'duplicate_include' | 'no_features';
  column?: string;
  message: string;
}

export class FeatureResolutionError extends Error {
  constructor(
    readonly problems: FeatureProblem[],
    readonly availableColumns: string[],
  ) {
    super(
      `cannot resolve the model's features: ${problems.map((p) => p.message).join('; ')}. ` +
        `Available columns: ${availableColumns.map((c) => `'${c}'`).join(', ') || '(none)'}`,
    );
    this.name = 'FeatureResolutionError';
  }
}

/** Spec fields resolveFeatures reads; a whole ModelSpec fits. */
export type FeatureSpec = Pick<ModelSpec, 'target' | 'features'>;

/**
 * The model's input columns, in the include list's order or else the dataset's. Boolean columns become
 * categorical features. Throws FeatureResolutionError when the target, an included or an excluded column does not
 * exist, when a datetime column would be a feature (models take numbers and categories, not timestamps), or when
 * no feature is left.
 */
export function resolveFeatures(schema: DatasetSchema, spec: FeatureSpec): FeatureColumn[] {
  const byName = new Map<string, ColumnSchema>(schema.columns.map((c) => [c.name, c]));
  const available = schema.columns.map((c) => c.name);
  const problems: FeatureProblem[] = [];
  const { include, exclude } = spec.features;

  if (!byName.has(spec.target)) {
    problems.push({ code: 'unknown_target', column: spec.target, message: `target column '${spec.target}' is not in the dataset` });
  }
  for (const name of include ?? []) {
    if (!byName.has(name)) {
      problems.push({ code: 'unknown_include', column: name, message: `features.include names '${name}', which is not in the dataset` });
    }
  }
  const duplicates = (include ?? []).filter((name, i, all) => all.indexOf(name) !== i);
  for (const name of new Set(duplicates)) {
    problems.push({ code: 'duplicate_include', column: name, message: `features.include lists '${name}' more than once` });
  }
  for (const name of exclude) {
    if (!byName.has(name)) {
      problems.push({ code: 'unknown_exclude', column: name, message: `features.exclude names '${name}', which is not in the dataset` });
    }
  }

  const excluded = new Set(exclude);
  const candidates = include ? [...new Set(include)] : available.filter((name) => name !== spec.target);
  const chosen = candidates.filter((name) => !excluded.has(name) && name !== spec.target && byName.has(name));
  const features: FeatureColumn[] = [];
  for (const name of chosen) {
    const column = byName.get(name)!;
    if (column.type === 'datetime') {
      problems.push({
        code: 'datetime_feature',
        column: name,
        message: include
          ? `'${name}' is a datetime column and cannot be a feature; remove it from features.include`
          : `'${name}' is a datetime column and cannot be a feature; add it to features.exclude`,
      });
      continue;
    }
    features.push({ name, kind: column.type === 'numeric' ? 'numeric' : 'categorical' });
  }
  if (features.length === 0 && problems.length === 0) {
    problems.push({
      code: 'no_features',
      message: include
        ? 'every column in features.include is also excluded; no feature is left'
        : `the dataset has no column besides the target '${spec.target}' that is not excluded; no feature is left`,
    });
  }
  if (problems.length > 0) throw new FeatureResolutionError(problems, available);
  return features;
}
