/**
 * rolloutWorkflow's contract: one workflow per candidate version (`rollout/<model>/v<version>`) that opens the
 * approval request, waits durably for reviewers, then walks the rollout stages with guardrails, promoting the
 * candidate or compensating back to the champion.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';

/** Who is acting, as the API authenticated them; the workflow re-checks roles itself (Temporal does not). */
export interface Actor {
  id: string;
  roles: string[];
}

export type ApprovalPolicy = 'always' | 'never' | 'unless_better';
export type RolloutStrategy = 'shadow' | 'canary' | 'blue_green';

export interface RolloutPolicy {
  approval: { policy: ApprovalPolicy; margin: number; requiredApprovals: number; timeout: string; onTimeout: 'reject' | 'escalate' };
  rollout: {
    strategy: RolloutStrategy[];
    shadow: { share: number; bakeTime: string; minRequests: number };
    canary: { steps: number[]; bakeTime: string; minRequests: number };
    blueGreen: { keepWarm: string };
    guardrails: {
      maxErrorRate: number;
      maxP99LatencyRatio: number;
      maxPredictionDivergence: number;
      minAgreement: number;
      minOnlineQuality?: number;
    };
    stickyKeyHeader?: string;
  };
}

export interface RolloutInput {
  modelId: string;
  modelName: string;
  /** the candidate */
  version: number;
  runId?: string;
  /** who started the run that produced the candidate; never allowed to approve it */
  requestedBy: string;
  primaryMetric: string;
  candidateScore: number;
  /** the champion when the rollout starts, with its score on the same test rows */
  championVersion?: number;
  championScore?: number;
  policy: RolloutPolicy;
  /** the approval request's id, chosen by the starter so retries are idempotent */
  approvalId: string;
  /** how often guardrails are read during a bake (default '2s') */
  checkInterval?: string;
  /** how long to wait for serving replicas to converge on a routing change (default '2m') */
  convergenceTimeout?: string;
  /** a workflow told of every stage change (the model's lifecycle, which shows awaiting approval vs rolling out) */
  notifyWorkflowId?: string;
}

export type RolloutStage =
  | 'pending'
  | 'awaiting_approval'
  | 'shadow'
  | 'canary'
  | 'blue_green'
  | 'promoted'
  | 'rolling_back'
  | 'rolled_back'
  | 'rejected';

export interface GuardrailReading {
  at: string;
  stage: RolloutStage;
  candidate: { requests: number; errors: number; errorRate: number; p99Ms: number | null };
  champion?: { requests: number; errors: number; errorRate: number; p99Ms: number | null };
  /** Jensen-Shannon distance of prediction distributions (candidate vs champion), when both have traffic */
  divergence?: number;
  /** shadow: share of mirrored requests whose answer matched the champion's */
  agreement?: number;
  breaches: string[];
}

export interface RolloutState {
  modelName: string;
  version: number;
  championVersion?: number;
  stage: RolloutStage;
  paused: boolean;
  approval: {
    id: string;
    required: boolean;
    status: 'not_required' | 'pending' | 'approved' | 'rejected' | 'expired' | 'escalated';
    requiredApprovals: number;
    decisions: { reviewer: string; decision: 'approve' | 'reject'; comment: string; at: string }[];
    reason: string;
  };
  /** canary: index of the current step and its weight */
  step?: { index: number; weight: number };
  deploymentRevision?: number;
  lastReading?: GuardrailReading;
  outcome?: 'promoted' | 'rolled_back' | 'rejected';
  reason?: string;
}

export interface ApprovalDecisionInput {
  approvalId: string;
  reviewer: Actor;
  decision: 'approve' | 'reject';
  comment: string;
}

export const ROLLOUT_FAILURES = {
  forbidden: 'Forbidden',
  approvalClosed: 'ApprovalClosed',
  unknownApproval: 'UnknownApproval',
} as const;

export const approvalDecisionUpdate = defineUpdate<RolloutState, [ApprovalDecisionInput]>('approvalDecision');
export const pauseRolloutSignal = defineSignal<[{ by: Actor; reason?: string }]>('pauseRollout');
export const resumeRolloutSignal = defineSignal<[{ by: Actor }]>('resumeRollout');
/** abort before promotion, or roll back during blue/green keep-warm: both compensate to the champion */
export const rollbackRolloutSignal = defineSignal<[{ by: Actor; reason: string }]>('rollbackRollout');
export const rolloutStateQuery = defineQuery<RolloutState>('rolloutState');

export function rolloutWorkflowId(modelName: string, version: number): string {
  return `rollout/${modelName}/v${version}`;
}

/** admin implies every role */
export function actorHasRole(actor: Actor, ...roles: string[]): boolean {
  return actor.roles.includes('admin') || roles.some((r) => actor.roles.includes(r));
}
