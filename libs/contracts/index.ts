/**
 * The contract between the API, the worker and the workflows: task queues, workflow-ID builders, search
 * attributes, failure types, and the input/output/query types of each workflow. Pure TypeScript with no runtime
 * dependencies, so the workflow bundle can import it without breaking determinism.
 */
export * from './training';
export * from './failures';
export * from './ids';
export * from './identity';
export * from './rollout';
export * from './duration';
export * from './monitoring';
export * from './lifecycle';
