/**
 * Running and inspecting ONNX models with onnxruntime-node: batch prediction over TypedTable rows (evaluation and
 * the ONNX-equals-in-memory checks) and the graph-contract check applied to models from external trainers.
 */
import type { FeatureColumn, Prediction, Task, TypedTable } from '../data/types';
import {
  categoricalFeature,
  isClassification,
  numericFeature,
  OnnxContractError,
  OUTPUT_LABEL,
  OUTPUT_PROBABILITIES,
  OUTPUT_VARIABLE,
  readMlcycleMetadata,
} from './contract';
import type { OpsetImport } from './model';
import type { OrtSession, OrtSessionOptions, OrtTensor, SyncSession } from './ort';
import { createSyncSession, float32Tensor, ort, stringTensor } from './ort';
import { readOnnxHeader } from './model';
import { ProtoDecodeError } from './proto';

export interface OnnxValueInfo {
  name: string;
  /** onnxruntime's tensor type ('float32', 'string', 'int64', ...) or 'non-tensor' for maps and sequences */
  type: string;
  shape: (number | string)[];
}

export interface OnnxModelInfo {
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  irVersion?: number;
  producerName: string;
  producerVersion: string;
  opsets: OpsetImport[];
  metadata: Record<string, string>;
}

export interface SessionOptions {
  intraOpNumThreads?: number;
}

/** Creates an InferenceSession; a model onnxruntime cannot load throws OnnxContractError with its reason. */
export async function createOnnxSession(bytes: Uint8Array, opts: SessionOptions = {}): Promise<OrtSession> {
  try {
    return await ort.InferenceSession.create(bytes, sessionOptions(opts));
  } catch (err) {
    throw new OnnxContractError(`onnxruntime cannot load the model: ${(err as Error).message.trim()}`);
  }
}

/** The same, as a session that runs synchronously (see SyncSession); the load blocks the calling thread. */
export function createSyncOnnxSession(bytes: Uint8Array, opts: SessionOptions = {}): SyncSession {
  try {
    return createSyncSession(bytes, sessionOptions(opts));
  } catch (err) {
    throw new OnnxContractError(`onnxruntime cannot load the model: ${(err as Error).message.trim()}`);
  }
}

function sessionOptions(opts: SessionOptions): OrtSessionOptions {
  return { intraOpNumThreads: opts.intraOpNumThreads ?? 1, interOpNumThreads: 1, graphOptimizationLevel: 'all', logSeverityLevel: 3 };
}

function describe(meta: OrtSession['inputMetadata']): OnnxValueInfo[] {
  return meta.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] }));
}

/** Input/output names, element types and shapes (as onnxruntime sees them) plus the model's header and metadata. */
export async function inspectOnnx(bytes: Uint8Array): Promise<OnnxModelInfo> {
  let header;
  try {
    header = readOnnxHeader(bytes);
  } catch (err) {
    if (err instanceof ProtoDecodeError) throw new OnnxContractError(`not an ONNX model: ${err.message}`);
    throw err;
  }
  const session = await createOnnxSession(bytes);
  try {
    return {
      inputs: describe(session.inputMetadata),
      outputs: describe(session.outputMetadata),
      irVersion: header.irVersion,
      producerName: header.producerName,
      producerVersion: header.producerVersion,
      opsets: header.opsets,
      metadata: header.metadata,
    };
  } finally {
    await session.release();
  }
}

const isDynamicOr = (dim: number | string | undefined, size: number): boolean => dim === undefined || typeof dim === 'string' || dim === size || dim === -1;

/**
 * Every way the model's declared inputs and outputs break the graph contract for this task and feature list
 * (empty when it follows it). `classes` is checked against the probabilities width when that width is static.
 */
export function contractProblems(info: OnnxModelInfo, task: Task, features: FeatureColumn[], classes?: string[]): string[] {
  const problems: string[] = [];
  const inputs = new Map(info.inputs.map((i) => [i.name, i]));
  for (const f of features) {
    const input = inputs.get(f.name);
    const want = f.kind === 'numeric' ? 'float32' : 'string';
    if (!input) {
      problems.push(`missing input '${f.name}' (${f.kind} feature → tensor(${f.kind === 'numeric' ? 'float' : 'string'}) [N,1])`);
      continue;
    }
    if (input.type !== want) problems.push(`input '${f.name}' is ${input.type}; a ${f.kind} feature must be ${want}`);
    if (input.shape.length !== 2 || !isDynamicOr(input.shape[1], 1)) {
      problems.push(`input '${f.name}' has shape [${input.shape.join(',')}]; expected [N,1]`);
    }
  }
  const featureNames = new Set(features.map((f) => f.name));
  for (const name of inputs.keys()) {
    if (!featureNames.has(name)) problems.push(`input '${name}' is not a feature column; the model may only take the features as inputs`);
  }
  const outputs = new Map(info.outputs.map((o) => [o.name, o]));
  if (isClassification(task)) {
    const label = outputs.get(OUTPUT_LABEL);
    const proba = outputs.get(OUTPUT_PROBABILITIES);
    if (!label) problems.push(`missing output '${OUTPUT_LABEL}' (tensor(string) [N])`);
    else if (label.type !== 'string') problems.push(`output '${OUTPUT_LABEL}' is ${label.type}; expected string`);
    if (!proba) problems.push(`missing output '${OUTPUT_PROBABILITIES}' (tensor(float) [N,C]; disable ZipMap in skl2onnx)`);
    else if (proba.type !== 'float32') problems.push(`output '${OUTPUT_PROBABILITIES}' is ${proba.type}; expected float32 tensor [N,C]`);
    else if (proba.shape.length !== 2) problems.push(`output '${OUTPUT_PROBABILITIES}' has rank ${proba.shape.length}; expected [N,C]`);
    else if (classes && !isDynamicOr(proba.shape[1], classes.length)) {
      problems.push(`output '${OUTPUT_PROBABILITIES}' has ${proba.shape[1]} columns but the model declares ${classes.length} classes`);
    }
  } else {
    const variable = outputs.get(OUTPUT_VARIABLE);
    if (!variable) problems.push(`missing output '${OUTPUT_VARIABLE}' (tensor(float) [N,1])`);
    else if (variable.type !== 'float32') problems.push(`output '${OUTPUT_VARIABLE}' is ${variable.type}; expected float32`);
    else if (variable.shape.length !== 2 || !isDynamicOr(variable.shape[1], 1)) {
      problems.push(`output '${OUTPUT_VARIABLE}' has shape [${variable.shape.join(',')}]; expected [N,1]`);
    }
  }
  return problems;
}

export interface RunOnnxOptions extends SessionOptions {
  /** class order of the probabilities columns; defaults to the model's `mlcycle.classes` metadata */
  classes?: string[];
  /** rows per session.run call (bounds memory on large tables) */
  batchSize?: number;
  /** reuse an open session instead of creating one from `bytes` (the caller owns and releases it) */
  session?: OrtSession;
}

/** Builds the per-column feeds for a slice of rows. */
export function featureFeeds(table: TypedTable, rows: ArrayLike<number>, features: FeatureColumn[]): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const f of features) {
    feeds[f.name] =
      f.kind === 'numeric'
        ? float32Tensor(numericFeature(table, f.name, rows), [rows.length, 1])
        : stringTensor(categoricalFeature(table, f.name, rows), [rows.length, 1]);
  }
  return feeds;
}

/**
 * Predicts `rows` of `table` with an mlcycle-contract ONNX model. Classification returns labels, probabilities
 * (row-major, class order = classes) and classes; regression returns values.
 */
export async function runOnnxModel(
  bytes: Uint8Array,
  table: TypedTable,
  rows: Uint32Array | number[],
  features: FeatureColumn[],
  opts: RunOnnxOptions = {},
): Promise<Prediction> {
  const session = opts.session ?? (await createOnnxSession(bytes, opts));
  try {
    const outputNames = new Set(session.outputNames);
    const classification = outputNames.has(OUTPUT_PROBABILITIES) || outputNames.has(OUTPUT_LABEL);
    if (!classification && !outputNames.has(OUTPUT_VARIABLE)) {
      throw new OnnxContractError(
        `the model has outputs ${session.outputNames.map((n) => `'${n}'`).join(', ')}; expected '${OUTPUT_LABEL}' + '${OUTPUT_PROBABILITIES}' or '${OUTPUT_VARIABLE}'`,
      );
    }
    const classes = classification ? (opts.classes ?? readMlcycleMetadata(bytes).classes) : undefined;
    if (classification && !classes) {
      throw new OnnxContractError(`classification model without class order: set metadata_props 'mlcycle.classes' or pass opts.classes`);
    }
    const n = rows.length;
    const batch = Math.max(1, opts.batchSize ?? 65536);
    const labels: string[] = [];
    const C = classes?.length ?? 0;
    const probabilities = classification ? new Float64Array(n * C) : undefined;
    const values = classification ? undefined : new Float64Array(n);
    for (let start = 0; start < n; start += batch) {
      const slice = Array.prototype.slice.call(rows, start, Math.min(n, start + batch)) as number[];
      const result = await session.run(featureFeeds(table, slice, features));
      if (classification) {
        const label = result[OUTPUT_LABEL];
        const proba = result[OUTPUT_PROBABILITIES];
        if (!label || !proba) throw new OnnxContractError(`the model did not return both '${OUTPUT_LABEL}' and '${OUTPUT_PROBABILITIES}'`);
        if (proba.dims.length !== 2 || proba.dims[1] !== C || proba.dims[0] !== slice.length) {
          throw new OnnxContractError(`'${OUTPUT_PROBABILITIES}' has shape [${proba.dims.join(',')}]; expected [${slice.length},${C}]`);
        }
        for (const l of label.data as string[]) labels.push(String(l));
        probabilities!.set(proba.data as Float32Array, start * C);
      } else {
        const out = result[OUTPUT_VARIABLE];
        if (out.data.length !== slice.length) {
          throw new OnnxContractError(`'${OUTPUT_VARIABLE}' has shape [${out.dims.join(',')}]; expected [${slice.length},1]`);
        }
        values!.set(out.data as Float32Array, start);
      }
    }
    return classification ? { labels, probabilities, classes } : { values };
  } finally {
    if (!opts.session) await session.release();
  }
}
