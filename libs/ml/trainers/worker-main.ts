/**
 * Entry point of the training worker thread started by trainInWorkerThread (worker-thread.ts): rebuilds the table
 * from shared memory, trains, streams progress (at most every 100 ms) and posts the model bytes back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { FeatureColumn, Task } from '../data/types';
import { getTrainer } from './registry';
import type { TrainerParams } from './types';
import type { PackedTable, WorkerMessage } from './worker-thread';
import { serializeError, unpackTable } from './worker-thread';

interface TrainingWorkerData {
  trainer: string;
  table: PackedTable;
  features: FeatureColumn[];
  target: string;
  task: Task;
  trainRows: SharedArrayBuffer;
  validRows: SharedArrayBuffer;
  params: TrainerParams;
  seed: number;
}

const PROGRESS_INTERVAL_MS = 100;

async function main(): Promise<void> {
  const port = parentPort!;
  const data = workerData as TrainingWorkerData;
  const post = (msg: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
  try {
    let lastPost = 0;
    const model = await getTrainer(data.trainer).train({
      table: unpackTable(data.table),
      features: data.features,
      target: data.target,
      task: data.task,
      trainRows: new Uint32Array(data.trainRows),
      validRows: new Uint32Array(data.validRows),
      params: data.params,
      seed: data.seed,
      onProgress: (fraction, message) => {
        const now = Date.now();
        if (fraction < 1 && now - lastPost < PROGRESS_INTERVAL_MS) return;
        lastPost = now;
        post({ type: 'progress', fraction, message });
      },
    });
    const onnx = model.onnx.buffer.byteLength === model.onnx.byteLength ? model.onnx : model.onnx.slice();
    post(
      {
        type: 'result',
        result: { onnx, classes: model.classes, params: model.params, validationMetrics: model.validationMetrics, summary: model.summary },
      },
      [onnx.buffer as ArrayBuffer],
    );
  } catch (err) {
    post({ type: 'error', error: serializeError(err) });
  }
}

void main();
