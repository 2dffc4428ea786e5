import type { DatasetSchema } from './data/types';
import { FeatureResolutionError, resolveFeatures } from './features';
import type { ModelSpecInput } from './spec';
import { parseModelSpec } from './spec';

const weatherSchema: DatasetSchema = {
  columns: [
    { name: 'date', type: 'datetime', missingRate: 0 },
    { name: 'precipitation', type: 'numeric', missingRate: 0 },
    { name: 'temp_max', type: 'numeric', missingRate: 0 },
    { name: 'windy', type: 'boolean', missingRate: 0 },
    { name: 'station', type: 'categorical', missingRate: 0 },
    { name: 'weather', type: 'categorical', missingRate: 0 },
  ],
};

function spec(overrides: Partial<ModelSpecInput> = {}) {
  return parseModelSpec({
    name: 'weather',
    task: 'multiclass_classification',
    target: 'weather',
    trainer: { name: 'gbdt' },
    evaluation: { primaryMetric: 'f1_macro' },
    ...overrides,
  });
}

function resolutionError(fn: () => unknown): FeatureResolutionError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FeatureResolutionError);
    return err as FeatureResolutionError;
  }
  throw new Error('expected a FeatureResolutionError');
}

describe('resolveFeatures', () => {
  it('takes every column but the target and the excluded ones, in dataset order; booleans become categorical', () => {
    expect(resolveFeatures(weatherSchema, spec({ features: { exclude: ['date'] } }))).toEqual([
      { name: 'precipitation', kind: 'numeric' },
      { name: 'temp_max', kind: 'numeric' },
      { name: 'windy', kind: 'categorical' },
      { name: 'station', kind: 'categorical' },
    ]);
  });

  it('takes an include list in its own order, minus excluded columns', () => {
    expect(resolveFeatures(weatherSchema, spec({ features: { include: ['station', 'temp_max', 'windy'], exclude: ['windy'] } }))).toEqual([
      { name: 'station', kind: 'categorical' },
      { name: 'temp_max', kind: 'numeric' },
    ]);
  });

  it('refuses a datetime column, suggesting features.exclude when it came in implicitly', () => {
    const err = resolutionError(() => resolveFeatures(weatherSchema, spec()));
    expect(err.problems).toEqual([
      { code: 'datetime_feature', column: 'date', message: "'date' is a datetime column and cannot be a feature; add it to features.exclude" },
    ]);
  });

  it('refuses a datetime column named in features.include, suggesting to remove it', () => {
    const err = resolutionError(() => resolveFeatures(weatherSchema, spec({ features: { include: ['date', 'temp_max'] } })));
    expect(err.problems.map((p) => p.message)).toEqual(["'date' is a datetime column and cannot be a feature; remove it from features.include"]);
  });

  it('lists every unknown column at once, with the columns that exist', () => {
    const err = resolutionError(() =>
      resolveFeatures(weatherSchema, spec({ target: 'wether', features: { include: ['temp_max', 'tmp_min', 'temp_max'], exclude: ['dat'] } })),
    );
    expect(err.problems.map((p) => [p.code, p.column])).toEqual([
      ['unknown_target', 'wether'],
      ['unknown_include', 'tmp_min'],
      ['duplicate_include', 'temp_max'],
      ['unknown_exclude', 'dat'],
    ]);
    expect(err.availableColumns).toEqual(['date', 'precipitation', 'temp_max', 'windy', 'station', 'weather']);
    expect(err.message).toBe(
      "cannot resolve the model's features: target column 'wether' is not in the dataset; features.include names 'tmp_min', " +
        "which is not in the dataset; features.include lists 'temp_max' more than once; features.exclude names 'dat', which is " +
        "not in the dataset. Available columns: 'date', 'precipitation', 'temp_max', 'windy', 'station', 'weather'",
    );
  });

  it('fails when nothing is left', () => {
    const onlyTarget: DatasetSchema = { columns: [{ name: 'weather', type: 'categorical', missingRate: 0 }] };
    expect(resolutionError(() => resolveFeatures(onlyTarget, spec())).problems[0].code).toBe('no_features');
    const allExcluded = spec({ features: { include: ['temp_max'], exclude: ['temp_max'] } });
    expect(resolutionError(() => resolveFeatures(weatherSchema, allExcluded)).problems[0].message).toBe(
      'every column in features.include is also excluded; no feature is left',
    );
  });
});
