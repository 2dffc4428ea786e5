/**
 * The registry's write and read paths, shared by the API and the worker's activities. Every write is idempotent:
 * ids are chosen by the caller (the workflow), and unique constraints turn a retried insert into a read.
 */
import { randomUUID } from 'node:crypto';
import { In } from 'typeorm';
import type { DataSource, EntityManager } from 'typeorm';
import type { EvaluationSummary, RunStatus, StepState } from '../contracts/training';
import type { ModelSpec } from '../ml/spec';
import { ApiKey, AuditEvent, DatasetSnapshot, Model, ModelVersion, TrainingRun } from './entities';
import type { ArtifactRef, Lineage, Role } from './entities';
// serving (see the serving section below)
import { summarizeWindows } from '../serving/stats';
import type { StatsWindow, VersionTraffic } from '../serving/stats';
import { Deployment, ReplicaStatus, ServingStats } from './entities';
// monitoring (see the monitoring section below)
import { Alert, Feedback, MonitoringReport, WebhookDelivery } from './entities';
import type { AlertKind, MonitoringReportStatus } from './entities';

export class RegistryConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RegistryConflictError';
  }
}

export interface NewModel {
  name: string;
  owner: string;
  description?: string;
  spec: ModelSpec;
  specHash: string;
}

export interface NewDataset {
  id?: string;
  modelId: string;
  sha256: string;
  source: string;
  format: string;
  objectKey: string;
  sizeBytes: number;
}

export interface NewRun {
  id: string;
  modelId: string;
  source: string;
  specHash: string;
  workflowId: string;
  idempotencyKey?: string | null;
  requestedBy: string;
  steps: StepState[];
}

export interface NewVersion {
  modelId: string;
  runId: string;
  metrics: Record<string, unknown>;
  lineage: Lineage;
  artifacts: ArtifactRef[];
  /** make it the model's champion (until approval and rollout exist, a version that passes evaluation is promoted) */
  promote: boolean;
}

export interface AuditEntry {
  actor: string;
  action: string;
  entityType: string;
  entityId: string;
  details?: Record<string, unknown>;
  /** a stable key for events written from retried activities, so each lands once */
  dedupeKey?: string;
}

/** A key to store: only its hash and a short prefix, never the key itself. */
export interface NewApiKey {
  identity: string;
  roles: Role[];
  /** sha256 of the key, hex */
  keyHash: string;
  /** the first characters of the key, to tell keys apart in listings */
  prefix: string;
}

/** Unique-constraint violations differ by driver; both mean "someone already wrote this". */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; driverError?: { code?: string }; message?: string };
  const code = e?.driverError?.code ?? e?.code;
  return code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' ||
    /UNIQUE constraint failed|duplicate key value/.test(e?.message ?? '');
}

export class RegistryService {
  /** SQLite has one connection per process: transactions must take turns, or they would nest and fail. */
  private writeQueue: Promise<unknown> = Promise.resolve();

  constructor(readonly dataSource: DataSource) {}

  /** Runs a write in a transaction; on SQLite, writes from this process are serialized (use it for every write). */
  write<T>(work: (tx: EntityManager) => Promise<T>): Promise<T> {
    if (this.dataSource.options.type === 'postgres') return this.dataSource.transaction(work);
    const next = this.writeQueue.then(() => this.dataSource.transaction(work));
    this.writeQueue = next.catch(() => undefined);
    return next;
  }

  // ---- models ----

  async createModel(input: NewModel): Promise<Model> {
    const model = this.dataSource.getRepository(Model).create({
      id: randomUUID(),
      name: input.name,
      owner: input.owner,
      description: input.description ?? null,
      spec: input.spec,
      specHash: input.specHash,
      championVersion: null,
    });
    try {
      return await this.write(async (tx) => {
        const saved = await tx.getRepository(Model).save(model);
        await this.audit(tx, { actor: input.owner, action: 'model.created', entityType: 'model', entityId: saved.name, details: { specHash: input.specHash } });
        return saved;
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new RegistryConflictError(`a model named '${input.name}' already exists`);
      throw err;
    }
  }

  async updateModelSpec(name: string, spec: ModelSpec, specHash: string, actor: string): Promise<Model> {
    return this.write(async (tx) => {
      const model = await tx.getRepository(Model).findOneByOrFail({ name });
      model.spec = spec;
      model.specHash = specHash;
      const saved = await tx.getRepository(Model).save(model);
      await this.audit(tx, { actor, action: 'model.spec_updated', entityType: 'model', entityId: name, details: { specHash } });
      return saved;
    });
  }

  findModelByName(name: string): Promise<Model | null> {
    return this.dataSource.getRepository(Model).findOneBy({ name });
  }

  findModelById(id: string): Promise<Model | null> {
    return this.dataSource.getRepository(Model).findOneBy({ id });
  }

  listModels(): Promise<Model[]> {
    return this.dataSource.getRepository(Model).find({ order: { name: 'ASC' } });
  }

  // ---- datasets ----

  /** Returns the existing snapshot when the same bytes were ingested for this model before. */
  async upsertDataset(input: NewDataset): Promise<{ dataset: DatasetSnapshot; created: boolean }> {
    const repo = this.dataSource.getRepository(DatasetSnapshot);
    const existing = await repo.findOneBy({ modelId: input.modelId, sha256: input.sha256 });
    if (existing) return { dataset: existing, created: false };
    try {
      const dataset = await this.write((tx) => tx.getRepository(DatasetSnapshot).save(
        repo.create({
          id: input.id ?? randomUUID(),
          ...input,
          schema: null,
          rowCount: null,
          profileKey: null,
          validationReportKey: null,
          validationStatus: 'pending',
        }),
      ));
      return { dataset, created: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      return { dataset: await repo.findOneByOrFail({ modelId: input.modelId, sha256: input.sha256 }), created: false };
    }
  }

  async updateDataset(id: string, patch: Partial<Pick<DatasetSnapshot, 'schema' | 'rowCount' | 'profileKey' | 'validationReportKey' | 'validationStatus'>>): Promise<void> {
    await this.write((tx) => tx.getRepository(DatasetSnapshot).update({ id }, patch));
  }

  findDataset(id: string): Promise<DatasetSnapshot | null> {
    return this.dataSource.getRepository(DatasetSnapshot).findOneBy({ id });
  }

  listDatasets(modelId: string): Promise<DatasetSnapshot[]> {
    return this.dataSource.getRepository(DatasetSnapshot).find({ where: { modelId }, order: { createdAt: 'DESC' } });
  }

  /** The schema of the model's most recent validated snapshot other than `excludeId`: the reference for schema-change checks. */
  async previousSchema(modelId: string, excludeId: string): Promise<DatasetSnapshot['schema']> {
    const rows = await this.dataSource
      .getRepository(DatasetSnapshot)
      .createQueryBuilder('d')
      .where('d.modelId = :modelId AND d.id <> :excludeId AND d.schema IS NOT NULL', { modelId, excludeId })
      .andWhere("d.validationStatus IN ('passed', 'warnings')")
      .orderBy('d.createdAt', 'DESC')
      .limit(1)
      .getMany();
    return rows[0]?.schema ?? null;
  }

  // ---- runs ----

  /** Creates the run, or returns the one already created with the same idempotency key (created = false). */
  async createRun(input: NewRun): Promise<{ run: TrainingRun; created: boolean }> {
    const repo = this.dataSource.getRepository(TrainingRun);
    if (input.idempotencyKey) {
      const existing = await repo.findOneBy({ modelId: input.modelId, idempotencyKey: input.idempotencyKey });
      if (existing) return { run: existing, created: false };
    }
    try {
      const run = await this.write(async (tx) => {
        const saved = await tx.getRepository(TrainingRun).save(
          tx.getRepository(TrainingRun).create({
            ...input,
            idempotencyKey: input.idempotencyKey ?? null,
            status: 'queued',
            workflowRunId: null,
            datasetId: null,
            evaluation: null,
            version: null,
            error: null,
            finishedAt: null,
          }),
        );
        await this.audit(tx, { actor: input.requestedBy, action: 'run.requested', entityType: 'run', entityId: saved.id, details: { source: input.source, workflowId: input.workflowId } });
        return saved;
      });
      return { run, created: true };
    } catch (err) {
      if (!isUniqueViolation(err) || !input.idempotencyKey) throw err;
      return { run: await repo.findOneByOrFail({ modelId: input.modelId, idempotencyKey: input.idempotencyKey }), created: false };
    }
  }

  async updateRun(
    id: string,
    patch: Partial<{ status: RunStatus; steps: StepState[]; workflowRunId: string; datasetId: string; evaluation: EvaluationSummary; version: number; error: string | null; finishedAt: Date }>,
  ): Promise<void> {
    await this.write((tx) => tx.getRepository(TrainingRun).update({ id }, patch));
  }

  findRun(id: string): Promise<TrainingRun | null> {
    return this.dataSource.getRepository(TrainingRun).findOneBy({ id });
  }

  listRuns(modelId: string, limit = 100): Promise<TrainingRun[]> {
    return this.dataSource.getRepository(TrainingRun).find({ where: { modelId }, order: { createdAt: 'DESC' }, take: limit });
  }

  // ---- versions ----

  /**
   * Registers the run's version. Idempotent: a retry after a crash finds the version already written for this run.
   * Version numbers are allocated inside the transaction; a concurrent registration for another run that takes the
   * same number makes the unique index fail, and we retry with the next number.
   */
  async registerVersion(input: NewVersion, actor: string): Promise<ModelVersion> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const existing = await this.dataSource.getRepository(ModelVersion).findOneBy({ runId: input.runId });
      if (existing) return existing;
      try {
        return await this.write(async (tx) => {
          const { max } = (await tx
            .getRepository(ModelVersion)
            .createQueryBuilder('v')
            .select('MAX(v.version)', 'max')
            .where('v.modelId = :modelId', { modelId: input.modelId })
            .getRawOne<{ max: number | null }>()) ?? { max: null };
          const version = tx.getRepository(ModelVersion).create({
            id: randomUUID(),
            modelId: input.modelId,
            runId: input.runId,
            version: (Number(max) || 0) + 1,
            status: input.promote ? 'champion' : 'registered',
            metrics: input.metrics,
            lineage: input.lineage,
            artifacts: input.artifacts,
          });
          const saved = await tx.getRepository(ModelVersion).save(version);
          if (input.promote) await tx.getRepository(Model).update({ id: input.modelId }, { championVersion: saved.version });
          await tx.getRepository(TrainingRun).update({ id: input.runId }, { version: saved.version });
          const model = await tx.getRepository(Model).findOneByOrFail({ id: input.modelId });
          await this.audit(tx, {
            actor,
            action: 'version.registered',
            entityType: 'model_version',
            entityId: `${model.name}@${saved.version}`,
            details: { runId: input.runId, promoted: input.promote, datasetSha256: input.lineage.datasetSha256 },
          });
          return saved;
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
      }
    }
    throw new RegistryConflictError(`could not allocate a version number for run ${input.runId}`);
  }

  listVersions(modelId: string): Promise<ModelVersion[]> {
    return this.dataSource.getRepository(ModelVersion).find({ where: { modelId }, order: { version: 'DESC' } });
  }

  findVersion(modelId: string, version: number): Promise<ModelVersion | null> {
    return this.dataSource.getRepository(ModelVersion).findOneBy({ modelId, version });
  }

  async findChampion(modelId: string): Promise<ModelVersion | null> {
    const model = await this.findModelById(modelId);
    if (!model?.championVersion) return null;
    return this.findVersion(modelId, model.championVersion);
  }

  // ---- API keys ----

  /** Stores a key (its hash only) and audits who created it for whom, in one transaction. */
  async createApiKey(input: NewApiKey, actor: string): Promise<ApiKey> {
    try {
      return await this.write(async (tx) => {
        const repo = tx.getRepository(ApiKey);
        const saved = await repo.save(repo.create({ id: randomUUID(), ...input, createdBy: actor, revokedAt: null }));
        await this.audit(tx, {
          actor,
          action: 'api_key.created',
          entityType: 'api_key',
          entityId: saved.id,
          details: { identity: saved.identity, roles: saved.roles, prefix: saved.prefix },
        });
        return saved;
      });
    } catch (err) {
      // Two random 32-byte keys do not collide; a duplicate hash means the same key was submitted twice.
      if (isUniqueViolation(err)) throw new RegistryConflictError('this API key is already registered');
      throw err;
    }
  }

  findApiKeyByHash(keyHash: string): Promise<ApiKey | null> {
    return this.dataSource.getRepository(ApiKey).findOneBy({ keyHash });
  }

  findApiKey(id: string): Promise<ApiKey | null> {
    return this.dataSource.getRepository(ApiKey).findOneBy({ id });
  }

  listApiKeys(): Promise<ApiKey[]> {
    return this.dataSource.getRepository(ApiKey).find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  /**
   * Revokes a key (null when there is none with this id). Idempotent: revoking a revoked key changes nothing and
   * writes no second event.
   */
  async revokeApiKey(id: string, actor: string): Promise<ApiKey | null> {
    return this.write(async (tx) => {
      const repo = tx.getRepository(ApiKey);
      const key = await repo.findOneBy({ id });
      if (!key || key.revokedAt) return key;
      key.revokedAt = new Date();
      const saved = await repo.save(key);
      await this.audit(tx, { actor, action: 'api_key.revoked', entityType: 'api_key', entityId: id, details: { identity: key.identity, prefix: key.prefix } });
      return saved;
    });
  }

  // ---- serving: deployments as replicas read them, replica reports, traffic windows (libs/serving) ----

  /** Every model's desired routing. */
  listDeployments(): Promise<Deployment[]> {
    return this.dataSource.getRepository(Deployment).find();
  }

  findDeployment(modelId: string): Promise<Deployment | null> {
    return this.dataSource.getRepository(Deployment).findOneBy({ modelId });
  }

  /** Models a serving replica may have to serve: id, name and champion only (the spec stays in the database). */
  listModelHeads(): Promise<Pick<Model, 'id' | 'name' | 'championVersion'>[]> {
    return this.dataSource.getRepository(Model).find({ select: { id: true, name: true, championVersion: true } });
  }

  /** One replica's report for each model it serves, written together (one transaction per reconcile tick). */
  async reportReplicaStatus(replicaId: string, reports: ReplicaReport[], at = new Date()): Promise<void> {
    await this.write((tx) =>
      tx.getRepository(ReplicaStatus).upsert(
        reports.map((r) => ({ replicaId, modelId: r.modelId, revision: r.revision, loadedVersions: r.loadedVersions, ready: r.ready, error: r.error, reportedAt: at })),
        ['replicaId', 'modelId'],
      ),
    );
  }

  /** A replica leaving cleanly withdraws its reports, so rollouts stop waiting for it at once. */
  async removeReplicaStatus(replicaId: string, modelIds?: string[]): Promise<void> {
    await this.write(async (tx) => {
      const repo = tx.getRepository(ReplicaStatus);
      if (!modelIds) await repo.delete({ replicaId });
      else for (const modelId of modelIds) await repo.delete({ replicaId, modelId });
    });
  }

  /** A model's reports (not the replicas' heartbeat rows). */
  listReplicaStatus(modelId: string): Promise<ReplicaStatus[]> {
    return this.dataSource.getRepository(ReplicaStatus).find({ where: { modelId }, order: { replicaId: 'ASC' } });
  }

  /**
   * Whether every live serving replica routes `modelId` by `revision` (or a later one) with all its versions
   * loaded. A replica is live when it reported anything within `staleAfterMs` (replicas report every reconcile
   * tick, ~0.5 s, including a heartbeat row under REPLICA_HEARTBEAT_MODEL_ID, so a replica that has not picked up a
   * new model yet still counts, as lagging); a crashed one stops reporting and drops out after that time. No live
   * replica at all counts as converged (nothing serves the model, so nothing lags); `liveReplicas` tells the two
   * cases apart. Reports carry the replica's clock, so keep `staleAfterMs` well above clock skew.
   */
  async deploymentConvergence(modelId: string, revision: number, staleAfterMs: number, now = new Date()): Promise<DeploymentConvergence> {
    const rows = await this.dataSource.getRepository(ReplicaStatus).find({ where: { modelId: In([modelId, REPLICA_HEARTBEAT_MODEL_ID]) }, order: { replicaId: 'ASC' } });
    const fresh = (r: ReplicaStatus) => now.getTime() - new Date(r.reportedAt).getTime() <= staleAfterMs;
    const live: ReplicaView[] = [];
    for (const replicaId of [...new Set(rows.filter(fresh).map((r) => r.replicaId))]) {
      const own = rows.find((r) => r.replicaId === replicaId && r.modelId === modelId && fresh(r));
      const heartbeat = rows.find((r) => r.replicaId === replicaId && r.modelId === REPLICA_HEARTBEAT_MODEL_ID)!;
      live.push(
        own
          ? { replicaId, revision: own.revision, ready: Boolean(own.ready), loadedVersions: own.loadedVersions, error: own.error, reportedAt: new Date(own.reportedAt) }
          : { replicaId, revision: -1, ready: false, loadedVersions: [], error: 'has not picked up this model yet', reportedAt: new Date(heartbeat.reportedAt) },
      );
    }
    const lagging = live.filter((r) => r.revision < revision || !r.ready);
    return { modelId, revision, converged: lagging.length === 0, liveReplicas: live, laggingReplicas: lagging };
  }

  /** Appends a replica's traffic windows (one row per version and kind). */
  async recordServingStats(replicaId: string, windows: StatsWindow[]): Promise<void> {
    if (!windows.length) return;
    await this.write((tx) =>
      tx.getRepository(ServingStats).insert(
        windows.map((w) => ({
          modelId: w.modelId,
          version: w.version,
          replicaId,
          kind: w.kind,
          windowStart: w.windowStart,
          requests: w.requests,
          errors: w.errors,
          latencyBuckets: w.latencyBuckets,
          predictions: w.predictions,
          agreements: w.agreements,
        })),
      ),
    );
  }

  /**
   * A model's traffic since `since` (window start, inclusive) summed over replicas, per version and kind: requests,
   * errors and error rate, p50/p99 latency, prediction distribution, and for shadow traffic the agreement rate.
   * What rollout guardrails compare (see jensenShannonDistance in libs/serving/stats.ts for the divergence).
   */
  async servingTraffic(modelId: string, since: Date, until?: Date): Promise<VersionTraffic[]> {
    const q = this.dataSource
      .getRepository(ServingStats)
      .createQueryBuilder('s')
      .where('s.modelId = :modelId', { modelId })
      .andWhere('s.windowStart >= :since', { since });
    if (until) q.andWhere('s.windowStart < :until', { until });
    return summarizeWindows(await q.getMany());
  }

  /** Drops traffic windows older than `before` and replica reports not renewed since then; returns rows deleted. */
  async pruneServingHistory(before: Date): Promise<number> {
    return this.write(async (tx) => {
      const stats = await tx.getRepository(ServingStats).createQueryBuilder().delete().where('windowStart < :before', { before }).execute();
      const replicas = await tx.getRepository(ReplicaStatus).createQueryBuilder().delete().where('reportedAt < :before', { before }).execute();
      return (stats.affected ?? 0) + (replicas.affected ?? 0);
    });
  }

  // ---- monitoring: window reports, ground truth, alerts and their webhook deliveries ----

  /** Writes a window's report; a retry (same id, same window) replaces the row instead of adding one. */
  async saveMonitoringReport(input: NewMonitoringReport): Promise<MonitoringReport> {
    return this.write(async (tx) => {
      const repo = tx.getRepository(MonitoringReport);
      const existing = await repo.findOneBy({ id: input.id });
      const row = repo.create({ ...input, ...(existing ? { createdAt: existing.createdAt } : {}) });
      return repo.save(row);
    });
  }

  findMonitoringReport(modelId: string, id: string): Promise<MonitoringReport | null> {
    return this.dataSource.getRepository(MonitoringReport).findOneBy({ modelId, id });
  }

  /** A model's reports, the latest window first. */
  listMonitoringReports(modelId: string, limit = 50): Promise<MonitoringReport[]> {
    return this.dataSource.getRepository(MonitoringReport).find({ where: { modelId }, order: { windowEnd: 'DESC', id: 'ASC' }, take: limit });
  }

  /**
   * Stores ground truth by request ID. The first answer for a request stands: the same answer again counts as a
   * duplicate, a different one as a conflict (returned, never applied), so a resent batch changes nothing.
   */
  async recordFeedback(modelId: string, items: NewFeedback[], actor: string, at = new Date()): Promise<FeedbackOutcome> {
    const outcome: FeedbackOutcome = { accepted: 0, duplicates: 0, conflicts: [] };
    const same = (a: Pick<Feedback, 'label' | 'value'>, b: NewFeedback) => (a.label ?? null) === (b.label ?? null) && (a.value ?? null) === (b.value ?? null);
    // Later items for the same request in one batch are judged against the first, as a second batch would be.
    const firsts = new Map<string, NewFeedback>();
    for (const item of items) {
      const first = firsts.get(item.requestId);
      if (!first) firsts.set(item.requestId, item);
      else if (same({ label: first.label ?? null, value: first.value ?? null }, item)) outcome.duplicates++;
      else outcome.conflicts.push({ requestId: item.requestId, existing: { label: first.label ?? null, value: first.value ?? null } });
    }
    const unique = [...firsts.values()];
    for (let i = 0; i < unique.length; i += FEEDBACK_CHUNK) {
      const chunk = unique.slice(i, i + FEEDBACK_CHUNK);
      const insert = async (): Promise<void> => {
        const existing = new Map((await this.findFeedback(modelId, chunk.map((c) => c.requestId))).map((f) => [f.requestId, f]));
        const fresh: NewFeedback[] = [];
        for (const item of chunk) {
          const prior = existing.get(item.requestId);
          if (!prior) fresh.push(item);
          else if (same(prior, item)) outcome.duplicates++;
          else outcome.conflicts.push({ requestId: item.requestId, existing: { label: prior.label, value: prior.value } });
        }
        if (!fresh.length) return;
        await this.write((tx) =>
          tx.getRepository(Feedback).insert(
            fresh.map((f) => ({ modelId, requestId: f.requestId, label: f.label ?? null, value: f.value ?? null, receivedAt: at, receivedBy: actor })),
          ),
        );
        outcome.accepted += fresh.length;
      };
      try {
        await insert();
      } catch (err) {
        // A concurrent batch wrote some of these requests between our read and our insert: judge them again.
        if (!isUniqueViolation(err)) throw err;
        await insert();
      }
    }
    return outcome;
  }

  /** The stored answers for these requests (any order). */
  async findFeedback(modelId: string, requestIds: string[]): Promise<Feedback[]> {
    const out: Feedback[] = [];
    const ids = [...new Set(requestIds)];
    for (let i = 0; i < ids.length; i += FEEDBACK_CHUNK) {
      out.push(...(await this.dataSource.getRepository(Feedback).findBy({ modelId, requestId: In(ids.slice(i, i + FEEDBACK_CHUNK)) })));
    }
    return out;
  }

  /**
   * Records an alert and its audit event (`monitoring.alert`) once: the caller derives the id from the report and
   * the kind, so a retried window finds its alert instead of raising a second one. `created` is false then.
   */
  async raiseAlert(input: NewAlert): Promise<{ alert: Alert; created: boolean }> {
    const repo = this.dataSource.getRepository(Alert);
    const existing = await repo.findOneBy({ id: input.id });
    if (existing) return { alert: existing, created: false };
    try {
      const alert = await this.write(async (tx) => {
        const saved = await tx.getRepository(Alert).save(
          tx.getRepository(Alert).create({ id: input.id, modelId: input.modelId, reportId: input.reportId, kind: input.kind, reason: input.reason }),
        );
        await this.audit(tx, {
          actor: input.actor ?? 'system:monitoring',
          action: 'monitoring.alert',
          entityType: 'model',
          entityId: input.modelName,
          details: { alertId: input.id, reportId: input.reportId, kind: input.kind, reason: input.reason, ...input.details },
          dedupeKey: `monitoring.alert:${input.id}`,
        });
        return saved;
      });
      return { alert, created: true };
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      return { alert: await repo.findOneByOrFail({ id: input.id }), created: false };
    }
  }

  findAlert(id: string): Promise<Alert | null> {
    return this.dataSource.getRepository(Alert).findOneBy({ id });
  }

  /** A model's alerts, newest first. */
  listAlerts(modelId: string, limit = 100): Promise<Alert[]> {
    return this.dataSource.getRepository(Alert).find({ where: { modelId }, order: { createdAt: 'DESC', id: 'ASC' }, take: limit });
  }

  listAlertsOfReport(reportId: string): Promise<Alert[]> {
    return this.dataSource.getRepository(Alert).find({ where: { reportId }, order: { kind: 'ASC' } });
  }

  /** Counts one delivery attempt of an alert to a URL with its outcome; a success sets deliveredAt. */
  async recordWebhookAttempt(input: WebhookAttempt): Promise<WebhookDelivery> {
    return this.write(async (tx) => {
      const repo = tx.getRepository(WebhookDelivery);
      const row = (await repo.findOneBy({ alertId: input.alertId, url: input.url })) ??
        repo.create({ alertId: input.alertId, url: input.url, attempts: 0, lastStatus: null, lastError: null, lastAttemptAt: null, deliveredAt: null });
      row.attempts += 1;
      row.lastStatus = input.status;
      row.lastError = input.error;
      row.lastAttemptAt = input.at ?? new Date();
      if (input.delivered && !row.deliveredAt) row.deliveredAt = row.lastAttemptAt;
      return repo.save(row);
    });
  }

  findWebhookDelivery(alertId: string, url: string): Promise<WebhookDelivery | null> {
    return this.dataSource.getRepository(WebhookDelivery).findOneBy({ alertId, url });
  }

  listWebhookDeliveries(alertIds: string[]): Promise<WebhookDelivery[]> {
    if (!alertIds.length) return Promise.resolve([]);
    return this.dataSource.getRepository(WebhookDelivery).findBy({ alertId: In(alertIds) });
  }

  // ---- audit ----

  async appendAudit(entry: AuditEntry): Promise<void> {
    // On PostgreSQL a failed insert poisons its transaction, so a deduplicated event is written on its own.
    if (this.dataSource.options.type === 'postgres') await this.audit(this.dataSource.manager, entry);
    else await this.write((tx) => this.audit(tx, entry));
  }

  listAudit(filter: { entityType?: string; entityId?: string; limit?: number } = {}): Promise<AuditEvent[]> {
    const where: Record<string, string> = {};
    if (filter.entityType) where.entityType = filter.entityType;
    if (filter.entityId) where.entityId = filter.entityId;
    return this.dataSource.getRepository(AuditEvent).find({ where, order: { id: 'DESC' }, take: filter.limit ?? 200 });
  }

  private async audit(manager: EntityManager, entry: AuditEntry): Promise<void> {
    try {
      const repo = manager.getRepository(AuditEvent);
      await repo.save(
        repo.create({
          actor: entry.actor,
          action: entry.action,
          entityType: entry.entityType,
          entityId: entry.entityId,
          details: entry.details ?? null,
          dedupeKey: entry.dedupeKey ?? null,
        }),
      );
    } catch (err) {
      // A retried activity writing the same event again is fine; anything else is a real failure.
      if (!(entry.dedupeKey && isUniqueViolation(err))) throw err;
    }
  }
}

// ---- serving types (the serving section of RegistryService) ----

/**
 * The replica_status row each serving replica writes every tick whatever it serves (its heartbeat), so that
 * deploymentConvergence sees a live replica that has not picked up a new model yet.
 */
export const REPLICA_HEARTBEAT_MODEL_ID = '*';

/** What a serving replica reports for one model every reconcile tick. */
export interface ReplicaReport {
  modelId: string;
  /** the deployment revision it routes by (0: champion only, no deployment row; -1: nothing applied yet) */
  revision: number;
  loadedVersions: number[];
  /** routing applied and every version it names loaded */
  ready: boolean;
  error: string | null;
}

export interface ReplicaView {
  replicaId: string;
  revision: number;
  ready: boolean;
  loadedVersions: number[];
  error: string | null;
  reportedAt: Date;
}

export interface DeploymentConvergence {
  modelId: string;
  revision: number;
  /** every live replica at `revision` or later and ready (true with no live replica) */
  converged: boolean;
  liveReplicas: ReplicaView[];
  /** live replicas still on an older revision or not ready (their `error` says why, when there is one) */
  laggingReplicas: ReplicaView[];
}

// ---- monitoring types (the monitoring section of RegistryService) ----

/** Request IDs per query or insert: well under every driver's limit on bound parameters. */
const FEEDBACK_CHUNK = 500;

export interface NewMonitoringReport {
  /** derived from model and window (see monitoringReportId in activities/monitoring) */
  id: string;
  modelId: string;
  windowStart: Date;
  windowEnd: Date;
  championVersion: number | null;
  samples: number;
  status: MonitoringReportStatus;
  datasetDrift: boolean | null;
  driftedColumns: string[];
  summary: Record<string, unknown>;
  artifactKey: string;
}

/** Ground truth for one request: `label` for classification, `value` for regression. */
export interface NewFeedback {
  requestId: string;
  label?: string | null;
  value?: number | null;
}

export interface FeedbackOutcome {
  /** newly stored */
  accepted: number;
  /** the same answer as the one stored (or sent earlier in the batch): nothing changed */
  duplicates: number;
  /** a different answer than the one stored: the stored one stands */
  conflicts: { requestId: string; existing: { label: string | null; value: number | null } }[];
}

export interface NewAlert {
  id: string;
  modelId: string;
  modelName: string;
  reportId: string;
  kind: AlertKind;
  reason: string;
  actor?: string;
  details?: Record<string, unknown>;
}

export interface WebhookAttempt {
  alertId: string;
  url: string;
  /** the HTTP status, null when no answer came */
  status: number | null;
  error: string | null;
  delivered: boolean;
  at?: Date;
}
