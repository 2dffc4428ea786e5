/** Built-in trainers, their registry and the worker-thread runner. */
export * from './types';
export { BUILTIN_TRAINERS, getTrainer, isBuiltinTrainer } from './registry';
export { gbdtTrainer } from './gbdt/gbdt';
export { logisticRegressionTrainer, ridgeTrainer } from './linear';
export { resolveParams, sortClasses } from './common';
export { trainInWorkerThread } from './worker-thread';
export type { WorkerTrainInput, WorkerTrainResult } from './worker-thread';
