/**
 * The rollout's side effects: the approval request row, the desired routing (Deployment) that serving replicas
 * reconcile to, waiting for them to converge, reading guardrail statistics from the traffic they logged, and the
 * champion alias. Every routing change records its intent in the audit log before it is applied and its result
 * after, under keys derived from the workflow, so a retried activity neither bumps the revision twice nor loses a
 * record: the registry and what replicas serve cannot silently disagree.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { MoreThanOrEqual } from 'typeorm';
import type { DataSource } from 'typeorm';
import { DateUtils } from 'typeorm/util/DateUtils';
import type { GuardrailReading, RolloutPolicy, RolloutStage } from '../../libs/contracts';
import { ApprovalRequest, AuditEvent, Deployment, Model, ModelVersion, ReplicaStatus, ServingStats } from '../../libs/registry';
import type { ApprovalDecision, ApprovalStatus, DeploymentStage, RegistryService, RouteWeight, ShadowTarget } from '../../libs/registry';
import { isUniqueViolation } from '../../libs/registry/registry.service';

export interface RolloutActivityDeps {
  registry: RegistryService;
  /** a replica whose last report is older than this is considered gone (default 5 s) */
  replicaStaleAfterMs?: number;
}

export interface ApplyRoutingInput {
  modelId: string;
  routes: RouteWeight[];
  shadow: ShadowTarget | null;
  stage: DeploymentStage;
  rolloutWorkflowId: string;
  stickyKeyHeader?: string | null;
  /** unique per change within the workflow: makes the change idempotent under retries */
  changeKey: string;
  actor: string;
  reason: string;
}

const SYSTEM = 'system:rollout';

export class RolloutActivities {
  constructor(private readonly deps: RolloutActivityDeps) {}

  private get registry(): RegistryService {
    return this.deps.registry;
  }

  async openApproval(input: {
    approvalId: string;
    modelId: string;
    modelName: string;
    version: number;
    requiredApprovals: number;
    requestedBy: string;
    workflowId: string;
    reason: string;
    expiresAt: string | null;
  }): Promise<void> {
    await this.registry.write(async (tx) => {
      const repo = tx.getRepository(ApprovalRequest);
      if (await repo.findOneBy({ id: input.approvalId })) return;
      await repo.save(
        repo.create({
          id: input.approvalId,
          modelId: input.modelId,
          version: input.version,
          status: 'pending',
          requiredApprovals: input.requiredApprovals,
          requestedBy: input.requestedBy,
          workflowId: input.workflowId,
          decisions: [],
          reason: input.reason,
          expiresAt: input.expiresAt ? new Date(input.expiresAt) : null,
          closedAt: null,
        }),
      );
      await tx.getRepository(AuditEvent).save(
        tx.getRepository(AuditEvent).create({
          actor: SYSTEM,
          action: 'approval.opened',
          entityType: 'model_version',
          entityId: `${input.modelName}@${input.version}`,
          details: { approvalId: input.approvalId, reason: input.reason, requiredApprovals: input.requiredApprovals },
          dedupeKey: `approval.opened:${input.approvalId}`,
        }),
      );
    });
  }

  /** Persists the decisions so far; closes the request when the status is final. Decisions are audited once each. */
  async saveApproval(input: { approvalId: string; modelName: string; version: number; status: ApprovalStatus; decisions: ApprovalDecision[] }): Promise<void> {
    await this.registry.write(async (tx) => {
      const closed = input.status !== 'pending';
      await tx.getRepository(ApprovalRequest).update(
        { id: input.approvalId },
        { status: input.status, decisions: input.decisions, ...(closed ? { closedAt: new Date() } : {}) },
      );
    });
    for (const decision of input.decisions) {
      await this.registry.appendAudit({
        actor: decision.reviewer,
        action: `approval.${decision.decision}`,
        entityType: 'model_version',
        entityId: `${input.modelName}@${input.version}`,
        details: { approvalId: input.approvalId, comment: decision.comment },
        dedupeKey: `approval.decision:${input.approvalId}:${decision.reviewer}`,
      });
    }
    if (input.status !== 'pending') {
      await this.registry.appendAudit({
        actor: SYSTEM,
        action: `approval.${input.status}`,
        entityType: 'model_version',
        entityId: `${input.modelName}@${input.version}`,
        details: { approvalId: input.approvalId },
        dedupeKey: `approval.closed:${input.approvalId}`,
      });
    }
  }

  /**
   * Sets the model's desired routing and returns the new revision. Idempotent per changeKey: the audit row with
   * that key is written in the same transaction, so a retry finds it and returns the revision it recorded.
   */
  async applyRouting(input: ApplyRoutingInput): Promise<{ revision: number }> {
    const applied = await this.findChange(input.changeKey);
    if (applied) return applied;
    try {
      return await this.registry.write(async (tx) => {
        const repo = tx.getRepository(Deployment);
        const current = await repo.findOneBy({ modelId: input.modelId });
        const revision = (current?.revision ?? 0) + 1;
        await tx.getRepository(AuditEvent).save(
          tx.getRepository(AuditEvent).create({
            actor: input.actor,
            action: 'deployment.changed',
            entityType: 'deployment',
            entityId: input.modelId,
            details: { revision, routes: input.routes, shadow: input.shadow, stage: input.stage, reason: input.reason, previous: current ? { revision: current.revision, routes: current.routes, shadow: current.shadow } : null },
            dedupeKey: `deployment:${input.changeKey}`,
          }),
        );
        await repo.save(
          repo.create({
            modelId: input.modelId,
            revision,
            routes: input.routes,
            shadow: input.shadow,
            stage: input.stage,
            rolloutWorkflowId: input.rolloutWorkflowId,
            stickyKeyHeader: input.stickyKeyHeader ?? current?.stickyKeyHeader ?? null,
          }),
        );
        return { revision };
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const raced = await this.findChange(input.changeKey);
      if (raced) return raced;
      throw err;
    }
  }

  private async findChange(changeKey: string): Promise<{ revision: number } | null> {
    const event = await this.registry.dataSource.getRepository(AuditEvent).findOneBy({ dedupeKey: `deployment:${changeKey}` });
    return event ? { revision: Number((event.details as { revision: number }).revision) } : null;
  }

  /**
   * Waits until every live serving replica routes by `revision` and is ready. Polls the replicas' reports and
   * heartbeats; no live replica at all counts as converged (nothing serves the model yet).
   */
  async waitForConvergence(input: { modelId: string; revision: number; timeoutMs: number }): Promise<{ replicas: number; waitedMs: number }> {
    const started = Date.now();
    const staleAfter = this.deps.replicaStaleAfterMs ?? 5_000;
    for (;;) {
      const reports = await this.registry.dataSource
        .getRepository(ReplicaStatus)
        .findBy({ modelId: input.modelId, reportedAt: MoreThanOrEqual(dbTime(this.registry.dataSource, new Date(Date.now() - staleAfter))) });
      const lagging = reports.filter((r) => r.revision < input.revision || !r.ready);
      Context.current().heartbeat({ live: reports.length, lagging: lagging.map((r) => r.replicaId) });
      if (lagging.length === 0) return { replicas: reports.length, waitedMs: Date.now() - started };
      if (Date.now() - started > input.timeoutMs) {
        throw ApplicationFailure.create({
          type: 'ConvergenceTimeout',
          message: `replicas ${lagging.map((r) => `${r.replicaId} (revision ${r.revision}${r.error ? `, ${r.error}` : ''})`).join(', ')} did not converge on revision ${input.revision} within ${input.timeoutMs} ms`,
          nonRetryable: true,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Sums the replicas' traffic windows since `since` and checks the guardrails of the current stage. */
  async readGuardrails(input: {
    modelId: string;
    since: string;
    stage: RolloutStage;
    candidate: number;
    champion?: number;
    guardrails: RolloutPolicy['rollout']['guardrails'];
  }): Promise<GuardrailReading> {
    const rows = await this.registry.dataSource
      .getRepository(ServingStats)
      .findBy({ modelId: input.modelId, windowStart: MoreThanOrEqual(dbTime(this.registry.dataSource, new Date(input.since))) });
    const candidateKind = input.stage === 'shadow' ? 'shadow' : 'live';
    const candidate = summarize(rows.filter((r) => r.version === input.candidate && r.kind === candidateKind));
    const champion = input.champion !== undefined ? summarize(rows.filter((r) => r.version === input.champion && r.kind === 'live')) : undefined;
    return evaluateGuardrails(input.stage, candidate, champion, input.guardrails);
  }

  async promote(input: { modelId: string; modelName: string; version: number; previousChampion?: number; actor: string }): Promise<void> {
    await this.registry.write(async (tx) => {
      await tx.getRepository(Model).update({ id: input.modelId }, { championVersion: input.version });
      await tx.getRepository(ModelVersion).update({ modelId: input.modelId, version: input.version }, { status: 'champion' });
      if (input.previousChampion !== undefined && input.previousChampion !== input.version) {
        await tx.getRepository(ModelVersion).update({ modelId: input.modelId, version: input.previousChampion }, { status: 'retired' });
      }
    });
    await this.registry.appendAudit({
      actor: input.actor,
      action: 'version.promoted',
      entityType: 'model_version',
      entityId: `${input.modelName}@${input.version}`,
      details: { previousChampion: input.previousChampion ?? null },
      dedupeKey: `version.promoted:${input.modelId}:${input.version}`,
    });
  }

  /** Compensation's last step: the candidate is marked, and the champion alias points where it did before. */
  async markRolledBack(input: { modelId: string; modelName: string; version: number; restoreChampion?: number; reason: string; actor: string }): Promise<void> {
    await this.registry.write(async (tx) => {
      await tx.getRepository(ModelVersion).update({ modelId: input.modelId, version: input.version }, { status: 'rolled_back' });
      await tx.getRepository(Model).update({ id: input.modelId }, { championVersion: input.restoreChampion ?? null });
      if (input.restoreChampion !== undefined) {
        await tx.getRepository(ModelVersion).update({ modelId: input.modelId, version: input.restoreChampion }, { status: 'champion' });
      }
    });
    await this.registry.appendAudit({
      actor: input.actor,
      action: 'version.rolled_back',
      entityType: 'model_version',
      entityId: `${input.modelName}@${input.version}`,
      details: { reason: input.reason, restoredChampion: input.restoreChampion ?? null },
      dedupeKey: `version.rolled_back:${input.modelId}:${input.version}`,
    });
  }

  async markRejected(input: { modelId: string; modelName: string; version: number; reason: string }): Promise<void> {
    await this.registry.write((tx) => tx.getRepository(ModelVersion).update({ modelId: input.modelId, version: input.version }, { status: 'rejected' }));
    await this.registry.appendAudit({
      actor: SYSTEM,
      action: 'version.rejected',
      entityType: 'model_version',
      entityId: `${input.modelName}@${input.version}`,
      details: { reason: input.reason },
      dedupeKey: `version.rejected:${input.modelId}:${input.version}`,
    });
  }

  async recordRolloutEvent(input: { actor: string; action: string; modelName: string; version: number; details: Record<string, unknown>; dedupeKey: string }): Promise<void> {
    await this.registry.appendAudit({
      actor: input.actor,
      action: input.action,
      entityType: 'model_version',
      entityId: `${input.modelName}@${input.version}`,
      details: input.details,
      dedupeKey: input.dedupeKey,
    });
  }
}

export function createRolloutActivities(deps: RolloutActivityDeps) {
  const a = new RolloutActivities(deps);
  return {
    openApproval: a.openApproval.bind(a),
    saveApproval: a.saveApproval.bind(a),
    applyRouting: a.applyRouting.bind(a),
    waitForConvergence: a.waitForConvergence.bind(a),
    readGuardrails: a.readGuardrails.bind(a),
    promote: a.promote.bind(a),
    markRolledBack: a.markRolledBack.bind(a),
    markRejected: a.markRejected.bind(a),
    recordRolloutEvent: a.recordRolloutEvent.bind(a),
  };
}

/**
 * A timestamp as a comparison parameter. SQLite stores datetimes as 'YYYY-MM-DD HH:MM:SS.SSS' text (UTC) and
 * compares them as text, but TypeORM binds a Date in a WHERE clause as an ISO string with a 'T', which sorts
 * differently: the parameter has to be written the way the column is.
 */
export function dbTime(dataSource: DataSource, date: Date): Date {
  return (dataSource.options.type === 'postgres' ? date : DateUtils.mixedDateToUtcDatetimeString(date)) as Date;
}

// ---------------------------------------------------------------- guardrail arithmetic (pure, unit-tested)

export interface TrafficSummary {
  requests: number;
  errors: number;
  latencyBuckets: Record<string, number>;
  predictions: Record<string, number>;
  agreements: number;
}

export function summarize(rows: Pick<ServingStats, 'requests' | 'errors' | 'latencyBuckets' | 'predictions' | 'agreements'>[]): TrafficSummary {
  const out: TrafficSummary = { requests: 0, errors: 0, latencyBuckets: {}, predictions: {}, agreements: 0 };
  for (const r of rows) {
    out.requests += r.requests;
    out.errors += r.errors;
    out.agreements += r.agreements ?? 0;
    for (const [k, v] of Object.entries(r.latencyBuckets)) out.latencyBuckets[k] = (out.latencyBuckets[k] ?? 0) + v;
    for (const [k, v] of Object.entries(r.predictions)) out.predictions[k] = (out.predictions[k] ?? 0) + v;
  }
  return out;
}

/** The p-th percentile from a cumulative-free bucket histogram (bound → count), as the bucket's upper bound. */
export function percentileFromBuckets(buckets: Record<string, number>, p: number): number | null {
  const entries = Object.entries(buckets)
    .map(([bound, count]) => [bound === '+Inf' ? Number.POSITIVE_INFINITY : Number(bound), count] as const)
    .sort((a, b) => a[0] - b[0]);
  const total = entries.reduce((s, [, c]) => s + c, 0);
  if (total === 0) return null;
  const rank = Math.ceil(p * total);
  let seen = 0;
  for (const [bound, count] of entries) {
    seen += count;
    if (seen >= rank) return bound;
  }
  return entries[entries.length - 1][0];
}

/** Jensen-Shannon distance (base 2, in [0, 1]) between two count distributions over labels. */
export function jensenShannonDistance(a: Record<string, number>, b: Record<string, number>): number {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const ta = Object.values(a).reduce((s, v) => s + v, 0);
  const tb = Object.values(b).reduce((s, v) => s + v, 0);
  if (ta === 0 || tb === 0) return 0;
  let js = 0;
  for (const k of keys) {
    const p = (a[k] ?? 0) / ta;
    const q = (b[k] ?? 0) / tb;
    const m = (p + q) / 2;
    if (p > 0) js += 0.5 * p * Math.log2(p / m);
    if (q > 0) js += 0.5 * q * Math.log2(q / m);
  }
  return Math.sqrt(Math.max(0, js));
}

export function evaluateGuardrails(
  stage: RolloutStage,
  candidate: TrafficSummary,
  champion: TrafficSummary | undefined,
  g: RolloutPolicy['rollout']['guardrails'],
): GuardrailReading {
  const view = (t: TrafficSummary) => ({
    requests: t.requests,
    errors: t.errors,
    errorRate: t.requests ? t.errors / t.requests : 0,
    p99Ms: percentileFromBuckets(t.latencyBuckets, 0.99),
  });
  const c = view(candidate);
  const reading: GuardrailReading = { at: new Date().toISOString(), stage, candidate: c, breaches: [] };
  if (c.requests > 0 && c.errorRate > g.maxErrorRate) {
    reading.breaches.push(`error rate ${(c.errorRate * 100).toFixed(2)}% is above the limit of ${(g.maxErrorRate * 100).toFixed(2)}%`);
  }
  if (champion) {
    const ch = view(champion);
    reading.champion = ch;
    if (c.p99Ms !== null && ch.p99Ms !== null && Number.isFinite(ch.p99Ms) && c.p99Ms > ch.p99Ms * g.maxP99LatencyRatio) {
      reading.breaches.push(`p99 latency ${c.p99Ms} ms is more than ${g.maxP99LatencyRatio}x the champion's ${ch.p99Ms} ms`);
    }
    if (c.requests > 0 && ch.requests > 0) {
      reading.divergence = jensenShannonDistance(candidate.predictions, champion.predictions);
      if (reading.divergence > g.maxPredictionDivergence) {
        reading.breaches.push(`prediction distribution diverges from the champion's (Jensen-Shannon distance ${reading.divergence.toFixed(3)} > ${g.maxPredictionDivergence})`);
      }
    }
  }
  if (stage === 'shadow' && c.requests > 0) {
    reading.agreement = candidate.agreements / c.requests;
    if (reading.agreement < g.minAgreement) {
      reading.breaches.push(`agrees with the champion on ${(reading.agreement * 100).toFixed(1)}% of mirrored requests, below ${(g.minAgreement * 100).toFixed(1)}%`);
    }
  }
  return reading;
}
