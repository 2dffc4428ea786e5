/**
 * The trainer interface every built-in learner implements, and the errors trainers raise. A trainer turns rows of
 * a TypedTable into an ONNX model that follows the graph contract (libs/ml/onnx/README.md) plus an in-memory
 * predictor that gives the same answers, so evaluation can run either.
 */
import { FAILURE_TYPES } from '../../contracts/failures';
import type { FeatureColumn, Prediction, Task, TypedTable } from '../data/types';

export type ParamValue = number | string | boolean;
export type TrainerParams = Record<string, ParamValue>;

export interface TrainInput {
  table: TypedTable;
  features: FeatureColumn[];
  target: string;
  task: Task;
  trainRows: Uint32Array;
  /** used for early stopping (gbdt) and the reported validation metrics; may be empty */
  validRows: Uint32Array;
  params: TrainerParams;
  seed: number;
  /** fraction in [0,1]; called often, so keep it cheap */
  onProgress?: (fraction: number, message: string) => void;
  /** checked between iterations when training runs in-process; in a worker thread the thread is terminated instead */
  signal?: AbortSignal;
}

export interface TrainedModel {
  /** ONNX ModelProto bytes, deterministic for the same input and seed */
  onnx: Uint8Array;
  /** classification: class labels in probabilities column order */
  classes?: string[];
  /** every parameter with defaults filled in */
  params: TrainerParams;
  /** in-memory predictions, equal to the ONNX model's within float32 rounding */
  predict(table: TypedTable, rows: ArrayLike<number>): Prediction;
  /** metrics on validRows (accuracy and log_loss, or rmse, mae and r2); absent when validRows is empty */
  validationMetrics?: Record<string, number>;
  /** what training did, for logs and lineage (iterations run, rows dropped for a missing target, ...) */
  summary: Record<string, number | string>;
}

export interface ParamSpec {
  type: 'number' | 'integer' | 'boolean' | 'string';
  default?: ParamValue;
  min?: number;
  max?: number;
  /** min/max exclusive */
  exclusive?: boolean;
  choices?: readonly string[];
  description: string;
}

export interface Trainer {
  readonly name: string;
  readonly description: string;
  readonly tasks: readonly Task[];
  readonly paramSpecs: Readonly<Record<string, ParamSpec>>;
  train(input: TrainInput): Promise<TrainedModel> | TrainedModel;
}

/** Base of errors that bad input (spec, params, data) causes: retrying will not help. */
export class TrainerInputError extends Error {
  readonly failureType: string = FAILURE_TYPES.trainerFailed;
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = 'TrainerInputError';
  }
}

export class UnknownTrainerError extends TrainerInputError {
  override readonly failureType: string = FAILURE_TYPES.unknownTrainer;
  constructor(
    readonly requested: string,
    readonly available: string[],
  ) {
    super(`unknown trainer '${requested}'; available trainers: ${available.join(', ') || '(none)'}`);
    this.name = 'UnknownTrainerError';
  }
}

export class TrainerParamError extends TrainerInputError {
  constructor(trainer: string, problems: string[]) {
    super(`invalid parameters for trainer '${trainer}': ${problems.join('; ')}`, problems);
    this.name = 'TrainerParamError';
  }
}

export class TrainingAbortedError extends Error {
  constructor(message = 'training was aborted') {
    super(message);
    this.name = 'AbortError';
  }
}
