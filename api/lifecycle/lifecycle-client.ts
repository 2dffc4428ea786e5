/**
 * The API's side of modelLifecycleWorkflow (`model/<name>`): start it, read its state, send it signals. Addressed
 * by name and by the contract's messages only; every call carries a deadline so a Temporal outage answers 503 in
 * seconds. Provided by ModelsModule, because GET /v1/models/{name} shows the lifecycle too.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { SignalDefinition } from '@temporalio/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { APP_CONFIG, taskQueue } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { lifecycleStateQuery, lifecycleWorkflowId, SEARCH_ATTRIBUTE_KEYS, TASK_QUEUES } from '../../libs/contracts';
import type { LifecycleInput, LifecycleState } from '../../libs/contracts';
import type { Model } from '../../libs/registry';
import { temporalUiLink } from '../runs/runs.views';
import { TEMPORAL_CLIENT } from '../temporal/temporal.module';

export const LIFECYCLE_WORKFLOW_TYPE = 'modelLifecycleWorkflow';
const CALL_TIMEOUT_MS = 5000;
/** A query needs a worker; without one the view says so instead of waiting. */
const QUERY_TIMEOUT_MS = 2000;

export class LifecycleLinks {
  @ApiProperty({ example: 'http://localhost:8233/namespaces/default/workflows/model%2Fseattle-weather' })
  temporalUi!: string;
}

export class LifecycleView {
  @ApiProperty({ example: 'model/seattle-weather' })
  workflowId!: string;

  @ApiProperty({ example: 'RUNNING', description: "Temporal's status of the latest run: RUNNING while the model lives" })
  status!: string;

  @ApiProperty({ description: 'true when the state below is live (a worker answered the query)' })
  live!: boolean;

  @ApiPropertyOptional({
    nullable: true,
    description:
      'stage (training, awaiting_approval, rolling_out, serving), paused, cycle, champion and candidate versions, the child ' +
      'workflows, the last monitoring result, pending and suppressed triggers, the cooldown, and the recent cycles',
  })
  state!: LifecycleState | null;

  @ApiProperty({ type: LifecycleLinks })
  links!: LifecycleLinks;
}

@Injectable()
export class LifecycleClient {
  private readonly logger = new Logger('lifecycle');

  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    return this.temporal.connection.withDeadline(Date.now() + ms, fn);
  }

  /** The lifecycle's latest run and its live state; null when the model never had one. */
  async view(modelName: string): Promise<LifecycleView | null> {
    const workflowId = lifecycleWorkflowId(modelName);
    let status: string;
    try {
      status = (await this.withDeadline(CALL_TIMEOUT_MS, () => this.temporal.workflow.getHandle(workflowId).describe())).status.name;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
    let state: LifecycleState | null = null;
    if (status === 'RUNNING') {
      try {
        state = await this.withDeadline(QUERY_TIMEOUT_MS, () => this.temporal.workflow.getHandle(workflowId).query(lifecycleStateQuery));
      } catch (err) {
        this.logger.debug(`state of ${workflowId} unavailable: ${(err as Error).message}`);
      }
    }
    return { workflowId, status, live: state !== null, state, links: { temporalUi: temporalUiLink(this.config, workflowId) } };
  }

  /** As view(), but a Temporal outage gives status UNKNOWN instead of failing: a model's page must not depend on it. */
  async viewOrUnknown(modelName: string): Promise<LifecycleView | null> {
    try {
      return await this.view(modelName);
    } catch (err) {
      this.logger.warn(`lifecycle of ${modelName} unavailable: ${(err as Error).message}`);
      const workflowId = lifecycleWorkflowId(modelName);
      return { workflowId, status: 'UNKNOWN', live: false, state: null, links: { temporalUi: temporalUiLink(this.config, workflowId) } };
    }
  }

  /** Starts the lifecycle unless it runs already; `created` says which. A closed one (terminated, failed) starts anew. */
  async start(model: Model, startedBy: string, source?: string): Promise<{ created: boolean }> {
    const input: LifecycleInput = { modelId: model.id, modelName: model.name, startedBy, ...(source ? { source } : {}) };
    try {
      await this.withDeadline(CALL_TIMEOUT_MS, () =>
        this.temporal.workflow.start(LIFECYCLE_WORKFLOW_TYPE, {
          taskQueue: taskQueue(this.config, TASK_QUEUES.control),
          workflowId: lifecycleWorkflowId(model.name),
          args: [input],
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTE_KEYS.model, value: model.name },
            { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'idle' },
            { key: SEARCH_ATTRIBUTE_KEYS.step, value: 'lifecycle' },
          ],
          workflowIdReusePolicy: 'ALLOW_DUPLICATE',
        }),
      );
      return { created: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return { created: false };
      throw err;
    }
  }

  /** Signals the running lifecycle; false when the model has none running. */
  async signal<Args extends unknown[]>(modelName: string, definition: SignalDefinition<Args>, ...args: Args): Promise<boolean> {
    try {
      await this.withDeadline(CALL_TIMEOUT_MS, () => this.temporal.workflow.getHandle(lifecycleWorkflowId(modelName)).signal(definition, ...args));
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }
}
