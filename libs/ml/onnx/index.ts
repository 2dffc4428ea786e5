/** ONNX model writing, reading and running for mlcycle's graph contract (see README.md). */
export * from './contract';
export * from './model';
export * from './runner';
export { emitRegressionHead, emitSoftmaxClassifierHead } from './heads';
export { float32Tensor, ort, stringTensor } from './ort';
export type { Ort, OrtSession, OrtTensor } from './ort';
