/** What the API returns for approval requests, and the OpenAPI classes describing it. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AppConfig } from '../../libs/config';
import type { EvaluationSummary, RolloutState } from '../../libs/contracts';
import type { ApprovalDecision, ApprovalRequest, ModelVersion } from '../../libs/registry';
import { RolloutStatusView } from '../deployments/deployments.views';
import { temporalUiLink } from '../runs/runs.views';

export const APPROVAL_STATUSES = ['pending', 'escalated', 'approved', 'rejected', 'expired'] as const;
export type ApprovalViewStatus = (typeof APPROVAL_STATUSES)[number];

export class ApprovalDecisionView implements ApprovalDecision {
  @ApiProperty({ example: 'rita@example.com' })
  reviewer!: string;

  @ApiProperty({ enum: ['approve', 'reject'] })
  decision!: 'approve' | 'reject';

  @ApiProperty()
  comment!: string;

  @ApiProperty({ description: 'when the workflow accepted the decision (ISO 8601)' })
  at!: string;
}

export class VersionScoreView {
  @ApiProperty()
  version!: number;

  @ApiProperty({ example: 'registered', description: 'registered, champion, retired, rolled_back or rejected' })
  status!: string;

  @ApiProperty({ nullable: true, type: Number, description: 'its value of the primary metric on its own test split' })
  score!: number | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  metrics!: Record<string, unknown>;

  @ApiProperty({ example: '/v1/models/penguins/versions/3' })
  href!: string;

  @ApiProperty({ nullable: true, type: String, example: '/v1/models/penguins/versions/3/artifacts/evaluation_report' })
  evaluationReport!: string | null;
}

export class ComparisonView {
  @ApiProperty({ example: 'balanced_accuracy' })
  primaryMetric!: string;

  @ApiProperty()
  candidate!: number;

  @ApiPropertyOptional({ description: "the champion's score on the candidate's test rows, when the run measured it" })
  champion?: number;

  @ApiPropertyOptional()
  championVersion?: number;

  @ApiProperty({ description: 'the trivial baseline (majority class, or the mean)' })
  baseline!: number;

  @ApiProperty()
  passed!: boolean;

  @ApiProperty({ type: [String] })
  reasons!: string[];
}

export class ApprovalLinks {
  @ApiProperty({ example: '/v1/approvals/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b' })
  self!: string;

  @ApiProperty({ example: '/v1/approvals/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b/decision' })
  decision!: string;

  @ApiProperty({ example: '/v1/models/penguins/versions/3' })
  candidate!: string;

  @ApiProperty({ example: '/v1/models/penguins/versions/3/artifacts/evaluation_report' })
  evaluationReport!: string;

  @ApiProperty({ example: '/v1/models/penguins/deployment' })
  deployment!: string;

  @ApiProperty({ description: "the rollout workflow in the Temporal UI" })
  temporalUi!: string;
}

export class ApprovalSummary {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty({ description: 'the candidate version' })
  version!: number;

  @ApiProperty({ enum: APPROVAL_STATUSES, description: 'escalated: the timeout passed once and operators were alerted; still open' })
  status!: ApprovalViewStatus;

  @ApiProperty({ description: 'why approval is needed (the policy, and the comparison with the champion)' })
  reason!: string;

  @ApiProperty()
  requiredApprovals!: number;

  @ApiProperty({ description: 'approvals so far' })
  approvals!: number;

  @ApiProperty({ type: [ApprovalDecisionView] })
  decisions!: ApprovalDecisionView[];

  @ApiProperty({ description: 'who started the training run of the candidate: never allowed to approve it (four-eyes)' })
  requestedBy!: string;

  @ApiProperty({ nullable: true, type: Date, description: 'when the request expires (or escalates, per the policy) if nobody decides' })
  expiresAt!: Date | null;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty({ nullable: true, type: Date })
  closedAt!: Date | null;

  @ApiProperty({ example: 'rollout/penguins/v3' })
  workflowId!: string;

  @ApiProperty({ type: VersionScoreView, nullable: true, description: 'the candidate, with its metrics (null if the version was deleted)' })
  candidate!: VersionScoreView | null;

  @ApiProperty({ type: VersionScoreView, nullable: true, description: 'the champion it is compared with, with its metrics; null for a first version' })
  champion!: VersionScoreView | null;

  @ApiProperty({ type: ComparisonView, nullable: true, description: "the training run's evaluation: candidate, champion and baseline on the same held-out rows" })
  evaluation!: ComparisonView | null;

  @ApiProperty({ type: ApprovalLinks })
  links!: ApprovalLinks;
}

export class ApprovalView extends ApprovalSummary {
  @ApiProperty({ description: 'true when status and decisions come from the running rollout (query); false when from the registry' })
  live!: boolean;

  @ApiProperty({ type: RolloutStatusView, nullable: true, description: 'the rollout deciding this request: live while it runs, its final state once closed' })
  rollout!: RolloutStatusView | null;
}

export interface ApprovalContext {
  modelName: string;
  candidate: ModelVersion | null;
  champion: ModelVersion | null;
  evaluation: EvaluationSummary | null;
}

function versionScore(modelName: string, v: ModelVersion, metric: string | undefined): VersionScoreView {
  const score = metric !== undefined ? v.metrics[metric] : undefined;
  const href = `/v1/models/${modelName}/versions/${v.version}`;
  return {
    version: v.version,
    status: v.status,
    score: typeof score === 'number' && Number.isFinite(score) ? score : null,
    metrics: v.metrics,
    href,
    evaluationReport: v.artifacts.some((a) => a.kind === 'evaluation_report') ? `${href}/artifacts/evaluation_report` : null,
  };
}

export function toApprovalSummary(config: AppConfig, row: ApprovalRequest, ctx: ApprovalContext, primaryMetric?: string): ApprovalSummary {
  const metric = ctx.evaluation?.primaryMetric ?? primaryMetric;
  const base = `/v1/models/${ctx.modelName}`;
  return {
    id: row.id,
    model: ctx.modelName,
    version: row.version,
    status: row.status,
    reason: row.reason,
    requiredApprovals: row.requiredApprovals,
    approvals: row.decisions.filter((d) => d.decision === 'approve').length,
    decisions: row.decisions,
    requestedBy: row.requestedBy,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
    closedAt: row.closedAt,
    workflowId: row.workflowId,
    candidate: ctx.candidate ? versionScore(ctx.modelName, ctx.candidate, metric) : null,
    champion: ctx.champion ? versionScore(ctx.modelName, ctx.champion, metric) : null,
    evaluation: ctx.evaluation
      ? {
          primaryMetric: ctx.evaluation.primaryMetric,
          candidate: ctx.evaluation.candidate,
          champion: ctx.evaluation.champion,
          championVersion: ctx.evaluation.championVersion,
          baseline: ctx.evaluation.baseline,
          passed: ctx.evaluation.passed,
          reasons: ctx.evaluation.reasons,
        }
      : null,
    links: {
      self: `/v1/approvals/${row.id}`,
      decision: `/v1/approvals/${row.id}/decision`,
      candidate: `${base}/versions/${row.version}`,
      evaluationReport: `${base}/versions/${row.version}/artifacts/evaluation_report`,
      deployment: `${base}/deployment`,
      temporalUi: temporalUiLink(config, row.workflowId),
    },
  };
}

/** The summary, with status and decisions from the rollout's live state when it runs (the row may trail it by a moment). */
export function toApprovalView(summary: ApprovalSummary, rollout: RolloutStatusView | null): ApprovalView {
  const state: RolloutState | null = rollout?.state ?? null;
  if (!rollout?.live || !state || state.approval.id !== summary.id) return { ...summary, live: false, rollout };
  const status: ApprovalViewStatus = state.approval.status === 'not_required' ? summary.status : state.approval.status;
  return {
    ...summary,
    status,
    decisions: state.approval.decisions,
    approvals: state.approval.decisions.filter((d) => d.decision === 'approve').length,
    live: true,
    rollout,
  };
}
