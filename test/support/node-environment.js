/**
 * Jest's node environment, with the typed-array constructors of the real Node realm instead of the test sandbox's.
 * Native addons (onnxruntime-node) create their result arrays in the real realm, and onnxruntime-common, loaded
 * inside the sandbox, checks them with `instanceof Float32Array` — which fails across realms ("A float32 tensor's
 * data must be type of function Float32Array()"). Jest already does the same for ArrayBuffer and Uint8Array.
 * Plain CommonJS: jest loads test environments without transforming them.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'Int8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float16Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
  'DataView',
];

class MlcycleNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) {
      if (typeof globalThis[name] === 'function') this.global[name] = globalThis[name];
    }
  }
}

module.exports = MlcycleNodeEnvironment;
