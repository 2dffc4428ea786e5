/** What the API returns for training runs, and the OpenAPI classes describing it. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { AppConfig } from '../../libs/config';
import { PIPELINE_STEPS } from '../../libs/contracts';
import type { CandidateSummary, EvaluationSummary, PipelineStep, RunStatus, StepState, TrainingRunState } from '../../libs/contracts';
import type { TrainingRun } from '../../libs/registry';

const RUN_STATUSES: RunStatus[] = ['queued', 'running', 'succeeded', 'failed', 'rejected'];

export class RunLinks {
  @ApiProperty({ example: '/v1/runs/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b' })
  self!: string;

  @ApiProperty({ example: 'http://127.0.0.1:8233/namespaces/default/workflows/train%2Fpenguins%2F3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b' })
  temporalUi!: string;
}

export class StepStateView implements StepState {
  @ApiProperty({ enum: PIPELINE_STEPS })
  step!: PipelineStep;

  @ApiProperty({ enum: ['pending', 'running', 'succeeded', 'failed', 'skipped'] })
  status!: StepState['status'];

  @ApiPropertyOptional()
  startedAt?: string;

  @ApiPropertyOptional()
  finishedAt?: string;

  @ApiPropertyOptional()
  attempt?: number;

  @ApiPropertyOptional()
  message?: string;
}

export class RunStarted {
  @ApiProperty()
  runId!: string;

  @ApiProperty({ example: 'train/penguins/3f2b8c1e-7d4a-4b6f-9e0a-1c2d3e4f5a6b' })
  workflowId!: string;

  @ApiProperty({ nullable: true, type: String, description: 'the Temporal run ID of the workflow execution' })
  workflowRunId!: string | null;

  @ApiProperty({ enum: RUN_STATUSES })
  status!: RunStatus;

  @ApiProperty({ description: 'the resolved data source the run trains on' })
  source!: string;

  @ApiProperty({ type: RunLinks })
  links!: RunLinks;
}

export class RunSummary {
  @ApiProperty()
  id!: string;

  @ApiProperty({ enum: RUN_STATUSES })
  status!: RunStatus;

  @ApiProperty()
  source!: string;

  @ApiProperty({ nullable: true, type: Number })
  version!: number | null;

  @ApiProperty()
  requestedBy!: string;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty({ nullable: true, type: Date })
  finishedAt!: Date | null;

  @ApiProperty({ type: RunLinks })
  links!: RunLinks;
}

export class RunView extends RunSummary {
  @ApiProperty()
  modelId!: string;

  @ApiProperty()
  modelName!: string;

  @ApiProperty()
  specHash!: string;

  @ApiProperty()
  workflowId!: string;

  @ApiProperty({ nullable: true, type: String })
  workflowRunId!: string | null;

  @ApiProperty({ nullable: true, type: String })
  idempotencyKey!: string | null;

  @ApiPropertyOptional({ enum: PIPELINE_STEPS })
  currentStep?: PipelineStep;

  @ApiProperty({ type: [StepStateView] })
  steps!: StepState[];

  @ApiProperty({ nullable: true, type: String })
  datasetId!: string | null;

  @ApiPropertyOptional({ type: 'array', items: { type: 'object' } })
  candidates?: CandidateSummary[];

  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true })
  evaluation!: EvaluationSummary | null;

  @ApiProperty({ nullable: true, type: String })
  error!: string | null;

  @ApiProperty()
  updatedAt!: Date;

  @ApiProperty({
    description: 'true when steps and status come from the running workflow (query); false when from the registry (the workflow is closed or unreachable)',
  })
  live!: boolean;
}

export function temporalUiLink(config: AppConfig, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}

export function runLinks(config: AppConfig, run: Pick<TrainingRun, 'id' | 'workflowId'>): RunLinks {
  return { self: `/v1/runs/${run.id}`, temporalUi: temporalUiLink(config, run.workflowId) };
}

export function toRunSummary(config: AppConfig, run: TrainingRun): RunSummary {
  return {
    id: run.id,
    status: run.status,
    source: run.source,
    version: run.version,
    requestedBy: run.requestedBy,
    createdAt: run.createdAt,
    finishedAt: run.finishedAt,
    links: runLinks(config, run),
  };
}

/** The registry row, overlaid with the workflow's live state when there is one. */
export function toRunView(config: AppConfig, run: TrainingRun, modelName: string, live?: TrainingRunState): RunView {
  const view: RunView = {
    ...toRunSummary(config, run),
    modelId: run.modelId,
    modelName,
    specHash: run.specHash,
    workflowId: run.workflowId,
    workflowRunId: run.workflowRunId,
    idempotencyKey: run.idempotencyKey,
    steps: run.steps,
    currentStep: run.steps.find((s) => s.status === 'running')?.step,
    datasetId: run.datasetId,
    evaluation: run.evaluation,
    error: run.error,
    updatedAt: run.updatedAt,
    live: false,
  };
  if (!live) return view;
  return {
    ...view,
    status: live.status,
    steps: live.steps,
    currentStep: live.currentStep,
    datasetId: live.datasetId ?? view.datasetId,
    candidates: live.candidates,
    evaluation: live.evaluation ?? view.evaluation,
    version: live.version ?? view.version,
    error: live.error ?? view.error,
    live: true,
  };
}
