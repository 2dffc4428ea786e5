/**
 * The serving benchmarks' model: mlcycle's gbdt (100 rounds × 5 classes) trained on the bundled seattle-weather
 * data set, with the rows it was trained on (requests are made of them).
 */
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { inferTable, readDatasetFile } from '../../libs/ml/data';
import { getTrainer } from '../../libs/ml/trainers/registry';

export const FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind'] as const;

export async function trainModel(): Promise<{ bytes: Uint8Array; rows: Record<string, number>[] }> {
  const raw = await readDatasetFile(bundledDatasetPath('seattle-weather.csv'), 'csv');
  const table = inferTable(raw);
  const all = Uint32Array.from({ length: table.rowCount }, (_, i) => i);
  const model = await getTrainer('gbdt').train({
    table,
    features: FEATURES.map((name) => ({ name, kind: 'numeric' as const })),
    target: 'weather',
    task: 'multiclass_classification',
    trainRows: all,
    validRows: new Uint32Array(0),
    params: {},
    seed: 1,
  });
  const rows = Array.from({ length: table.rowCount }, (_, i) => Object.fromEntries(FEATURES.map((f) => [f, table.numeric[f][i]])));
  return { bytes: model.onnx, rows };
}
