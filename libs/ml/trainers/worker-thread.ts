/**
 * Runs a built-in trainer in a node:worker_threads thread so a long fit never blocks the activity worker's event
 * loop (heartbeats, cancellation, other activities keep running). The table travels as SharedArrayBuffers (numeric
 * columns copied once, categorical columns dictionary-encoded), progress comes back as messages, and the ONNX bytes
 * come back as a transferred buffer. Aborting terminates the thread.
 *
 * The thread needs JavaScript. From compiled output (dist/) the entry is worker-main.js next to this file. From
 * TypeScript sources (ts-jest, scripts run through a TS hook) there is no .js to load and ts-node is not a
 * dependency, so the thread first installs a minimal transpile-on-require hook built on the `typescript` compiler
 * (a devDependency, present wherever .ts sources run) and then requires worker-main.ts.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleThread } from '../../core/threads';
import type { TypedTable } from '../data/types';
import { getTrainer } from './registry';
import type { TrainerParams, TrainInput } from './types';
import { TrainerInputError, TrainingAbortedError } from './types';

export interface WorkerTrainInput extends Omit<TrainInput, 'onProgress' | 'signal'> {
  /** built-in trainer name (see BUILTIN_TRAINERS) */
  trainerName: string;
}

export interface WorkerTrainResult {
  onnx: Uint8Array;
  classes?: string[];
  params: TrainerParams;
  validationMetrics?: Record<string, number>;
  summary: Record<string, number | string>;
}

export interface WorkerOptions {
  /** V8 heap limit of the training thread, MB */
  maxOldGenerationSizeMb?: number;
}

/** A TypedTable restricted to some columns, in shared memory. */
export interface PackedTable {
  schema: TypedTable['schema'];
  rowCount: number;
  numeric: Record<string, SharedArrayBuffer>;
  /** dictionary-encoded: codes (Int32, -1 = null) in shared memory + the dictionary */
  categorical: Record<string, { codes: SharedArrayBuffer; dictionary: string[] }>;
}

export type WorkerMessage =
  | { type: 'progress'; fraction: number; message: string }
  | { type: 'result'; result: WorkerTrainResult }
  | { type: 'error'; error: SerializedError };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  inputError: boolean;
  problems?: string[];
  failureType?: string;
}

function shared(view: ArrayBufferView): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(view.byteLength);
  new Uint8Array(sab).set(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
  return sab;
}

export function packTable(table: TypedTable, columns: string[]): PackedTable {
  const packed: PackedTable = { schema: table.schema, rowCount: table.rowCount, numeric: {}, categorical: {} };
  for (const name of new Set(columns)) {
    const numeric = table.numeric[name];
    if (numeric) {
      packed.numeric[name] = shared(numeric);
      continue;
    }
    const strings = table.categorical[name];
    if (!strings) continue; // the trainer reports unknown columns with the full list
    const dictionary: string[] = [];
    const index = new Map<string, number>();
    const codes = new Int32Array(strings.length);
    for (let i = 0; i < strings.length; i++) {
      const s = strings[i];
      if (s === null) {
        codes[i] = -1;
        continue;
      }
      let code = index.get(s);
      if (code === undefined) {
        code = dictionary.length;
        dictionary.push(s);
        index.set(s, code);
      }
      codes[i] = code;
    }
    packed.categorical[name] = { codes: shared(codes), dictionary };
  }
  return packed;
}

export function unpackTable(packed: PackedTable): TypedTable {
  const numeric: Record<string, Float64Array> = {};
  for (const [name, sab] of Object.entries(packed.numeric)) numeric[name] = new Float64Array(sab);
  const categorical: Record<string, (string | null)[]> = {};
  for (const [name, { codes, dictionary }] of Object.entries(packed.categorical)) {
    const c = new Int32Array(codes);
    const out = new Array<string | null>(c.length);
    for (let i = 0; i < c.length; i++) out[i] = c[i] < 0 ? null : dictionary[c[i]];
    categorical[name] = out;
  }
  return { schema: packed.schema, rowCount: packed.rowCount, numeric, categorical };
}

export function serializeError(err: unknown): SerializedError {
  const e = err instanceof Error ? err : new Error(String(err));
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    inputError: e instanceof TrainerInputError,
    problems: (e as TrainerInputError).problems,
    failureType: (e as TrainerInputError).failureType,
  };
}

function deserializeError(s: SerializedError): Error {
  const e: Error = s.inputError ? new TrainerInputError(s.message, s.problems) : new Error(s.message);
  e.name = s.name;
  if (s.failureType) Object.defineProperty(e, 'failureType', { value: s.failureType, enumerable: true });
  if (s.stack) e.stack = s.stack;
  return e;
}

function spawnTrainingWorker(workerData: Record<string, unknown>, options: WorkerOptions): Worker {
  const resourceLimits = options.maxOldGenerationSizeMb ? { maxOldGenerationSizeMb: options.maxOldGenerationSizeMb } : undefined;
  return spawnModuleThread({ dirname: __dirname, filename: __filename }, 'worker-main', workerData, resourceLimits);
}

/**
 * Trains `input.trainerName` in a worker thread. Resolves with the ONNX bytes, classes and resolved params; rejects with
 * the trainer's error (TrainerInputError and its subclasses keep their name, problems and failureType), with
 * UnknownTrainerError before any thread starts, or with an AbortError when `signal` fires.
 */
export function trainInWorkerThread(
  input: WorkerTrainInput,
  onProgress?: (fraction: number, message: string) => void,
  signal?: AbortSignal,
  options: WorkerOptions = {},
): Promise<WorkerTrainResult> {
  getTrainer(input.trainerName); // unknown names fail here, without a thread
  if (signal?.aborted) return Promise.reject(new TrainingAbortedError('training was aborted before it started'));
  const workerData = {
    trainer: input.trainerName,
    table: packTable(input.table, [...input.features.map((f) => f.name), input.target]),
    features: input.features,
    target: input.target,
    task: input.task,
    trainRows: shared(input.trainRows),
    validRows: shared(input.validRows),
    params: input.params,
    seed: input.seed,
  };
  return new Promise<WorkerTrainResult>((resolve, reject) => {
    const worker = spawnTrainingWorker(workerData, options);
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      finish(() => reject(new TrainingAbortedError()));
      void worker.terminate();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (msg: WorkerMessage) => {
      if (msg.type === 'progress') {
        if (!settled) onProgress?.(msg.fraction, msg.message);
      } else if (msg.type === 'result') {
        finish(() => resolve(msg.result));
      } else if (msg.type === 'error') {
        finish(() => reject(deserializeError(msg.error)));
      }
    });
    worker.on('error', (err) => finish(() => reject(err)));
    worker.on('exit', (code) =>
      finish(() => reject(new Error(`training worker thread exited with code ${code} before returning a model (out of memory? see resource limits)`))),
    );
  });
}
