/**
 * Rolling a version out and watching it: starts rolloutWorkflow for a registered version with the model's
 * approval and rollout policy, shows the live routing with each replica's report and recent traffic per version,
 * and forwards pause, resume and rollback to the rollout in progress with the caller's identity bound in (the
 * workflow re-checks the roles: Temporal does not authenticate signal senders).
 */
import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { WorkflowNotFoundError } from '@temporalio/common';
import { APP_CONFIG } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { durationMs, pauseRolloutSignal, resumeRolloutSignal, rollbackRolloutSignal, rolloutWorkflowId } from '../../libs/contracts';
import type { RolloutInput } from '../../libs/contracts';
import { parseModelSpec } from '../../libs/ml/spec';
import type { ModelSpec } from '../../libs/ml/spec';
import { ApprovalRequest, ModelVersion, RegistryService } from '../../libs/registry';
import type { Deployment, Model } from '../../libs/registry';
import { badRequest, conflict, notFound } from '../common/api-error';
import { RequestContext } from '../common/request-context';
import { ModelsService } from '../models/models.service';
import { temporalUiLink } from '../runs/runs.views';
import { RolloutsService } from './rollouts.service';
import type { FoundWorkflow } from './rollouts.service';
import type { DeploymentView, ReplicaView, RolloutActionView, RolloutStarted, RolloutStatusView } from './deployments.views';

/** A replica that has not reported for this long is gone (replicas report every reconcile tick; the rollout activities use the same bound). */
const REPLICA_STALE_AFTER_MS = 5000;
/** Registered versions whose rollouts are looked for when none owns the routing (newest first). */
const CANDIDATES_TO_CHECK = 5;
const MAX_WINDOW_MS = 24 * 3_600_000;

/** Version statuses that can never be rolled out again. */
const FINAL_STATUSES: Record<string, string> = {
  rejected: 'was rejected (its approval was refused or expired)',
  rolled_back: 'was rolled back',
  retired: 'is a retired former champion',
};

@Injectable()
export class DeploymentsService {
  constructor(
    @Inject(RegistryService) private readonly registry: RegistryService,
    @Inject(ModelsService) private readonly models: ModelsService,
    @Inject(RolloutsService) private readonly rollouts: RolloutsService,
    @Inject(RequestContext) private readonly context: RequestContext,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Starts the rollout of a registered version, or returns the one already started for it (running or done): the
   * workflow ID is derived from model and version, so repeating the call never starts a second rollout.
   */
  async startRollout(modelName: string, versionNumber: number): Promise<RolloutStarted> {
    const model = await this.models.requireModel(modelName);
    const version = await this.registry.findVersion(model.id, versionNumber);
    if (!version) throw notFound(`model '${model.name}' has no version ${versionNumber}`);
    const workflowId = rolloutWorkflowId(model.name, version.version);
    const final = FINAL_STATUSES[version.status];
    if (final) {
      throw conflict(`version ${version.version} of '${model.name}' ${final} and cannot be rolled out again; train a new version instead`);
    }
    const run = await this.registry.findRun(version.runId);
    if (!run) {
      throw conflict(`the training run ${version.runId} of version ${version.version} is missing, so nobody can be excluded from approving it (four-eyes); refusing to roll it out`);
    }
    // Started before (by this call, or by the version's training run): that rollout is the answer, running or done.
    const existing = await this.rollouts.find(workflowId);
    if (existing) return this.started(model, version.version, existing, false, run.requestedBy);
    if (version.status === 'champion' || model.championVersion === version.version) {
      throw conflict(`version ${version.version} is already the champion of '${model.name}'; there is nothing to roll out`);
    }
    // One rollout per model at a time: each captures the champion when it starts and routes the model's traffic.
    const other = await this.findActive(model, await this.registry.findDeployment(model.id));
    if (other) {
      throw conflict(
        `${other.workflowId} is in progress for '${model.name}'; one rollout per model at a time: wait for it to finish, or end it ` +
          `(reject its approval request, or POST /v1/models/${model.name}/rollback)`,
      );
    }

    // Re-read through the schema: a spec stored before the approval and rollout sections existed gets their defaults.
    let spec: ModelSpec;
    try {
      spec = parseModelSpec(model.spec);
    } catch (err) {
      throw conflict(`the spec of '${model.name}' does not validate any more (${(err as Error).message}); fix it with PUT /v1/models/${model.name}/spec first`);
    }
    const primaryMetric = spec.evaluation.primaryMetric;
    const candidateScore = scoreOf(version, primaryMetric);
    if (candidateScore === undefined) {
      throw conflict(`version ${version.version} has no ${primaryMetric} score (the primary metric) to apply the approval policy to`);
    }
    const champion = model.championVersion !== null ? await this.registry.findVersion(model.id, model.championVersion) : null;
    let championScore: number | undefined;
    if (champion) {
      // Like for like when the run scored this champion on the candidate's own test rows; otherwise its own metrics.
      const sameRows = run.evaluation?.championVersion === champion.version ? run.evaluation.champion : undefined;
      championScore = typeof sameRows === 'number' && Number.isFinite(sameRows) ? sameRows : scoreOf(champion, primaryMetric);
      if (championScore === undefined) {
        // The workflow would read a champion without a score as "nothing to compare with" and skip the approval gate.
        throw conflict(`champion v${champion.version} has no ${primaryMetric} score to compare version ${version.version} with; refusing to decide the approval policy without it`);
      }
    }
    const input: RolloutInput = {
      modelId: model.id,
      modelName: model.name,
      version: version.version,
      runId: run.id,
      requestedBy: run.requestedBy,
      primaryMetric,
      candidateScore,
      ...(champion ? { championVersion: champion.version, championScore } : {}),
      policy: { approval: spec.approval, rollout: spec.rollout },
      approvalId: randomUUID(),
    };
    const { found, created } = await this.rollouts.start(input, workflowId);
    return this.started(model, version.version, found, created, run.requestedBy, created ? input.approvalId : undefined);
  }

  async deployment(modelName: string, window = '5m'): Promise<DeploymentView> {
    const model = await this.models.requireModel(modelName);
    const windowMs = durationMs(window);
    if (windowMs < 1000 || windowMs > MAX_WINDOW_MS) {
      throw badRequest(`window must be between 1s and 24h (got '${window}')`, [{ path: 'window', message: 'out of range' }]);
    }
    const since = new Date(Date.now() - windowMs);
    const [deployment, replicaRows, traffic] = await Promise.all([
      this.registry.findDeployment(model.id),
      this.registry.listReplicaStatus(model.id),
      this.registry.servingTraffic(model.id, since),
    ]);
    const revision = deployment?.revision ?? 0;
    const now = Date.now();
    const replicas: ReplicaView[] = replicaRows.map((r) => {
      const reportedAt = new Date(r.reportedAt);
      const ready = Boolean(r.ready);
      const stale = now - reportedAt.getTime() > REPLICA_STALE_AFTER_MS;
      return {
        replicaId: r.replicaId,
        revision: r.revision,
        ready,
        loadedVersions: r.loadedVersions,
        error: r.error,
        reportedAt,
        state: stale ? 'stale' : r.revision >= revision && ready ? 'converged' : 'lagging',
      };
    });
    const live = replicas.filter((r) => r.state !== 'stale');
    const champion = model.championVersion;
    return {
      model: model.name,
      championVersion: champion,
      source: deployment ? 'deployment' : champion !== null ? 'champion' : 'none',
      revision,
      stage: deployment?.stage ?? 'idle',
      routes: deployment ? deployment.routes : champion !== null ? [{ version: champion, weight: 100 }] : [],
      shadow: deployment?.shadow ?? null,
      stickyKeyHeader: deployment?.stickyKeyHeader ?? null,
      rolloutWorkflowId: deployment?.rolloutWorkflowId ?? null,
      updatedAt: deployment?.updatedAt ?? null,
      converged: live.length > 0 && live.every((r) => r.state === 'converged'),
      replicas,
      traffic: {
        window,
        since,
        versions: traffic
          .map((t) => ({
            version: t.version,
            kind: t.kind,
            requests: t.requests,
            errors: t.errors,
            errorRate: t.errorRate,
            p50Ms: finiteOrNull(t.p50Ms),
            p99Ms: finiteOrNull(t.p99Ms),
            agreementRate: t.agreementRate,
            replicas: t.replicas,
          }))
          .sort((a, b) => a.version - b.version || a.kind.localeCompare(b.kind)),
      },
      rollout: await this.activeRollout(model, deployment),
    };
  }

  /** Aborts the rollout that is changing the routing; compensation sends traffic back to the champion. */
  async rollback(modelName: string, reason: string): Promise<RolloutActionView> {
    const model = await this.models.requireModel(modelName);
    const deployment = await this.registry.findDeployment(model.id);
    const owner = deployment?.rolloutWorkflowId ? await this.rollouts.find(deployment.rolloutWorkflowId) : null;
    if (!owner || owner.status !== 'RUNNING') {
      const waiting = await this.activeRollout(model, deployment);
      if (waiting?.state?.stage === 'awaiting_approval') {
        throw conflict(
          `${waiting.workflowId} is still awaiting approval and has not changed any routing: reject it with POST /v1/approvals/${waiting.state.approval.id}/decision instead`,
        );
      }
      const last = deployment?.rolloutWorkflowId ? ` (the last one, ${deployment.rolloutWorkflowId}, has finished: stage ${deployment.stage})` : '';
      throw conflict(
        `there is no rollout of '${model.name}' in progress to roll back${last}. Rolling back a promoted version after its ` +
          'blue/green keep-warm window is not supported yet (future work); until then, roll out the version to return to as a new version',
      );
    }
    return this.send(owner, 'rollback', () =>
      this.rollouts.signal(owner.workflowId, owner.runId, rollbackRolloutSignal, { by: this.context.identity, reason }),
    );
  }

  async pause(modelName: string, reason?: string): Promise<RolloutActionView> {
    const active = await this.requireActive(modelName, 'pause');
    return this.send(active, 'pause', () =>
      this.rollouts.signal(active.workflowId, active.runId, pauseRolloutSignal, { by: this.context.identity, ...(reason ? { reason } : {}) }),
    );
  }

  async resume(modelName: string): Promise<RolloutActionView> {
    const active = await this.requireActive(modelName, 'resume');
    return this.send(active, 'resume', () => this.rollouts.signal(active.workflowId, active.runId, resumeRolloutSignal, { by: this.context.identity }));
  }

  // ---- helpers

  private async requireActive(modelName: string, action: string): Promise<FoundWorkflow> {
    const model = await this.models.requireModel(modelName);
    const found = await this.findActive(model, await this.registry.findDeployment(model.id));
    if (!found) throw conflict(`there is no rollout of '${model.name}' in progress to ${action}`);
    return found;
  }

  private async send(target: FoundWorkflow, action: RolloutActionView['action'], signal: () => Promise<void>): Promise<RolloutActionView> {
    try {
      await signal();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw conflict(`${target.workflowId} finished before the ${action} request reached it`);
      throw err;
    }
    return { action, workflowId: target.workflowId, requestedBy: this.context.identity.id, rollout: await this.rollouts.status(target.workflowId) };
  }

  /**
   * The rollout in progress: the one that owns the routing if it still runs, else the newest running rollout of a
   * registered version (awaiting approval, not routed yet). Rollout IDs derive from model and version, so the
   * candidates are known without a visibility query (which would only be eventually consistent).
   */
  private async findActive(model: Model, deployment: Deployment | null): Promise<FoundWorkflow | null> {
    const candidates = new Set<string>();
    if (deployment?.rolloutWorkflowId) candidates.add(deployment.rolloutWorkflowId);
    const registered = await this.registry.dataSource
      .getRepository(ModelVersion)
      .find({ where: { modelId: model.id, status: 'registered' }, order: { version: 'DESC' }, take: CANDIDATES_TO_CHECK, select: { version: true } });
    for (const v of registered) candidates.add(rolloutWorkflowId(model.name, v.version));
    for (const workflowId of candidates) {
      const found = await this.rollouts.find(workflowId);
      if (found?.status === 'RUNNING') return found;
    }
    return null;
  }

  private async activeRollout(model: Model, deployment: Deployment | null): Promise<RolloutStatusView | null> {
    const found = await this.findActive(model, deployment);
    return found ? this.rollouts.status(found.workflowId, found) : null;
  }

  private async started(model: Model, version: number, found: FoundWorkflow, created: boolean, requestedBy: string, approvalId?: string): Promise<RolloutStarted> {
    let id = approvalId ?? null;
    if (!id) {
      const row = await this.registry.dataSource.getRepository(ApprovalRequest).findOneBy({ modelId: model.id, version });
      id = row?.id ?? (await this.rollouts.status(found.workflowId, found))?.state?.approval.id ?? null;
    }
    return {
      workflowId: found.workflowId,
      workflowRunId: found.runId,
      model: model.name,
      version,
      created,
      status: found.status,
      approvalId: id,
      requestedBy,
      links: {
        temporalUi: temporalUiLink(this.config, found.workflowId),
        deployment: `/v1/models/${model.name}/deployment`,
        ...(id ? { approval: `/v1/approvals/${id}` } : {}),
      },
    };
  }
}

/** A version's score on the primary metric, when it has a finite one. */
export function scoreOf(version: Pick<ModelVersion, 'metrics'>, metric: string): number | undefined {
  const value = version.metrics[metric];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function finiteOrNull(value: number | null): number | null {
  return value !== null && Number.isFinite(value) ? value : null;
}
