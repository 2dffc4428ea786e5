/** What the API returns for rollouts and deployments, and the OpenAPI classes describing it. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { RolloutState } from '../../libs/contracts';
import type { DeploymentStage, RouteWeight, ShadowTarget } from '../../libs/registry';

const WORKFLOW_STATUSES = ['RUNNING', 'COMPLETED', 'FAILED', 'CANCELLED', 'TERMINATED', 'CONTINUED_AS_NEW', 'TIMED_OUT'];

export class RolloutLinks {
  @ApiProperty({ example: 'http://127.0.0.1:8233/namespaces/default/workflows/rollout%2Fpenguins%2Fv3' })
  temporalUi!: string;
}

export class RolloutStatusView {
  @ApiProperty({ example: 'rollout/penguins/v3' })
  workflowId!: string;

  @ApiProperty({ description: 'the Temporal run ID of the execution' })
  workflowRunId!: string;

  @ApiProperty({ enum: WORKFLOW_STATUSES, description: "Temporal's execution status" })
  status!: string;

  @ApiProperty({ description: 'true when `state` comes from the running workflow (query); false for a closed rollout (its final state) or when it could not answer' })
  live!: boolean;

  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description:
      'the rollout state: stage (awaiting_approval, shadow, canary, blue_green, promoted, rolling_back, rolled_back, rejected), paused, ' +
      'approval (status, decisions), canary step, deployment revision, the last guardrail reading, outcome and reason',
  })
  state!: RolloutState | null;

  @ApiProperty({ type: RolloutLinks })
  links!: RolloutLinks;
}

export class RolloutStartedLinks extends RolloutLinks {
  @ApiProperty({ example: '/v1/models/penguins/deployment' })
  deployment!: string;

  @ApiPropertyOptional({ example: '/v1/approvals/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b', description: 'the approval request, once the policy opened one' })
  approval?: string;
}

export class RolloutStarted {
  @ApiProperty({ example: 'rollout/penguins/v3' })
  workflowId!: string;

  @ApiProperty()
  workflowRunId!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty()
  version!: number;

  @ApiProperty({ description: 'false when the rollout of this version had been started before (by this call, or by the training run)' })
  created!: boolean;

  @ApiProperty({ enum: WORKFLOW_STATUSES })
  status!: string;

  @ApiProperty({ nullable: true, type: String, description: "the approval request's id, when known (an existing rollout that needs no approval has none on record)" })
  approvalId!: string | null;

  @ApiProperty({ description: 'who started the training run of this version: never allowed to approve it (four-eyes)' })
  requestedBy!: string;

  @ApiProperty({ type: RolloutStartedLinks })
  links!: RolloutStartedLinks;
}

export class RouteView implements RouteWeight {
  @ApiProperty()
  version!: number;

  @ApiProperty({ description: 'share of live traffic, 0..100 (0 keeps a version loaded and warm)' })
  weight!: number;
}

export class ShadowView implements ShadowTarget {
  @ApiProperty()
  version!: number;

  @ApiProperty({ description: 'share of requests mirrored to the shadow version, 0..100' })
  share!: number;
}

export class ReplicaView {
  @ApiProperty()
  replicaId!: string;

  @ApiProperty({ description: 'the deployment revision the replica routes by' })
  revision!: number;

  @ApiProperty()
  ready!: boolean;

  @ApiProperty({ type: [Number] })
  loadedVersions!: number[];

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;

  @ApiProperty()
  reportedAt!: Date;

  @ApiProperty({
    enum: ['converged', 'lagging', 'stale'],
    description: 'converged: serves the current revision, ready; lagging: live but on an older revision or not ready; stale: stopped reporting (gone)',
  })
  state!: 'converged' | 'lagging' | 'stale';
}

export class TrafficView {
  @ApiProperty()
  version!: number;

  @ApiProperty({ enum: ['live', 'shadow'], description: 'routed traffic, or mirrored traffic whose answers were discarded' })
  kind!: 'live' | 'shadow';

  @ApiProperty()
  requests!: number;

  @ApiProperty()
  errors!: number;

  @ApiProperty()
  errorRate!: number;

  @ApiProperty({ nullable: true, type: Number, description: 'upper bound of the latency bucket' })
  p50Ms!: number | null;

  @ApiProperty({ nullable: true, type: Number })
  p99Ms!: number | null;

  @ApiProperty({ nullable: true, type: Number, description: 'shadow: share of mirrored answers that matched the live one' })
  agreementRate!: number | null;

  @ApiProperty({ description: 'how many replicas reported this traffic' })
  replicas!: number;
}

export class TrafficWindowView {
  @ApiProperty({ example: '5m' })
  window!: string;

  @ApiProperty()
  since!: Date;

  @ApiProperty({ type: [TrafficView] })
  versions!: TrafficView[];
}

export class DeploymentView {
  @ApiProperty()
  model!: string;

  @ApiProperty({ nullable: true, type: Number })
  championVersion!: number | null;

  @ApiProperty({
    enum: ['deployment', 'champion', 'none'],
    description: 'deployment: routing set by a rollout; champion: no rollout has routed yet, the champion serves all traffic; none: nothing to serve',
  })
  source!: 'deployment' | 'champion' | 'none';

  @ApiProperty({ description: 'bumped by every routing change; 0 while the champion serves without a deployment' })
  revision!: number;

  @ApiProperty({ enum: ['idle', 'shadow', 'canary', 'blue_green', 'promoted', 'rolling_back', 'rolled_back'] })
  stage!: DeploymentStage;

  @ApiProperty({ type: [RouteView] })
  routes!: RouteView[];

  @ApiProperty({ type: ShadowView, nullable: true })
  shadow!: ShadowView | null;

  @ApiProperty({ nullable: true, type: String })
  stickyKeyHeader!: string | null;

  @ApiProperty({ nullable: true, type: String, description: 'the rollout that made the current routing change' })
  rolloutWorkflowId!: string | null;

  @ApiProperty({ nullable: true, type: Date })
  updatedAt!: Date | null;

  @ApiProperty({ description: 'at least one live replica, and every live replica serves the current revision and is ready' })
  converged!: boolean;

  @ApiProperty({ type: [ReplicaView] })
  replicas!: ReplicaView[];

  @ApiProperty({ type: TrafficWindowView })
  traffic!: TrafficWindowView;

  @ApiProperty({ type: RolloutStatusView, nullable: true, description: 'the rollout in progress, with its live state; null when none runs' })
  rollout!: RolloutStatusView | null;
}

export class RolloutActionView {
  @ApiProperty({ enum: ['pause', 'resume', 'rollback'] })
  action!: 'pause' | 'resume' | 'rollback';

  @ApiProperty({ example: 'rollout/penguins/v3' })
  workflowId!: string;

  @ApiProperty({ description: 'the identity bound into the signal; the workflow re-checks its roles' })
  requestedBy!: string;

  @ApiProperty({ type: RolloutStatusView, nullable: true, description: 'the rollout right after the signal (the change may take a moment to show)' })
  rollout!: RolloutStatusView | null;
}
