/**
 * Real data sets that ship inside the `vega-datasets` npm package (the package exports only its JS entry, so the
 * data folder is found next to it). Used by the example model, tests and benchmarks.
 */
import * as path from 'node:path';

export function bundledDatasetPath(fileName: string): string {
  const entry = require.resolve('vega-datasets'); // <package>/build/index.js
  return path.join(path.dirname(path.dirname(entry)), 'data', fileName);
}
