import type { ModelSpecInput } from '../spec';
import { parseModelSpec } from '../spec';
import { penguinsAsJsonLines, rawColumns, scratchDir, SEATTLE_WEATHER_CSV } from './__fixtures__/tables';
import { readDatasetFile } from './read';
import { inferTable } from './schema';
import type { TypedTable } from './types';
import { validateDataset } from './validate';

const scratch = scratchDir();
afterAll(() => scratch.cleanup());

let weather: TypedTable;
let penguins: TypedTable;
beforeAll(async () => {
  weather = inferTable(await readDatasetFile(SEATTLE_WEATHER_CSV));
  penguins = inferTable(await readDatasetFile(scratch.write('penguins.jsonl', penguinsAsJsonLines())));
});

function spec(overrides: Partial<ModelSpecInput> = {}) {
  const task = overrides.task ?? 'multiclass_classification';
  return parseModelSpec({
    name: 'test-model',
    task,
    target: 'weather',
    features: { exclude: ['date'] },
    trainer: { name: 'gbdt' },
    evaluation: { primaryMetric: task === 'regression' ? 'rmse' : 'accuracy' },
    ...overrides,
  });
}

const codes = (issues: { code: string }[]) => issues.map((i) => i.code);

/** A typed table from columns, with n rows of a well-behaved numeric feature and target added as needed. */
function table(columns: Record<string, (string | number | null)[]>): TypedTable {
  return inferTable(rawColumns(columns));
}

describe('validateDataset on real data', () => {
  it('passes seattle-weather for multiclass weather, reporting features and class counts', () => {
    const report = validateDataset(weather, spec());
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
    expect(report).toMatchObject({ ok: true, rowCount: 1461, columnCount: 6 });
    expect(report.features.map((f) => f.name)).toEqual(['precipitation', 'temp_max', 'temp_min', 'wind']);
    expect(report.classCounts).toEqual({ drizzle: 53, fog: 101, rain: 641, snow: 26, sun: 640 });
    expect(report.schema).toBe(weather.schema);
  });

  it('passes seattle-weather for regression on temp_max', () => {
    const report = validateDataset(weather, spec({ task: 'regression', target: 'temp_max' }));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.classCounts).toBeUndefined();
  });

  it('passes penguins for multiclass species', () => {
    const report = validateDataset(penguins, spec({ target: 'Species', features: { exclude: [] } }));
    expect(report.errors).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.classCounts).toEqual({ Adelie: 152, Chinstrap: 68, Gentoo: 124 });
  });

  it("flags penguins' Sex as a binary target: a stray '.' class, rows without a label", () => {
    const report = validateDataset(penguins, spec({ task: 'binary_classification', target: 'Sex', features: { exclude: [] } }));
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([
      {
        code: 'label_cardinality',
        column: 'Sex',
        message: "binary_classification needs exactly 2 classes in 'Sex', found 3 ('.', 'FEMALE', 'MALE'); use multiclass_classification or fix the labels",
      },
    ]);
    expect(report.warnings).toEqual([
      {
        code: 'target_missing_values',
        column: 'Sex',
        message: "10 of 344 rows (2.9%) have no value for target 'Sex'; they will be left out of training and evaluation",
      },
      {
        code: 'rare_class',
        column: 'Sex',
        message: "class '.' of 'Sex' has fewer than 2 rows; the model can hardly learn it and evaluation may not see it",
      },
    ]);
  });
});

describe('validateDataset errors', () => {
  it('reports a missing target with the columns there are', () => {
    const report = validateDataset(weather, spec({ target: 'conditions' }));
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([
      {
        code: 'target_missing',
        column: 'conditions',
        message: "target column 'conditions' is not in the dataset; columns are 'date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather'",
      },
    ]);
  });

  it('reports unknown include/exclude columns and datetime features', () => {
    const report = validateDataset(weather, spec({ features: { include: ['temp_max', 'humidity', 'date'], exclude: ['pressure'] } }));
    expect(report.errors.map((e) => [e.code, e.column])).toEqual([
      ['unknown_include', 'humidity'],
      ['unknown_exclude', 'pressure'],
      ['datetime_feature', 'date'],
    ]);
    expect(report.features).toEqual([]);
  });

  it('needs validation.minRows rows with a target value', () => {
    const report = validateDataset(weather, spec({ validation: { minRows: 2000 } }));
    expect(report.errors).toEqual([
      { code: 'too_few_rows', message: 'the dataset has 1461 rows with a target value; the spec requires at least 2000 (validation.minRows)' },
    ]);
    const labelled = table({ x: [1, 2, 3, 4], y: ['a', 'b', null, null] });
    const few = validateDataset(labelled, spec({ task: 'binary_classification', target: 'y', features: {}, validation: { minRows: 3 } }));
    expect(codes(few.errors)).toEqual(['too_few_rows']);
    expect(few.errors[0].message).toMatch(/has 2 rows with a target value/);
  });

  it('blocks features missing more often than validation.maxMissingRate, and a target with no values', () => {
    const t = table({ x: [1, null, null, 4, 5], z: [1, 2, null, 4, 5], y: [null, null, null, null, null] });
    const report = validateDataset(t, spec({ task: 'regression', target: 'y', features: {}, validation: { minRows: 1, maxMissingRate: 0.3 } }));
    expect(report.errors).toEqual(
      expect.arrayContaining([
        {
          code: 'too_many_missing',
          column: 'x',
          message: "feature 'x' is missing in 40.0% of rows, above validation.maxMissingRate (30.0%); fill it in, add it to features.exclude, or raise the limit",
        },
        { code: 'target_missing_values', column: 'y', message: "target column 'y' has no values at all" },
      ]),
    );
    expect(report.errors.find((e) => e.column === 'z')).toBeUndefined(); // 20% is within the limit
  });

  it('warns about constant features and blocks a constant target', () => {
    const t = table({ x: [1, 2, 3], same: ['k', 'k', null], y: ['a', 'a', 'a'] });
    const report = validateDataset(t, spec({ task: 'binary_classification', target: 'y', features: {}, validation: { minRows: 1 } }));
    expect(report.warnings).toEqual([
      {
        code: 'constant_column',
        column: 'same',
        message: "feature 'same' has the same value ('k') in every row; it carries no information (consider features.exclude)",
      },
    ]);
    expect(report.errors).toEqual([
      { code: 'constant_target', column: 'y', message: "target 'y' has the same value ('a') in every row; there is nothing to learn" },
    ]);
  });

  it('needs a numeric target for regression', () => {
    const report = validateDataset(weather, spec({ task: 'regression', target: 'weather' }));
    expect(report.errors).toEqual([
      {
        code: 'target_type',
        column: 'weather',
        message: "regression needs a numeric target, but 'weather' is categorical; use a classification task or pick a numeric target",
      },
    ]);
  });

  it('checks class counts: multiclass needs 3 to maxClasses classes', () => {
    const two = table({ x: [1, 2, 3, 4], y: ['a', 'b', 'a', 'b'] });
    const report = validateDataset(two, spec({ target: 'y', features: {}, validation: { minRows: 1 } }));
    expect(report.errors.map((e) => e.message)).toEqual([
      "multiclass_classification needs at least 3 classes in 'y', found 2 ('a', 'b'); use binary_classification",
    ]);
    const many = validateDataset(weather, spec({ task: 'multiclass_classification', target: 'temp_max', features: { exclude: ['date'] } }));
    expect(many.errors).toHaveLength(1);
    expect(many.errors[0]).toMatchObject({ code: 'label_cardinality', column: 'temp_max' });
    expect(many.errors[0].message).toMatch(/^'temp_max' has \d+ distinct values, more than validation.maxClasses \(50\)/);
  });

  it('accepts numeric 0/1 labels for binary classification', () => {
    const t = table({ x: [1, 2, 3, 4], y: ['0', '1', '1', '0'] });
    const report = validateDataset(t, spec({ task: 'binary_classification', target: 'y', features: {}, validation: { minRows: 1 } }));
    expect(report.errors).toEqual([]);
    expect(report.classCounts).toEqual({ 0: 2, 1: 2 });
  });
});

describe('validateDataset against the previous snapshot', () => {
  const previous = {
    columns: [
      { name: 'date', type: 'datetime' as const, missingRate: 0 },
      { name: 'precipitation', type: 'numeric' as const, missingRate: 0 },
      { name: 'temp_max', type: 'categorical' as const, missingRate: 0 },
      { name: 'humidity', type: 'numeric' as const, missingRate: 0 },
      { name: 'weather', type: 'categorical' as const, missingRate: 0 },
    ],
  };

  it('blocks removed columns and type changes, warns about new columns', () => {
    const report = validateDataset(weather, spec(), previous);
    expect(report.ok).toBe(false);
    expect(report.errors).toEqual([
      {
        code: 'column_type_changed',
        column: 'temp_max',
        message: "column 'temp_max' was categorical in the previous snapshot and is numeric now (set validation.allowSchemaChange to accept the change)",
      },
      {
        code: 'column_removed',
        column: 'humidity',
        message: "column 'humidity' (numeric) was in the previous snapshot but is missing now (set validation.allowSchemaChange to accept the change)",
      },
    ]);
    expect(report.warnings.map((w) => [w.code, w.column])).toEqual([
      ['column_added', 'temp_min'],
      ['column_added', 'wind'],
    ]);
  });

  it('only warns when a column the spec leaves out (features.exclude) changed type', () => {
    const unchanged = { columns: previous.columns.filter((c) => c.name !== 'humidity' && c.name !== 'temp_max').map((c) => (c.name === 'date' ? { ...c, type: 'numeric' as const } : c)) };
    const report = validateDataset(weather, spec({ features: { exclude: ['date'] } }), unchanged);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toContainEqual({ code: 'column_type_changed', column: 'date', message: "column 'date' was numeric in the previous snapshot and is datetime now" });
  });

  it('turns schema changes into warnings when validation.allowSchemaChange is set', () => {
    const report = validateDataset(weather, spec({ validation: { allowSchemaChange: true } }), previous);
    expect(report.ok).toBe(true);
    expect(codes(report.warnings)).toEqual(['column_type_changed', 'column_removed', 'column_added', 'column_added']);
    expect(report.warnings[0].message).not.toMatch(/allowSchemaChange/);
  });

  it('says nothing when the schema is unchanged', () => {
    const report = validateDataset(weather, spec(), weather.schema);
    expect(report.errors).toEqual([]);
    expect(report.warnings).toEqual([]);
  });
});
