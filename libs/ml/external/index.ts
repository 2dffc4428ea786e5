/** External (process) trainers: the worker-side registry and the runner that checks their ONNX output. */
export * from './registry';
export * from './runner';
