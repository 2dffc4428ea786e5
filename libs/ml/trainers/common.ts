/**
 * Pieces every trainer shares: parameter resolution against a declared spec, input checks, target encoding
 * (class order, dropped rows) and the validation metrics reported with a trained model.
 */
import type { Prediction, TypedTable } from '../data/types';
import type { ParamSpec, ParamValue, Trainer, TrainerParams, TrainInput } from './types';
import { TrainerInputError, TrainerParamError } from './types';

/** Fills defaults and checks every given parameter against the trainer's specs; all problems reported at once. */
export function resolveParams(trainer: string, specs: Readonly<Record<string, ParamSpec>>, given: TrainerParams): TrainerParams {
  const problems: string[] = [];
  const out: TrainerParams = {};
  for (const key of Object.keys(given)) {
    if (!(key in specs)) problems.push(`unknown parameter '${key}' (known: ${Object.keys(specs).join(', ')})`);
  }
  for (const [key, spec] of Object.entries(specs)) {
    let value: ParamValue | undefined = given[key];
    if (value === undefined) {
      if (spec.default !== undefined) out[key] = spec.default;
      continue;
    }
    // Specs arrive from JSON/YAML, where "0.1" or "true" as strings are a common slip; accept the unambiguous ones.
    if ((spec.type === 'number' || spec.type === 'integer') && typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) {
      value = Number(value);
    }
    if (spec.type === 'boolean' && (value === 'true' || value === 'false')) value = value === 'true';
    switch (spec.type) {
      case 'number':
      case 'integer': {
        if (typeof value !== 'number' || !Number.isFinite(value)) {
          problems.push(`'${key}' must be a ${spec.type}, got ${JSON.stringify(value)}`);
          continue;
        }
        if (spec.type === 'integer' && !Number.isInteger(value)) {
          problems.push(`'${key}' must be an integer, got ${value}`);
          continue;
        }
        const lo = spec.min;
        const hi = spec.max;
        if (lo !== undefined && (spec.exclusive ? value <= lo : value < lo)) {
          problems.push(`'${key}' must be ${spec.exclusive ? '>' : '>='} ${lo}, got ${value}`);
          continue;
        }
        if (hi !== undefined && (spec.exclusive ? value >= hi : value > hi)) {
          problems.push(`'${key}' must be ${spec.exclusive ? '<' : '<='} ${hi}, got ${value}`);
          continue;
        }
        break;
      }
      case 'boolean':
        if (typeof value !== 'boolean') {
          problems.push(`'${key}' must be true or false, got ${JSON.stringify(value)}`);
          continue;
        }
        break;
      case 'string':
        if (typeof value !== 'string') {
          problems.push(`'${key}' must be a string, got ${JSON.stringify(value)}`);
          continue;
        }
        if (spec.choices && !spec.choices.includes(value)) {
          problems.push(`'${key}' must be one of ${spec.choices.join(', ')}, got '${value}'`);
          continue;
        }
        break;
    }
    out[key] = value;
  }
  if (problems.length > 0) throw new TrainerParamError(trainer, problems);
  return out;
}

/** Rejects inputs no trainer can work with, naming what to fix. */
export function checkTrainInput(trainer: Trainer, input: TrainInput): void {
  const problems: string[] = [];
  if (!trainer.tasks.includes(input.task)) {
    problems.push(`trainer '${trainer.name}' does not support task '${input.task}' (supports ${trainer.tasks.join(', ')})`);
  }
  if (input.features.length === 0) problems.push('no feature columns given');
  if (input.features.some((f) => f.name === input.target)) problems.push(`the target '${input.target}' is also listed as a feature`);
  const names = new Set<string>();
  for (const f of input.features) {
    if (names.has(f.name)) problems.push(`feature '${f.name}' is listed twice`);
    names.add(f.name);
    if (!(f.name in input.table.numeric) && !(f.name in input.table.categorical)) {
      problems.push(`feature '${f.name}' is not a column of the table`);
    }
  }
  if (!(input.target in input.table.numeric) && !(input.target in input.table.categorical)) {
    problems.push(`target '${input.target}' is not a column of the table`);
  }
  if (input.trainRows.length === 0) problems.push('no training rows');
  for (const rows of [input.trainRows, input.validRows]) {
    for (let i = 0; i < rows.length; i++) {
      if (rows[i] >= input.table.rowCount) {
        problems.push(`row index ${rows[i]} is out of range (table has ${input.table.rowCount} rows)`);
        break;
      }
    }
  }
  if (problems.length > 0) throw new TrainerInputError(`cannot train '${trainer.name}': ${problems.join('; ')}`, problems);
}

/** Class order used everywhere: numeric order when every label is a number, else code-unit string order. */
export function sortClasses(labels: Iterable<string>): string[] {
  const unique = [...new Set(labels)];
  const numeric = unique.every((l) => l.trim() !== '' && Number.isFinite(Number(l)));
  return numeric ? unique.sort((a, b) => Number(a) - Number(b) || (a < b ? -1 : a > b ? 1 : 0)) : unique.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function targetStrings(table: TypedTable, target: string): (rowIndex: number) => string | null {
  const cat = table.categorical[target];
  if (cat) return (r) => (cat[r] === null || cat[r] === '' ? null : cat[r]);
  const num = table.numeric[target];
  return (r) => (Number.isNaN(num[r]) ? null : String(num[r]));
}

export interface EncodedTarget {
  /** training rows whose target is present */
  trainRows: Uint32Array;
  validRows: Uint32Array;
  /** class index (classification) or value (regression), aligned with trainRows / validRows */
  y: Float64Array;
  yValid: Float64Array;
  classes?: string[];
  droppedTrain: number;
  droppedValid: number;
}

/**
 * Drops rows with a missing target and encodes the rest. Classification needs at least two classes in the
 * training rows; binary classification exactly two. Validation rows with a class unseen in training are dropped.
 */
export function encodeTarget(input: TrainInput): EncodedTarget {
  const { table, target, task } = input;
  if (task === 'regression') {
    const values = table.numeric[target];
    if (!values) {
      throw new TrainerInputError(`regression needs a numeric target, but '${target}' is a categorical column; use a classification task or a numeric target`);
    }
    const keep = (rows: Uint32Array) => rows.filter((r) => Number.isFinite(values[r]));
    const trainRows = keep(input.trainRows);
    const validRows = keep(input.validRows);
    if (trainRows.length === 0) throw new TrainerInputError(`every training row has a missing target '${target}'`);
    return {
      trainRows,
      validRows,
      y: Float64Array.from(trainRows, (r) => values[r]),
      yValid: Float64Array.from(validRows, (r) => values[r]),
      droppedTrain: input.trainRows.length - trainRows.length,
      droppedValid: input.validRows.length - validRows.length,
    };
  }
  const label = targetStrings(table, target);
  const trainRows = input.trainRows.filter((r) => label(r) !== null);
  if (trainRows.length === 0) throw new TrainerInputError(`every training row has a missing target '${target}'`);
  const classes = sortClasses(Array.from(trainRows, (r) => label(r)!));
  if (classes.length < 2) {
    throw new TrainerInputError(`the training rows have a single class '${classes[0]}' in '${target}'; classification needs at least two`);
  }
  if (task === 'binary_classification' && classes.length !== 2) {
    throw new TrainerInputError(
      `binary classification needs exactly two classes, but '${target}' has ${classes.length} in the training rows; use multiclass_classification`,
    );
  }
  const index = new Map(classes.map((c, i) => [c, i]));
  const validRows = input.validRows.filter((r) => {
    const l = label(r);
    return l !== null && index.has(l);
  });
  return {
    trainRows,
    validRows,
    y: Float64Array.from(trainRows, (r) => index.get(label(r)!)!),
    yValid: Float64Array.from(validRows, (r) => index.get(label(r)!)!),
    classes,
    droppedTrain: input.trainRows.length - trainRows.length,
    droppedValid: input.validRows.length - validRows.length,
  };
}

/** accuracy + log_loss for classification, rmse + mae + r2 for regression. */
export function computeValidationMetrics(prediction: Prediction, y: Float64Array): Record<string, number> | undefined {
  const n = y.length;
  if (n === 0) return undefined;
  if (prediction.probabilities && prediction.classes) {
    const C = prediction.classes.length;
    let correct = 0;
    let loss = 0;
    for (let i = 0; i < n; i++) {
      const row = prediction.probabilities.subarray(i * C, i * C + C);
      let best = 0;
      for (let k = 1; k < C; k++) if (row[k] > row[best]) best = k;
      if (best === y[i]) correct++;
      loss -= Math.log(Math.min(1, Math.max(row[y[i]], 1e-15)));
    }
    return { accuracy: correct / n, log_loss: loss / n };
  }
  const v = prediction.values!;
  let se = 0;
  let ae = 0;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += y[i] / n;
  let ss = 0;
  for (let i = 0; i < n; i++) {
    se += (v[i] - y[i]) ** 2;
    ae += Math.abs(v[i] - y[i]);
    ss += (y[i] - mean) ** 2;
  }
  return { rmse: Math.sqrt(se / n), mae: ae / n, r2: ss > 0 ? 1 - se / ss : 0 };
}

/** Labels from row-major probabilities: first class with the highest probability (ONNX ArgMax picks the first too). */
export function labelsFromProbabilities(probabilities: Float64Array, classes: string[]): string[] {
  const C = classes.length;
  const n = probabilities.length / C;
  const labels = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let k = 1; k < C; k++) if (probabilities[i * C + k] > probabilities[i * C + best]) best = k;
    labels[i] = classes[best];
  }
  return labels;
}

/** Deterministic PRNG (mulberry32) so training depends on the seed only. */
export function makeRng(seed: number): () => number {
  let a = seed >>> 0 || 0x9e3779b9;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
