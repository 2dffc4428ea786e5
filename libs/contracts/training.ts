/** Inputs, outputs and messages of trainingPipelineWorkflow. */
import type { ModelSpec } from '../ml/spec';
import type { RolloutInput } from './rollout';

export const PIPELINE_STEPS = ['ingest', 'validate', 'profile', 'split', 'train', 'evaluate', 'register'] as const;
export type PipelineStep = (typeof PIPELINE_STEPS)[number];

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';
export type RunStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'rejected';

export interface StepState {
  step: PipelineStep;
  status: StepStatus;
  startedAt?: string;
  finishedAt?: string;
  attempt?: number;
  message?: string;
}

export interface TrainingPipelineInput {
  runId: string;
  modelId: string;
  modelName: string;
  spec: ModelSpec;
  specHash: string;
  /** s3://, http(s)://, or dataset:<id> for data already ingested (an upload) */
  source: string;
  requestedBy: string;
  /** task queue for training and evaluation; defaults to the workflow's own */
  trainingTaskQueue?: string;
  /** how soon a silent long activity counts as lost (default '2m'); tests pass seconds */
  heartbeatTimeout?: string;
  /**
   * Who starts the rollout of a registered version: the pipeline itself (default), or its caller, which gets the
   * rollout's input in the result (the model lifecycle, which must learn the rollout's outcome).
   */
  rolloutBy?: 'pipeline' | 'caller';
}

export interface EvaluationSummary {
  passed: boolean;
  reasons: string[];
  primaryMetric: string;
  candidate: number;
  baseline: number;
  champion?: number;
  championVersion?: number;
  reportKey: string;
}

export interface TrainingPipelineResult {
  runId: string;
  status: RunStatus;
  datasetId: string;
  /** set when the candidate was registered */
  version?: number;
  versionId?: string;
  evaluation: EvaluationSummary;
  /** the rollout started for the registered version (approval, staged deploy) */
  rolloutWorkflowId?: string;
  /** with rolloutBy 'caller': the rollout to start for the registered version */
  rollout?: RolloutInput;
}

/** What the run-state query returns: the live view behind GET /v1/runs/{id}. */
export interface TrainingRunState {
  runId: string;
  modelName: string;
  status: RunStatus;
  currentStep?: PipelineStep;
  steps: StepState[];
  datasetId?: string;
  candidates?: CandidateSummary[];
  evaluation?: EvaluationSummary;
  version?: number;
  rolloutWorkflowId?: string;
  error?: string;
}

export interface CandidateSummary {
  trainer: string;
  params: Record<string, number | string | boolean>;
  validationScore: number;
  modelKey: string;
  sha256: string;
}

export const TRAINING_RUN_STATE_QUERY = 'trainingRunState';

// Defined once here so the workflow and every client share one name and one type.
import { defineQuery } from '@temporalio/workflow';
export const trainingRunStateQuery = defineQuery<TrainingRunState>(TRAINING_RUN_STATE_QUERY);
