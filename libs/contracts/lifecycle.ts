/**
 * modelLifecycleWorkflow's contract: one long-lived workflow per model (`model/<name>`) that runs the loop
 * TRAINING → AWAITING_APPROVAL → ROLLING_OUT → SERVING → TRAINING again on a trigger, with the training pipeline
 * and the rollout as child workflows and monitoring running while the model serves. It continues as new at each
 * cycle, carrying `LifecycleCarry`, so its history stays small however long the model lives.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { Actor } from './rollout';
import type { MonitoringSummary } from './monitoring';

export type LifecycleStage = 'training' | 'awaiting_approval' | 'rolling_out' | 'serving' | 'idle';

/** What can start a retraining. Automatic kinds respect the cooldown; manual and new data do not. */
export type TriggerKind = 'manual' | 'new_data' | 'schedule' | 'drift' | 'prediction_drift' | 'label_drift' | 'quality_drop';
export const AUTOMATIC_TRIGGERS: readonly TriggerKind[] = ['schedule', 'drift', 'prediction_drift', 'label_drift', 'quality_drop'];

export interface RetrainTrigger {
  kind: TriggerKind;
  reason: string;
  /** who asked (an API identity, or `monitor`, `schedule`) */
  by: string;
  /** ISO time it arrived */
  at: string;
  /** for new data: the source to train on (s3://, http(s)://, dataset:<id>) */
  source?: string;
  /** the monitoring report behind an automatic trigger, and where its window starts (ISO) */
  reportId?: string;
  windowStart?: string;
}

export interface CycleRecord {
  cycle: number;
  trigger: RetrainTrigger | null;
  runId?: string;
  version?: number;
  outcome: 'promoted' | 'rolled_back' | 'rejected' | 'not_registered' | 'failed';
  reason?: string;
  startedAt: string;
  finishedAt: string;
}

/** State carried across continue-as-new. */
export interface LifecycleCarry {
  cycle: number;
  paused: boolean;
  /** the source of the most recent training: what a retraining without new data trains on */
  lastSource?: string;
  /** when the last retraining started (ISO): the cooldown runs from here */
  lastRetrainAt?: string;
  /** triggers waiting for the current cycle to finish; they coalesce into one retraining */
  pending: RetrainTrigger[];
  /** automatic triggers dropped during the cooldown (the newest few) */
  suppressed: RetrainTrigger[];
  lastMonitoring?: MonitoringSummary;
  /** the most recent cycles, newest last */
  history: CycleRecord[];
  /** the cron of the retraining schedule last set up (null: none), so a run only touches it when the spec changed */
  scheduleCron?: string | null;
}

export interface LifecycleInput {
  modelId: string;
  modelName: string;
  startedBy: string;
  /** the data of the first training; without it, the model's latest run's source, or spec.data.source */
  source?: string;
  /** overrides of the spec's monitoring.window and cooldown (tests use seconds) */
  monitoringWindow?: string;
  cooldown?: string;
  carry?: LifecycleCarry;
}

/** The whole current state, behind GET /v1/models/{name} and the Temporal UI's query tab. */
export interface LifecycleState {
  modelName: string;
  stage: LifecycleStage;
  paused: boolean;
  cycle: number;
  championVersion: number | null;
  candidateVersion: number | null;
  trainingWorkflowId: string | null;
  rolloutWorkflowId: string | null;
  monitoringWorkflowId: string | null;
  lastMonitoring: MonitoringSummary | null;
  pendingTriggers: RetrainTrigger[];
  suppressedTriggers: RetrainTrigger[];
  cooldownUntil: string | null;
  history: CycleRecord[];
}

export interface RetrainSignal {
  actor: Actor;
  reason: string;
}

export interface NewDataSignal {
  actor: Actor;
  source: string;
  reason?: string;
}

export interface PauseSignal {
  actor: Actor;
  reason?: string;
}

/** From the monitoring child: a window's findings (with `retrain` set when they call for one). */
export interface MonitoringReportSignal {
  summary: MonitoringSummary;
}

/** From a rollout child: its stage changed (so the lifecycle can tell awaiting approval from rolling out). */
export interface RolloutStageSignal {
  version: number;
  stage: string;
}

export const retrainSignal = defineSignal<[RetrainSignal]>('retrain');
export const newDataSignal = defineSignal<[NewDataSignal]>('newData');
export const pauseLifecycleSignal = defineSignal<[PauseSignal]>('pauseLifecycle');
export const resumeLifecycleSignal = defineSignal<[PauseSignal]>('resumeLifecycle');
export const monitoringReportSignal = defineSignal<[MonitoringReportSignal]>('monitoringReport');
export const rolloutStageSignal = defineSignal<[RolloutStageSignal]>('rolloutStage');
export const lifecycleStateQuery = defineQuery<LifecycleState>('lifecycleState');
/** From the model's Temporal Schedule (monitoring.schedule), through scheduledRetrainWorkflow. */
export const scheduledRetrainSignal = defineSignal<[{ cron: string }]>('scheduledRetrain');

export function lifecycleWorkflowId(modelName: string): string {
  return `model/${modelName}`;
}

/** The Temporal Schedule of a model's periodic retraining (spec monitoring.schedule), visible in the UI's Schedules. */
export function retrainScheduleId(modelName: string): string {
  return `retrain-schedule/${modelName}`;
}
