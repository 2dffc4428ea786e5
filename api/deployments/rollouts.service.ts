/**
 * The API's side of rolloutWorkflow: start one (idempotently, by its derived ID), find out whether it still runs,
 * read its live state, and send it signals. The workflow is addressed by name and by its contract's messages only;
 * the API never imports workflow code. Every call carries a deadline, so a Temporal outage answers 503 in seconds.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { WorkflowHandle } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { SignalDefinition } from '@temporalio/common';
import { APP_CONFIG, taskQueue } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { rolloutStateQuery, SEARCH_ATTRIBUTE_KEYS, TASK_QUEUES } from '../../libs/contracts';
import type { RolloutInput, RolloutState } from '../../libs/contracts';
import { RequestContext } from '../common/request-context';
import { TEMPORAL_CLIENT } from '../temporal/temporal.module';
import { temporalUiLink } from '../runs/runs.views';
import type { RolloutStatusView } from './deployments.views';

/** The workflow type, by name. */
export const ROLLOUT_WORKFLOW_TYPE = 'rolloutWorkflow';

/** A query needs a worker; without one it would wait until this deadline, and the answer falls back to the registry. */
const QUERY_TIMEOUT_MS = 2000;
/** Starting, describing and signalling are server calls only. */
const CALL_TIMEOUT_MS = 5000;

export interface FoundWorkflow {
  workflowId: string;
  runId: string;
  /** Temporal's execution status: RUNNING, COMPLETED, FAILED, TERMINATED, CANCELLED, TIMED_OUT, … */
  status: string;
}

@Injectable()
export class RolloutsService {
  private readonly logger = new Logger('rollouts');

  constructor(
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RequestContext) private readonly context: RequestContext,
  ) {}

  handle(workflowId: string): WorkflowHandle {
    return this.temporal.workflow.getHandle(workflowId);
  }

  /** Runs a Temporal call with a deadline: past it the call fails with DEADLINE_EXCEEDED, which the API answers as 503. */
  withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
    return this.temporal.connection.withDeadline(Date.now() + ms, fn);
  }

  /** The latest execution under this workflow ID, or null when Temporal has none (never started, or past retention). */
  async find(workflowId: string): Promise<FoundWorkflow | null> {
    try {
      const d = await this.withDeadline(CALL_TIMEOUT_MS, () => this.handle(workflowId).describe());
      return { workflowId, runId: d.runId, status: d.status.name };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return null;
      throw err;
    }
  }

  /**
   * Starts the rollout, or finds the execution already started under its ID (running or closed): the ID is derived
   * from model and version, and a finished rollout is never started again for the same version.
   */
  async start(input: RolloutInput, workflowId: string): Promise<{ found: FoundWorkflow; created: boolean }> {
    try {
      const handle = await this.withDeadline(CALL_TIMEOUT_MS, () =>
        this.temporal.workflow.start(ROLLOUT_WORKFLOW_TYPE, {
          taskQueue: taskQueue(this.config, TASK_QUEUES.control),
          workflowId,
          args: [input],
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
            { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'pending' },
            { key: SEARCH_ATTRIBUTE_KEYS.step, value: 'rollout' },
          ],
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
        }),
      );
      return { found: { workflowId, runId: handle.firstExecutionRunId, status: 'RUNNING' }, created: true };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const found = await this.find(workflowId);
        if (found) return { found, created: false };
      }
      this.logger.warn(`could not start ${workflowId} [requestId=${this.context.requestId}]: ${(err as Error).message}`);
      throw err;
    }
  }

  /**
   * What the rollout is doing: the live state from its query while it runs; once it is closed, its result (the
   * final state) when Temporal still has it. Null when Temporal has no such workflow.
   */
  async status(workflowId: string, found?: FoundWorkflow | null): Promise<RolloutStatusView | null> {
    const execution = found === undefined ? await this.find(workflowId) : found;
    if (!execution) return null;
    const handle = this.temporal.workflow.getHandle(workflowId, execution.runId);
    let state: RolloutState | null = null;
    try {
      state =
        execution.status === 'RUNNING'
          ? await this.withDeadline(QUERY_TIMEOUT_MS, () => handle.query(rolloutStateQuery))
          : execution.status === 'COMPLETED'
            ? await this.withDeadline(QUERY_TIMEOUT_MS, () => handle.result() as Promise<RolloutState>)
            : null;
    } catch (err) {
      this.logger.debug(`state of ${workflowId} unavailable: ${(err as Error).message}`);
    }
    return {
      workflowId,
      workflowRunId: execution.runId,
      status: execution.status,
      live: execution.status === 'RUNNING' && state !== null,
      state,
      links: { temporalUi: temporalUiLink(this.config, workflowId) },
    };
  }

  /** Sends a signal; WorkflowNotFoundError when the rollout has closed meanwhile. */
  async signal<Args extends unknown[]>(workflowId: string, runId: string, definition: SignalDefinition<Args>, ...args: Args): Promise<void> {
    await this.withDeadline(CALL_TIMEOUT_MS, () => this.temporal.workflow.getHandle(workflowId, runId).signal(definition, ...args));
  }
}
