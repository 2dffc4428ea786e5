/**
 * Training runs: a registry row first, then the workflow, started by name with an ID derived from the run. The
 * row comes first so a run is never lost; if the process dies between the two, repeating the request with the
 * same Idempotency-Key finds the row and starts (or finds) the same workflow ID.
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { Client, WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { APP_CONFIG, taskQueue } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { PIPELINE_STEPS, SEARCH_ATTRIBUTE_KEYS, TASK_QUEUES, trainingRunStateQuery, trainingWorkflowId } from '../../libs/contracts';
import type { TrainingPipelineInput, TrainingRunState } from '../../libs/contracts';
import { RegistryService } from '../../libs/registry';
import type { Model, TrainingRun } from '../../libs/registry';
import { badRequest, conflict, notFound } from '../common/api-error';
import { RequestContext } from '../common/request-context';
import { ModelsService } from '../models/models.service';
import { TEMPORAL_CLIENT } from '../temporal/temporal.module';
import { runLinks, toRunSummary, toRunView } from './runs.views';
import type { RunStarted, RunSummary, RunView } from './runs.views';

/** The workflow type, by name: the API never imports workflow code. */
export const TRAINING_WORKFLOW_TYPE = 'trainingPipelineWorkflow';

/**
 * How long GET /v1/runs/{id} waits for the live query before answering from the registry. A query needs a worker,
 * so with none polling it would wait until this deadline.
 */
const LIVE_QUERY_TIMEOUT_MS = 2000;

/** How long starting (or finding) a workflow may take before the request answers 503. */
const START_TIMEOUT_MS = 5000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

@Injectable()
export class RunsService {
  private readonly logger = new Logger('runs');

  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(TEMPORAL_CLIENT) private readonly temporal: Client,
    @Inject(RequestContext) private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Starts a training run; `created` is false when the Idempotency-Key named an earlier run. */
  async start(modelName: string, requestedSource: string | undefined, idempotencyKey: string | undefined): Promise<{ run: RunStarted; created: boolean }> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw badRequest('Idempotency-Key must be 1-200 printable ASCII characters without spaces', [{ path: 'Idempotency-Key', message: 'invalid' }]);
    }
    const model = await this.models.requireModel(modelName);
    const source = await this.resolveSource(model, requestedSource);
    const id = randomUUID();
    const { run, created } = await this.registry.createRun({
      id,
      modelId: model.id,
      source,
      specHash: model.specHash,
      workflowId: trainingWorkflowId(model.name, id),
      idempotencyKey: idempotencyKey ?? null,
      requestedBy: this.context.actor,
      steps: PIPELINE_STEPS.map((step) => ({ step, status: 'pending' })),
    });
    if (!created && run.source !== source) {
      throw conflict(
        `Idempotency-Key '${idempotencyKey}' was already used for run ${run.id} on ${run.source}; use a new key for a different request`,
      );
    }
    if (!run.workflowRunId) {
      run.workflowRunId = await this.startWorkflow(model, run, idempotencyKey !== undefined);
      await this.registry.updateRun(run.id, { workflowRunId: run.workflowRunId });
    }
    return {
      created,
      run: { runId: run.id, workflowId: run.workflowId, workflowRunId: run.workflowRunId, status: run.status, source: run.source, links: runLinks(this.config, run) },
    };
  }

  async get(id: string): Promise<RunView> {
    const run = await this.registry.findRun(id);
    if (!run) throw notFound(`run ${id} does not exist`);
    const model = await this.registry.findModelById(run.modelId);
    // 'running' is set by the workflow's first activity, so a worker has picked it up and can answer the query;
    // a queued run has nothing live to add yet, and a finished one is final in the registry.
    const live = run.status === 'running' ? await this.liveState(run) : undefined;
    return toRunView(this.config, run, model?.name ?? '', live);
  }

  async list(modelName: string, limit = 100): Promise<RunSummary[]> {
    const model = await this.models.requireModel(modelName);
    return (await this.registry.listRuns(model.id, limit)).map((run) => toRunSummary(this.config, run));
  }

  /**
   * Checks a source before anything starts, so the caller learns at once what is wrong with it. The worker's
   * ingest activity checks again (the HTTP allow-list in particular): the API is not the only way in.
   */
  async resolveSource(model: Model, requested: string | undefined): Promise<string> {
    const raw = (requested ?? model.spec.data?.source)?.trim();
    const field = requested !== undefined ? 'source' : 'spec.data.source';
    if (!raw) {
      throw badRequest(
        `no data source: pass {"source": "..."} (dataset:<id> from POST /v1/models/${model.name}/datasets, s3://bucket/key, or an allowed http(s):// URL), or set data.source in the spec`,
        [{ path: 'source', message: 'required when the spec has no data.source' }],
      );
    }
    const invalid = (message: string) => badRequest(message, [{ path: field, message }]);
    const prefixed = /^(dataset|upload):(.*)$/.exec(raw);
    if (prefixed) {
      const datasetId = prefixed[2];
      if (!UUID.test(datasetId)) throw invalid(`'${datasetId}' is not a dataset id: expected dataset:<uuid> as returned by the upload`);
      const dataset = await this.registry.findDataset(datasetId.toLowerCase());
      if (!dataset || dataset.modelId !== model.id) {
        throw invalid(`dataset ${datasetId} does not exist for model '${model.name}'; upload it with POST /v1/models/${model.name}/datasets`);
      }
      return `dataset:${dataset.id}`;
    }
    if (/^s3:\/\//i.test(raw)) {
      if (!/^s3:\/\/[^/\s]+\/\S+$/.test(raw)) throw invalid(`'${raw}' is not an S3 location: use s3://bucket/key`);
      return raw;
    }
    if (/^https?:\/\//i.test(raw)) {
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        throw invalid(`'${raw}' is not a valid URL`);
      }
      if (url.username || url.password) throw invalid('the URL must not carry credentials: they would be stored in the registry and audit log');
      const host = url.hostname.toLowerCase();
      if (!this.config.httpAllowlist.includes(host)) {
        const allowed = this.config.httpAllowlist.length ? `allowed hosts: ${this.config.httpAllowlist.join(', ')}` : 'no hosts are allowed';
        throw invalid(
          `host '${host}' is not in MLCYCLE_HTTP_ALLOWLIST (${allowed}); upload the file with POST /v1/models/${model.name}/datasets instead, or ask an operator to allow the host`,
        );
      }
      return url.toString();
    }
    throw invalid(`unsupported source '${raw}': use dataset:<id> (an upload), s3://bucket/key, or an allowed http(s):// URL`);
  }

  /** Starts the workflow, or finds the one already started under this run's workflow ID; returns its run ID. */
  private async startWorkflow(model: Model, run: TrainingRun, retryable: boolean): Promise<string> {
    const input = {
      runId: run.id,
      modelId: model.id,
      modelName: model.name,
      spec: model.spec,
      specHash: model.specHash,
      source: run.source,
      requestedBy: run.requestedBy,
    } satisfies TrainingPipelineInput;
    const withDeadline = <T>(fn: () => Promise<T>) => this.temporal.connection.withDeadline(Date.now() + START_TIMEOUT_MS, fn);
    try {
      const handle = await withDeadline(() => this.temporal.workflow.start(TRAINING_WORKFLOW_TYPE, {
        taskQueue: taskQueue(this.config, TASK_QUEUES.control),
        workflowId: run.workflowId,
        args: [input],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTE_KEYS.model, value: model.name },
          { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'running' },
        ],
        // One execution per run ID, ever: a repeated start after the first one finished must not train again.
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      }));
      return handle.firstExecutionRunId;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        const described = await withDeadline(() => this.temporal.workflow.getHandle(run.workflowId).describe());
        return described.runId;
      }
      this.logger.warn(`could not start ${run.workflowId} [requestId=${this.context.requestId}]: ${(err as Error).message}`);
      if (!retryable) {
        // Without an Idempotency-Key nobody can resume this run; close it instead of leaving it queued forever.
        await this.registry.updateRun(run.id, { status: 'failed', error: `the workflow could not be started: ${(err as Error).message}`, finishedAt: new Date() });
      }
      throw err;
    }
  }

  /** The workflow's own view of the run, or undefined when it cannot answer (closed, not yet picked up, unreachable). */
  private async liveState(run: TrainingRun): Promise<TrainingRunState | undefined> {
    try {
      const handle = this.temporal.workflow.getHandle(run.workflowId, run.workflowRunId ?? undefined);
      return await this.temporal.connection.withDeadline(Date.now() + LIVE_QUERY_TIMEOUT_MS, () => handle.query(trainingRunStateQuery));
    } catch (err) {
      this.logger.debug(`live state of ${run.workflowId} unavailable: ${(err as Error).message}`);
      return undefined;
    }
  }
}
