/**
 * The model lifecycle's side effects: reading what the registry knows about the model at the start of each cycle,
 * opening the training run a retraining starts (the same registry row the API writes for a run started by hand),
 * and recording the lifecycle's decisions in the audit log. Each is idempotent under retries.
 */
import { Client, Connection, ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { PIPELINE_STEPS, retrainScheduleId, trainingWorkflowId } from '../../libs/contracts';
import type { RetrainTrigger } from '../../libs/contracts';
import { monitoringPolicy } from '../../libs/ml/spec';
import type { ModelSpec, MonitoringPolicy } from '../../libs/ml/spec';
import type { RegistryService } from '../../libs/registry';

export interface LifecycleActivityDeps {
  registry: RegistryService;
  /** where retraining schedules are kept: the Temporal the worker runs on, and its control task queue */
  temporal?: { address: string; namespace: string; taskQueue: string };
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
  private client?: Promise<Client>;

  constructor(private readonly deps: LifecycleActivityDeps) {}

  /**
   * Creates, updates or deletes the model's retraining schedule (a Temporal Schedule, so operators see and pause it in
   * the UI's Schedules page). Each tick starts scheduledRetrainWorkflow, which signals the lifecycle.
   */
  async syncRetrainSchedule(input: { modelName: string; cron: string | null }): Promise<void> {
    const temporal = this.deps.temporal;
    if (!temporal) throw ApplicationFailure.nonRetryable('this worker was built without a Temporal address for schedules', 'SchedulesUnavailable');
    this.client ??= Connection.connect({ address: temporal.address }).then((connection) => new Client({ connection, namespace: temporal.namespace }));
    const client = await this.client;
    const handle = client.schedule.getHandle(retrainScheduleId(input.modelName));
    if (input.cron === null) {
      await handle.delete().catch((err: unknown) => {
        if (!(err instanceof ScheduleNotFoundError)) throw err;
      });
      return;
    }
    const spec = { cronExpressions: [input.cron] };
    const action = {
      type: 'startWorkflow' as const,
      workflowType: 'scheduledRetrainWorkflow',
      workflowId: `retrain-tick/${input.modelName}`,
      taskQueue: temporal.taskQueue,
      args: [{ modelName: input.modelName, cron: input.cron }],
    };
    try {
      await client.schedule.create({ scheduleId: retrainScheduleId(input.modelName), spec, action, policies: { overlap: ScheduleOverlapPolicy.SKIP } });
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await handle.update((previous) => ({ ...previous, spec, action }));
    }
  }

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
    syncRetrainSchedule: a.syncRetrainSchedule.bind(a),
  };
}
