/**
 * onnxruntime-node, loaded so that its JavaScript and its native binding live in the same realm in every
 * environment. Under jest, modules run inside a vm context whose typed-array constructors differ from the main
 * realm's; onnxruntime-common's `instanceof Float32Array` checks then reject every output tensor the binding
 * creates ("A float32 tensor's data must be type of function Float32Array()"). Loading the package with Node's own
 * require keeps it in the main realm; inputs are then built with that realm's constructors (a zero-copy view).
 * In plain Node both realms are the same and this is just `require('onnxruntime-node')`.
 */
import * as nodeModule from 'node:module';
import type * as OrtModule from 'onnxruntime-node';

export type Ort = typeof OrtModule;
export type OrtTensor = OrtModule.Tensor;
export type OrtSession = OrtModule.InferenceSession;
export type OrtSessionOptions = OrtModule.InferenceSession.SessionOptions;

// jest replaces `require('node:module')` with its own shim whose createRequire loads into the sandbox again;
// process.getBuiltinModule (Node >= 20.16) hands out the real one.
const realModule = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.('node:module') as typeof nodeModule | undefined;
export const ort: Ort = (realModule ?? nodeModule).createRequire(__filename)('onnxruntime-node') as Ort;

const RealmFloat32Array = new ort.Tensor('float32', [0], [1]).data.constructor as Float32ArrayConstructor;

/** A float32 tensor over `data` (no copy), valid for onnxruntime in any realm. */
export function float32Tensor(data: Float32Array, dims: readonly number[]): OrtTensor {
  return new ort.Tensor('float32', new RealmFloat32Array(data.buffer, data.byteOffset, data.length), dims);
}

/** A string tensor; '' stands for a missing categorical value under the graph contract. */
export function stringTensor(data: string[], dims: readonly number[]): OrtTensor {
  return new ort.Tensor('string', data, dims);
}

/** What pool.ts uses of onnxruntime-node's native session (node_modules/onnxruntime-node/dist/binding.d.ts). */
interface NativeSession {
  loadModel(buffer: ArrayBufferLike, byteOffset: number, byteLength: number, options: OrtSessionOptions): void;
  readonly inputMetadata: readonly { name: string }[];
  run(feeds: Record<string, OrtTensor>, fetches: Record<string, null>, options: OrtModule.InferenceSession.RunOptions): Record<string, OrtTensor>;
  dispose(): void;
}

interface NativeBinding {
  binding: { InferenceSession: new () => NativeSession };
  initOrt(): void;
}

/**
 * A session that runs synchronously: onnxruntime-node's native session, which the package's InferenceSession wraps
 * in two async functions and a setImmediate per run. A caller already in an event-loop callback of its own (pool.ts
 * runs cheap batches in one) saves that hop, about 15 µs a run, and times the run itself, not a loop turn.
 */
export interface SyncSession {
  /** throws onnxruntime's error for values it cannot run */
  run(feeds: Record<string, OrtTensor>, fetches: readonly string[]): Record<string, OrtTensor>;
  release(): void;
}

let nativeBinding: NativeBinding | undefined;

function loadNativeBinding(): NativeBinding {
  // Required as the package itself requires it (same realm, same module instance), so initOrt runs once per thread.
  nativeBinding ??= (realModule ?? nodeModule).createRequire(__filename)('onnxruntime-node/dist/binding') as NativeBinding;
  return nativeBinding;
}

/** Loads `bytes` into a native session; blocks the calling thread for the load, as InferenceSession.create does. */
export function createSyncSession(bytes: Uint8Array, options: OrtSessionOptions): SyncSession {
  const { binding, initOrt } = loadNativeBinding();
  initOrt();
  const native = new binding.InferenceSession();
  native.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, options);
  const inputNames = native.inputMetadata.map((m) => m.name);
  let released = false;
  return {
    run(feeds, fetches) {
      // The checks InferenceSession.run makes before the native call: onnxruntime itself would log a missing input.
      for (const name of inputNames) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing in 'feeds'.`);
      const wanted: Record<string, null> = {};
      for (const name of fetches) wanted[name] = null;
      return native.run(feeds, wanted, {});
    },
    release() {
      if (released) return;
      released = true;
      native.dispose();
    },
  };
}
