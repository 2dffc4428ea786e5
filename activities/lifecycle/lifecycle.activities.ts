/**
 * The model lifecycle's side effects: reading what the registry knows about the model at the start of each cycle,
 * opening the training run a retraining starts (the same registry row the API writes for a run started by hand),
 * and recording the lifecycle's decisions in the audit log. Each is idempotent under retries.
 */
import { ApplicationFailure } from '@temporalio/common';
import { PIPELINE_STEPS, trainingWorkflowId } from '../../libs/contracts';
import type { RetrainTrigger } from '../../libs/contracts';
import { monitoringPolicy } from '../../libs/ml/spec';
import type { ModelSpec, MonitoringPolicy } from '../../libs/ml/spec';
import type { RegistryService } from '../../libs/registry';

export interface LifecycleActivityDeps {
  registry: RegistryService;
}

export interface LifecycleContext {
  modelName: string;
  spec: ModelSpec;
  specHash: string;
  championVersion: number | null;
  /** what a retraining without new data trains on: the newest run's source, else the spec's data.source */
  latestSource: string | null;
  monitoring: MonitoringPolicy;
}

export interface OpenLifecycleRunInput {
  runId: string;
  modelId: string;
  modelName: string;
  specHash: string;
  source: string;
  requestedBy: string;
  /** the triggers this retraining answers (they coalesced into it) */
  triggers: RetrainTrigger[];
}

export interface LifecycleEventInput {
  modelName: string;
  action: string;
  actor: string;
  details: Record<string, unknown>;
  /** stable per event, so a retried activity writes it once */
  dedupeKey: string;
}

export const LIFECYCLE_ACTOR = 'system:lifecycle';

export class LifecycleActivities {
  constructor(private readonly deps: LifecycleActivityDeps) {}

  async lifecycleContext(input: { modelId: string }): Promise<LifecycleContext> {
    const model = await this.deps.registry.findModelById(input.modelId);
    if (!model) throw ApplicationFailure.nonRetryable(`model ${input.modelId} does not exist`, 'ModelNotFound');
    const [champion, [latestRun]] = await Promise.all([this.deps.registry.findChampion(model.id), this.deps.registry.listRuns(model.id, 1)]);
    return {
      modelName: model.name,
      spec: model.spec,
      specHash: model.specHash,
      championVersion: champion?.version ?? null,
      latestSource: latestRun?.source ?? model.spec.data?.source ?? null,
      monitoring: monitoringPolicy(model.spec),
    };
  }

  /** The registry row of a retraining's run, written before its workflow starts (as the API does). */
  async openLifecycleRun(input: OpenLifecycleRunInput): Promise<void> {
    await this.deps.registry.createRun({
      id: input.runId,
      modelId: input.modelId,
      source: input.source,
      specHash: input.specHash,
      workflowId: trainingWorkflowId(input.modelName, input.runId),
      // A retried activity finds the row it wrote instead of failing on the primary key.
      idempotencyKey: `lifecycle:${input.runId}`,
      requestedBy: input.requestedBy,
      steps: PIPELINE_STEPS.map((step) => ({ step, status: 'pending' })),
    });
    await this.recordLifecycleEvent({
      modelName: input.modelName,
      action: 'lifecycle.retrain',
      actor: input.requestedBy,
      details: { runId: input.runId, source: input.source, triggers: input.triggers },
      dedupeKey: `lifecycle.retrain:${input.runId}`,
    });
  }

  async recordLifecycleEvent(input: LifecycleEventInput): Promise<void> {
    await this.deps.registry.appendAudit({
      actor: input.actor,
      action: input.action,
      entityType: 'model',
      entityId: input.modelName,
      details: input.details,
      dedupeKey: input.dedupeKey,
    });
  }
}

export function createLifecycleActivities(deps: LifecycleActivityDeps) {
  const a = new LifecycleActivities(deps);
  return {
    lifecycleContext: a.lifecycleContext.bind(a),
    openLifecycleRun: a.openLifecycleRun.bind(a),
    recordLifecycleEvent: a.recordLifecycleEvent.bind(a),
  };
}
