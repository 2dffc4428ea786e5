/**
 * Columns in, outputs out: how a batch becomes onnxruntime feeds and its results become plain arrays, the same
 * whether it runs on an inference thread (pool-worker.ts) or on the event loop (pool.ts).
 */
import { float32Tensor, stringTensor } from '../ml/onnx/ort';
import type { OrtSession, OrtTensor } from '../ml/onnx/ort';
import type { RawOutput } from './batch-queue';

/** One [rows, 1] tensor per input column. */
export function feedsOf(columns: Record<string, Float32Array | string[]>, rows: number): Record<string, OrtTensor> {
  const feeds: Record<string, OrtTensor> = {};
  for (const [name, data] of Object.entries(columns)) {
    feeds[name] = Array.isArray(data) ? stringTensor(data, [rows, 1]) : float32Tensor(data, [rows, 1]);
  }
  return feeds;
}

/**
 * The fetched outputs as strings or FP32 (the serving signature's output types). `copy` gives each numeric output
 * a buffer of its own, which a thread can transfer instead of cloning.
 */
export function outputsOf(result: Awaited<ReturnType<OrtSession['run']>>, fetches: readonly string[], copy: boolean): Record<string, RawOutput> {
  const outputs: Record<string, RawOutput> = {};
  for (const name of fetches) {
    const t = result[name];
    if (t.type === 'string') outputs[name] = { dims: [...t.dims], data: t.data as string[] };
    else outputs[name] = { dims: [...t.dims], data: copy || !(t.data instanceof Float32Array) ? new Float32Array(t.data as Float32Array) : t.data };
  }
  return outputs;
}
