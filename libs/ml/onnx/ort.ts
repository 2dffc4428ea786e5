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
