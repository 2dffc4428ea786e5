/** Workflow bundle entry: every workflow the worker registers. */
export { trainingPipelineWorkflow } from './training/training-pipeline.workflow';
export { rolloutWorkflow } from './rollout/rollout.workflow';
