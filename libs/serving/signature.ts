/**
 * What a served model version takes and returns, derived from its mlcycle metadata and checked against the
 * session onnxruntime actually opened: one [N,1] input per feature column (FP32 numeric, BYTES categorical) and
 * `label` + `probabilities` or `variable` out (libs/ml/onnx/README.md). Both endpoints validate requests against it.
 */
import type { FeatureColumn, Task } from '../ml/data/types';
import type { MlcycleModelMetadata } from '../ml/onnx/contract';
import { OUTPUT_LABEL, OUTPUT_PROBABILITIES, OUTPUT_VARIABLE } from '../ml/onnx/contract';

/** Open Inference Protocol tensor datatypes used by mlcycle models. */
export type OipDatatype = 'FP32' | 'BYTES';

export interface TensorSpec {
  name: string;
  datatype: OipDatatype;
  /** -1 = any size (the batch dimension) */
  shape: number[];
}

/** Input or output of an onnxruntime session, as the pool worker reports it after loading. */
export interface SessionValueInfo {
  name: string;
  /** onnxruntime's element type: 'float32', 'string', ... ('non-tensor' for maps and sequences) */
  type: string;
  shape: (number | string)[];
}

export interface ModelSignature {
  task: Task;
  features: FeatureColumn[];
  /** classification: labels in `probabilities` column order */
  classes?: string[];
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  /** output names the session is asked for */
  fetches: string[];
}

export class SignatureError extends Error {}

/** Builds and checks a version's signature; throws SignatureError when the model breaks the graph contract. */
export function modelSignature(meta: Partial<MlcycleModelMetadata>, io: { inputs: SessionValueInfo[]; outputs: SessionValueInfo[] }): ModelSignature {
  const sessionInputs = new Map(io.inputs.map((i) => [i.name, i]));
  const features: FeatureColumn[] =
    meta.features ??
    io.inputs.map((i) => {
      if (i.type !== 'float32' && i.type !== 'string') throw new SignatureError(`input '${i.name}' is ${i.type}; mlcycle models take float32 or string inputs`);
      return { name: i.name, kind: i.type === 'float32' ? 'numeric' : 'categorical' };
    });
  const problems: string[] = [];
  for (const f of features) {
    const input = sessionInputs.get(f.name);
    const want = f.kind === 'numeric' ? 'float32' : 'string';
    if (!input) problems.push(`the model has no input '${f.name}' for feature '${f.name}'`);
    else if (input.type !== want) problems.push(`input '${f.name}' is ${input.type}; a ${f.kind} feature needs ${want}`);
  }
  if (sessionInputs.size !== features.length) {
    const names = new Set(features.map((f) => f.name));
    for (const name of sessionInputs.keys()) if (!names.has(name)) problems.push(`input '${name}' is not a feature column`);
  }
  const outputNames = new Set(io.outputs.map((o) => o.name));
  const classification = meta.task ? meta.task !== 'regression' : outputNames.has(OUTPUT_PROBABILITIES);
  const task: Task = meta.task ?? (classification ? (meta.classes?.length === 2 ? 'binary_classification' : 'multiclass_classification') : 'regression');
  let outputs: TensorSpec[];
  if (classification) {
    if (!outputNames.has(OUTPUT_LABEL) || !outputNames.has(OUTPUT_PROBABILITIES)) problems.push(`a classifier must output '${OUTPUT_LABEL}' and '${OUTPUT_PROBABILITIES}'`);
    if (!meta.classes) problems.push(`a classifier needs its class order in metadata_props 'mlcycle.classes'`);
    outputs = [
      { name: OUTPUT_LABEL, datatype: 'BYTES', shape: [-1] },
      { name: OUTPUT_PROBABILITIES, datatype: 'FP32', shape: [-1, meta.classes?.length ?? -1] },
    ];
  } else {
    if (!outputNames.has(OUTPUT_VARIABLE)) problems.push(`a regressor must output '${OUTPUT_VARIABLE}'`);
    outputs = [{ name: OUTPUT_VARIABLE, datatype: 'FP32', shape: [-1, 1] }];
  }
  if (problems.length) throw new SignatureError(`the model breaks the mlcycle graph contract: ${problems.join('; ')}`);
  return {
    task,
    features,
    classes: classification ? meta.classes : undefined,
    inputs: features.map((f) => ({ name: f.name, datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES', shape: [-1, 1] })),
    outputs,
    fetches: outputs.map((o) => o.name),
  };
}
