import { inferTable, readDatasetFile, validateDataset } from '../../libs/ml/data';
import { SEATTLE_WEATHER_CSV } from '../../libs/ml/data/__fixtures__/tables';
import { parseModelSpec } from '../../libs/ml/spec';
import type { ModelSpecInput } from '../../libs/ml/spec';
import { validationFailureMessage } from './training.activities';

/** The message a training run fails with, from validating seattle-weather against a spec. */
async function failureFor(overrides: Partial<ModelSpecInput>): Promise<string> {
  const table = inferTable(await readDatasetFile(SEATTLE_WEATHER_CSV));
  const spec = parseModelSpec({
    name: 'weather',
    task: 'multiclass_classification',
    target: 'weather',
    features: { exclude: ['date'] },
    trainer: { name: 'gbdt' },
    evaluation: { primaryMetric: 'accuracy' },
    ...overrides,
  });
  const report = validateDataset(table, spec);
  return validationFailureMessage(report.errors, report.schema.columns.map((c) => c.name));
}

describe('validationFailureMessage', () => {
  test('a missing target lists the columns once (its own message names them)', async () => {
    expect(await failureFor({ target: 'conditions' })).toBe(
      "data validation failed: target column 'conditions' is not in the dataset; columns are 'date', 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather'",
    );
  });

  test('a feature list that names an absent column gets the columns to choose from', async () => {
    expect(await failureFor({ features: { include: ['tmp_min'], exclude: ['date'] } })).toBe(
      "data validation failed: features.include names 'tmp_min', which is not in the dataset; columns in the data: date, precipitation, temp_max, temp_min, wind, weather",
    );
  });

  test('problems that are not about a column name come without the list', () => {
    expect(validationFailureMessage([{ code: 'too_few_rows', message: 'only 3 labelled rows' }], ['a', 'b'])).toBe('data validation failed: only 3 labelled rows');
  });
});
