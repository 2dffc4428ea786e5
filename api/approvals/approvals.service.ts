/**
 * Approval requests: the registry rows the rollout workflow opens (listed with the candidate's metrics beside the
 * champion's), and decisions, which are never written here: they go to the workflow as its `approvalDecision`
 * Update with the caller's identity bound in, and the workflow's validator decides (reviewer role, four-eyes,
 * closed request). The workflow then persists and audits them.
 */
import { Inject, Injectable, Logger } from '@nestjs/common';
import { WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { FindOptionsWhere } from 'typeorm';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { approvalDecisionUpdate, ROLLOUT_FAILURES } from '../../libs/contracts';
import type { RolloutState } from '../../libs/contracts';
import { ApprovalRequest, RegistryService } from '../../libs/registry';
import type { Model, ModelVersion } from '../../libs/registry';
import { ApiException, conflict, notFound } from '../common/api-error';
import { RequestContext } from '../common/request-context';
import { RolloutsService } from '../deployments/rollouts.service';
import type { RolloutStatusView } from '../deployments/deployments.views';
import { ModelsService } from '../models/models.service';
import type { DecisionBody, ListApprovalsQuery } from './approvals.dto';
import { toApprovalSummary, toApprovalView } from './approvals.views';
import type { ApprovalContext, ApprovalSummary, ApprovalView } from './approvals.views';

/**
 * How long a decision may take: the Update runs in the workflow, so it needs a worker. Past this the call answers
 * 503; repeating the same decision is safe.
 */
const UPDATE_TIMEOUT_MS = 10_000;

@Injectable()
export class ApprovalsService {
  private readonly logger = new Logger('approvals');

  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(RolloutsService) private readonly rollouts: RolloutsService,
    @Inject(RequestContext) private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  private get repo() {
    return this.registry.dataSource.getRepository(ApprovalRequest);
  }

  /** Newest first; `pending` (the default) also covers escalated requests, which stay pending in the registry. */
  async list(query: ListApprovalsQuery): Promise<ApprovalSummary[]> {
    const where: FindOptionsWhere<ApprovalRequest> = {};
    const status = query.status ?? 'pending';
    if (status !== 'all') where.status = status;
    const models = new Map<string, Promise<Model | null>>();
    if (query.model) {
      const model = await this.models.requireModel(query.model);
      where.modelId = model.id;
      models.set(model.id, Promise.resolve(model));
    }
    const rows = await this.repo.find({ where, order: { createdAt: 'DESC', id: 'ASC' }, take: query.limit ?? 100 });
    const modelOf = (id: string): Promise<Model | null> => {
      let model = models.get(id);
      if (!model) models.set(id, (model = this.registry.findModelById(id)));
      return model;
    };
    return Promise.all(rows.map(async (row) => this.summary(row, await modelOf(row.modelId))));
  }

  async get(id: string): Promise<ApprovalView> {
    const row = await this.requireRow(id);
    const rollout = await this.rollouts.status(row.workflowId);
    return this.view(row, rollout);
  }

  /**
   * Sends the caller's decision to the rollout and returns the request as the workflow sees it afterwards. The same
   * decision from the same reviewer again is answered like the first (200), also once the rollout has finished.
   */
  async decide(id: string, body: DecisionBody): Promise<ApprovalView> {
    const row = await this.requireRow(id);
    const reviewer = this.context.identity;
    const handle = this.rollouts.handle(row.workflowId);
    let state: RolloutState;
    try {
      state = await this.rollouts.withDeadline(UPDATE_TIMEOUT_MS, () =>
        handle.executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: row.id, reviewer, decision: body.decision, comment: body.comment ?? '' }] }),
      );
    } catch (err) {
      if (err instanceof WorkflowUpdateFailedError) throw this.refusal(err, id);
      if (err instanceof WorkflowNotFoundError) {
        // The rollout has finished, so the request is closed. A retried decision that got through before is no error.
        const closed = await this.requireRow(id);
        const earlier = closed.decisions.find((d) => d.reviewer === reviewer.id);
        if (earlier?.decision === body.decision) return this.get(id);
        throw conflict(`approval ${id} is closed (${closed.status}): its rollout ${row.workflowId} has finished`);
      }
      if (err instanceof WorkflowUpdateRPCTimeoutOrCancelledError) {
        this.logger.warn(`decision on ${id} timed out [requestId=${this.context.requestId}]: ${err.message}`);
        throw new ApiException(503, `the rollout ${row.workflowId} did not answer within ${UPDATE_TIMEOUT_MS / 1000} s (is a worker running?); repeating the same decision is safe`);
      }
      throw err;
    }
    const rollout = await this.rollouts.status(row.workflowId);
    // The update's own answer is the state right after this decision; a later query can only be newer.
    const live: RolloutStatusView | null = rollout?.live ? rollout : rollout ? { ...rollout, live: true, state } : null;
    return this.view(await this.requireRow(id), live);
  }

  // ---- helpers

  /** The workflow's validator refused the decision: its failure type says why, its message says it to the caller. */
  private refusal(err: WorkflowUpdateFailedError, id: string): ApiException {
    const cause = err.cause;
    const type = cause instanceof ApplicationFailure ? cause.type : undefined;
    const message = cause?.message ?? err.message;
    switch (type) {
      case ROLLOUT_FAILURES.forbidden:
        return new ApiException(403, message);
      case ROLLOUT_FAILURES.approvalClosed:
        return conflict(message);
      case ROLLOUT_FAILURES.unknownApproval:
        return notFound(`approval ${id} is not open in its rollout: ${message}`);
      default:
        this.logger.error(`decision on ${id} failed unexpectedly [requestId=${this.context.requestId}]: ${message}`);
        return new ApiException(500, 'internal error');
    }
  }

  private async requireRow(id: string): Promise<ApprovalRequest> {
    const row = await this.repo.findOneBy({ id });
    if (!row) throw notFound(`approval request ${id} does not exist`);
    return row;
  }

  private async view(row: ApprovalRequest, rollout: RolloutStatusView | null): Promise<ApprovalView> {
    const model = await this.registry.findModelById(row.modelId);
    const fromState = rollout?.state ? (rollout.state.championVersion ?? null) : undefined;
    const summary = await this.summary(row, model, fromState);
    return toApprovalView(summary, rollout);
  }

  /**
   * The row with the candidate beside the champion it is compared with. `championVersion` comes from the rollout's
   * state when known (null: the rollout has no champion); otherwise, for an open request, the model's champion now
   * (what a rollout starting now compares with), and for a closed one the champion its training run was evaluated
   * against.
   */
  private async summary(row: ApprovalRequest, model: Model | null, championVersion?: number | null): Promise<ApprovalSummary> {
    const modelName = model?.name ?? row.modelId;
    const candidate = model ? await this.registry.findVersion(model.id, row.version) : null;
    const run = candidate ? await this.registry.findRun(candidate.runId) : null;
    const evaluation = run?.evaluation ?? null;
    let compared = championVersion;
    if (compared === undefined) {
      const current = model?.championVersion !== undefined && model?.championVersion !== null && model.championVersion !== row.version ? model.championVersion : null;
      compared = row.status === 'pending' ? current : (evaluation?.championVersion ?? candidate?.lineage.comparedWithVersion ?? current);
    }
    const champion: ModelVersion | null = model && compared !== null && compared !== undefined ? await this.registry.findVersion(model.id, compared) : null;
    const ctx: ApprovalContext = { modelName, candidate, champion, evaluation };
    return toApprovalSummary(this.config, row, ctx, model?.spec.evaluation.primaryMetric);
  }
}
