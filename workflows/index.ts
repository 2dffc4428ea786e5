/** Workflow bundle entry: every workflow the worker registers. */
export { trainingPipelineWorkflow } from './training/training-pipeline.workflow';
export { rolloutWorkflow } from './rollout/rollout.workflow';
export { modelLifecycleWorkflow } from './lifecycle/model-lifecycle.workflow';
export { monitoringWorkflow } from './monitoring/monitoring.workflow';
export { scheduledRetrainWorkflow } from './lifecycle/scheduled-retrain.workflow';
