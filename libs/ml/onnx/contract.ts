/**
 * The graph contract every mlcycle model follows (built-in or external), which serving relies on. See README.md in
 * this folder for the prose version. Kept in one place so trainers, the external-trainer check and serving agree.
 */
import type { FeatureColumn, Task, TypedTable } from '../data/types';
import type { GraphBuilder } from './model';
import { readOnnxHeader } from './model';

export const OUTPUT_LABEL = 'label';
export const OUTPUT_PROBABILITIES = 'probabilities';
export const OUTPUT_VARIABLE = 'variable';

export const METADATA_KEYS = {
  task: 'mlcycle.task',
  classes: 'mlcycle.classes',
  features: 'mlcycle.features',
  trainer: 'mlcycle.trainer',
  target: 'mlcycle.target',
  params: 'mlcycle.params',
} as const;

export interface MlcycleModelMetadata {
  task: Task;
  /** classification only: class labels in the column order of `probabilities` */
  classes?: string[];
  features: FeatureColumn[];
  trainer: string;
  target?: string;
  params?: Record<string, number | string | boolean>;
}

export class OnnxContractError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'OnnxContractError';
  }
}

export function isClassification(task: Task): boolean {
  return task !== 'regression';
}

/** metadata_props entries for a model (JSON-encoded values), ready for encodeModel or setOnnxMetadata. */
export function mlcycleMetadataProps(meta: MlcycleModelMetadata): Record<string, string> {
  const props: Record<string, string> = {
    [METADATA_KEYS.task]: meta.task,
    [METADATA_KEYS.features]: JSON.stringify(meta.features.map((f) => ({ name: f.name, kind: f.kind }))),
    [METADATA_KEYS.trainer]: meta.trainer,
  };
  if (meta.classes) props[METADATA_KEYS.classes] = JSON.stringify(meta.classes);
  if (meta.target !== undefined) props[METADATA_KEYS.target] = meta.target;
  if (meta.params) props[METADATA_KEYS.params] = JSON.stringify(meta.params);
  return props;
}

/**
 * Reads mlcycle's metadata_props from model bytes. Fields that are absent stay undefined; present but malformed
 * values throw OnnxContractError naming the key.
 */
export function readMlcycleMetadata(bytes: Uint8Array): Partial<MlcycleModelMetadata> & { raw: Record<string, string> } {
  const raw = readOnnxHeader(bytes).metadata;
  const out: Partial<MlcycleModelMetadata> & { raw: Record<string, string> } = { raw };
  const json = (key: string): unknown => {
    try {
      return JSON.parse(raw[key]);
    } catch {
      throw new OnnxContractError(`metadata_props '${key}' is not valid JSON: ${raw[key].slice(0, 200)}`);
    }
  };
  if (raw[METADATA_KEYS.task] !== undefined) {
    const task = raw[METADATA_KEYS.task];
    if (task !== 'binary_classification' && task !== 'multiclass_classification' && task !== 'regression') {
      throw new OnnxContractError(`metadata_props '${METADATA_KEYS.task}' is '${task}'; expected binary_classification, multiclass_classification or regression`);
    }
    out.task = task;
  }
  if (raw[METADATA_KEYS.classes] !== undefined) {
    const classes = json(METADATA_KEYS.classes);
    if (!Array.isArray(classes) || classes.length < 2 || !classes.every((c) => typeof c === 'string')) {
      throw new OnnxContractError(`metadata_props '${METADATA_KEYS.classes}' must be a JSON array of at least two strings`);
    }
    out.classes = classes as string[];
  }
  if (raw[METADATA_KEYS.features] !== undefined) {
    const features = json(METADATA_KEYS.features);
    const ok =
      Array.isArray(features) &&
      features.every((f) => f && typeof f.name === 'string' && (f.kind === 'numeric' || f.kind === 'categorical'));
    if (!ok) throw new OnnxContractError(`metadata_props '${METADATA_KEYS.features}' must be a JSON array of {name, kind}`);
    out.features = features as FeatureColumn[];
  }
  if (raw[METADATA_KEYS.trainer] !== undefined) out.trainer = raw[METADATA_KEYS.trainer];
  if (raw[METADATA_KEYS.target] !== undefined) out.target = raw[METADATA_KEYS.target];
  if (raw[METADATA_KEYS.params] !== undefined) out.params = json(METADATA_KEYS.params) as MlcycleModelMetadata['params'];
  return out;
}

/** Declares one [N,1] graph input per feature, named as the column: float for numeric, string for categorical. */
export function addFeatureInputs(g: GraphBuilder, features: FeatureColumn[]): void {
  for (const f of features) g.input(f.name, f.kind === 'numeric' ? 'float' : 'string', ['N', 1]);
}

export class MissingFeatureError extends Error {
  constructor(
    readonly column: string,
    available: string[],
  ) {
    super(`feature column '${column}' is not in the table; available columns: ${available.map((c) => `'${c}'`).join(', ') || '(none)'}`);
    this.name = 'MissingFeatureError';
  }
}

function tableColumns(table: TypedTable): string[] {
  return [...Object.keys(table.numeric), ...Object.keys(table.categorical)];
}

/**
 * A numeric feature's values for the given rows as float32 (what the ONNX input sees); NaN = missing.
 * A column stored as categorical (strings) is parsed as numbers, unparsable strings count as missing.
 */
export function numericFeature(table: TypedTable, name: string, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length);
  const numeric = table.numeric[name];
  if (numeric) {
    for (let i = 0; i < rows.length; i++) out[i] = numeric[rows[i]];
    return out;
  }
  const strings = table.categorical[name];
  if (!strings) throw new MissingFeatureError(name, tableColumns(table));
  for (let i = 0; i < rows.length; i++) {
    const s = strings[rows[i]];
    out[i] = s === null || s.trim() === '' ? NaN : Number(s);
  }
  return out;
}

/**
 * A categorical feature's values for the given rows as strings; '' = missing. A numeric column is formatted with
 * String(), NaN as missing.
 */
export function categoricalFeature(table: TypedTable, name: string, rows: ArrayLike<number>): string[] {
  const out = new Array<string>(rows.length);
  const strings = table.categorical[name];
  if (strings) {
    for (let i = 0; i < rows.length; i++) out[i] = strings[rows[i]] ?? '';
    return out;
  }
  const numeric = table.numeric[name];
  if (!numeric) throw new MissingFeatureError(name, tableColumns(table));
  for (let i = 0; i < rows.length; i++) {
    const v = numeric[rows[i]];
    out[i] = Number.isNaN(v) ? '' : String(v);
  }
  return out;
}
