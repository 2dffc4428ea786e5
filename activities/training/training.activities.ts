/**
 * The training pipeline's side effects. Every method is idempotent: data and models are content-addressed in
 * MinIO (the same bytes land on the same key once), registry writes use caller-chosen ids and unique constraints,
 * and trainers are deterministic given the seed, so a retry after a crash reproduces what was lost and nothing more.
 * User-fixable problems become non-retryable ApplicationFailures whose type and details say what to fix.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ArtifactCorruptError, PayloadTooLargeError } from '../../libs/artifacts';
import type { StoredObject , ArtifactStore} from '../../libs/artifacts';
import type { AppConfig } from '../../libs/config';
import { FAILURE_TYPES } from '../../libs/contracts';
import type { CandidateSummary, EvaluationSummary, RunStatus, StepState } from '../../libs/contracts';
import { coerceToSchema, DataReadError, formatFromName, inferTable, profileTable, readDatasetFile, splitRows, validateDataset } from '../../libs/ml/data';
import type { FeatureColumn, Prediction, TypedTable } from '../../libs/ml/data/types';
import { FeatureResolutionError, resolveFeatures } from '../../libs/ml/features';
import { classificationMetrics, majorityClassBaseline, meanBaseline, regressionMetrics } from '../../libs/ml/metrics';
import { runOnnxModel } from '../../libs/ml/onnx';
import { ExternalTrainerError, loadExternalTrainerRegistry, runExternalTrainer } from '../../libs/ml/external';
import type { ExternalTrainerRegistry } from '../../libs/ml/external';
import { BUILTIN_TRAINERS, trainInWorkerThread } from '../../libs/ml/trainers';
import { isBetter, LOWER_IS_BETTER } from '../../libs/ml/spec';
import type { ModelSpec } from '../../libs/ml/spec';
import type { ArtifactRef, DatasetSnapshot, RegistryService } from '../../libs/registry';

export interface TrainingActivityDeps {
  config: AppConfig;
  registry: RegistryService;
  store: ArtifactStore;
}

export interface IngestResult {
  datasetId: string;
  sha256: string;
  objectKey: string;
  format: string;
  sizeBytes: number;
  source: string;
}

export interface SplitResult {
  splitKey: string;
  splitSha256: string;
  membershipHash: string;
  seed: number;
  counts: { train: number; validation: number; test: number };
}

export interface EvaluationResult {
  summary: EvaluationSummary;
  metrics: Record<string, unknown>;
  reportSha256: string;
  championVersion?: number;
}

export interface RegisterInput {
  runId: string;
  modelId: string;
  requestedBy: string;
  specHash: string;
  dataset: IngestResult;
  validationReportKey: string;
  profileKey: string;
  split: SplitResult;
  candidate: CandidateSummary;
  evaluation: EvaluationResult;
  workflowId: string;
  workflowRunId: string;
  /** set the champion alias now; false when a rollout will promote the version after approval */
  promote?: boolean;
}

interface StoredSplit {
  seed: number;
  membershipHash: string;
  train: number[];
  validation: number[];
  test: number[];
}

const FORMAT_EXT: Record<string, string> = { csv: '.csv', jsonl: '.jsonl', parquet: '.parquet' };

/** Bounded in-memory cache of parsed tables: the same snapshot is read by several consecutive steps. */
class TableCache {
  private readonly entries = new Map<string, Promise<TypedTable>>();
  constructor(private readonly capacity = 2) {}
  get(key: string, load: () => Promise<TypedTable>): Promise<TypedTable> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const loading = load();
    loading.catch(() => this.entries.delete(key));
    this.entries.set(key, loading);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return loading;
  }
}

export class TrainingActivities {
  private readonly tables = new TableCache();
  private externalTrainers?: ExternalTrainerRegistry;
  private readonly codeVersion = detectCodeVersion();

  constructor(private readonly deps: TrainingActivityDeps) {}

  private get registry(): RegistryService {
    return this.deps.registry;
  }
  private get store(): ArtifactStore {
    return this.deps.store;
  }

  // ---------------------------------------------------------------- bookkeeping

  async markRunStarted(input: { runId: string; workflowRunId: string }): Promise<void> {
    await this.registry.updateRun(input.runId, { status: 'running', workflowRunId: input.workflowRunId });
  }

  async recordRunProgress(input: { runId: string; steps: StepState[]; status: RunStatus }): Promise<void> {
    await this.registry.updateRun(input.runId, { steps: input.steps, status: input.status });
  }

  async finishRun(input: {
    runId: string;
    status: RunStatus;
    steps: StepState[];
    evaluation?: EvaluationSummary;
    version?: number;
    error?: string;
  }): Promise<void> {
    await this.registry.updateRun(input.runId, {
      status: input.status,
      steps: input.steps,
      ...(input.evaluation ? { evaluation: input.evaluation } : {}),
      ...(input.version !== undefined ? { version: input.version } : {}),
      error: input.error ?? null,
      finishedAt: new Date(),
    });
    await this.registry.appendAudit({
      actor: 'system:training-pipeline',
      action: `run.${input.status}`,
      entityType: 'run',
      entityId: input.runId,
      details: { version: input.version, error: input.error, passed: input.evaluation?.passed, reasons: input.evaluation?.reasons },
      dedupeKey: `run.finished:${input.runId}`,
    });
  }

  // ---------------------------------------------------------------- ingest

  async ingestDataset(input: { runId: string; modelId: string; source: string; formatHint?: string }): Promise<IngestResult> {
    const { source } = input;
    if (source.startsWith('dataset:') || source.startsWith('upload:')) {
      const id = source.slice(source.indexOf(':') + 1);
      const dataset = await this.registry.findDataset(id);
      if (!dataset || dataset.modelId !== input.modelId) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.sourceNotFound,
          message: `dataset ${id} does not exist for this model; upload it with POST /v1/models/{name}/datasets first`,
          nonRetryable: true,
        });
      }
      return toIngestResult(dataset);
    }

    const { stream, format } = await this.openSource(source, input.formatHint);
    const heartbeat = startHeartbeat(() => ({ stage: 'ingest' }));
    let stored: StoredObject;
    try {
      stored = await this.store.putStreamContentAddressed(stream, 'datasets', FORMAT_EXT[format], {
        tmpDir: path.join(this.deps.config.workDir, 'ingest'),
        maxBytes: this.deps.config.uploadMaxBytes,
        contentType: contentTypeOf(format),
      });
    } catch (err) {
      if (err instanceof PayloadTooLargeError) {
        throw ApplicationFailure.create({ type: FAILURE_TYPES.dataUnreadable, message: err.message, nonRetryable: true });
      }
      throw err;
    } finally {
      heartbeat.stop();
    }
    if (stored.sizeBytes === 0) {
      throw ApplicationFailure.create({ type: FAILURE_TYPES.dataUnreadable, message: `the source ${source} is empty`, nonRetryable: true });
    }
    const { dataset } = await this.registry.upsertDataset({
      modelId: input.modelId,
      sha256: stored.sha256,
      source,
      format,
      objectKey: stored.key,
      sizeBytes: stored.sizeBytes,
    });
    return toIngestResult(dataset);
  }

  private async openSource(source: string, formatHint?: string): Promise<{ stream: Readable; format: string }> {
    const format = formatHint ?? formatFromName(source);
    if (source.startsWith('s3://')) {
      const rest = source.slice('s3://'.length);
      const bucket = rest.slice(0, rest.indexOf('/'));
      const key = rest.slice(rest.indexOf('/') + 1);
      try {
        return { stream: await this.store.client.getObject(bucket, key), format };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket') {
          throw ApplicationFailure.create({ type: FAILURE_TYPES.sourceNotFound, message: `${source} does not exist (${code})`, nonRetryable: true });
        }
        throw err;
      }
    }
    if (/^https?:\/\//.test(source)) {
      const url = new URL(source);
      if (!this.deps.config.httpAllowlist.includes(url.hostname.toLowerCase())) {
        throw ApplicationFailure.create({
          type: FAILURE_TYPES.sourceNotAllowed,
          message: `host '${url.hostname}' is not in MLCYCLE_HTTP_ALLOWLIST; ask an operator to allow it or upload the file instead`,
          nonRetryable: true,
        });
      }
      const response = await fetch(url, { redirect: 'error' });
      if (response.status === 404 || response.status === 410) {
        throw ApplicationFailure.create({ type: FAILURE_TYPES.sourceNotFound, message: `${source} answered ${response.status}`, nonRetryable: true });
      }
      if (!response.ok || !response.body) throw new Error(`${source} answered ${response.status}; will retry`);
      return { stream: Readable.fromWeb(response.body as never), format };
    }
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.sourceNotFound,
      message: `unsupported source '${source}': use s3://bucket/key, an allowed http(s) URL, or dataset:<id>`,
      nonRetryable: true,
    });
  }

  // ---------------------------------------------------------------- validate, profile, split

  async validateDataset(input: { datasetId: string; modelId: string; spec: ModelSpec }): Promise<{ reportKey: string; warnings: number; rowCount: number }> {
    const dataset = await this.dataset(input.datasetId);
    const table = await this.loadTable(dataset, { inferFresh: true });
    const previous = await this.registry.previousSchema(input.modelId, dataset.id);
    const report = validateDataset(table, input.spec, previous ?? undefined);
    const stored = await this.store.putJsonContentAddressed({ datasetId: dataset.id, sha256: dataset.sha256, ...report }, 'reports/validation');
    await this.registry.updateDataset(dataset.id, {
      schema: report.schema,
      rowCount: report.rowCount,
      validationReportKey: stored.key,
      validationStatus: report.ok ? (report.warnings.length ? 'warnings' : 'passed') : 'failed',
    });
    if (!report.ok) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.dataValidationFailed,
        message: validationFailureMessage(report.errors, report.schema.columns.map((c) => c.name)),
        details: [{ reportKey: stored.key, errors: report.errors, warnings: report.warnings }],
        nonRetryable: true,
      });
    }
    return { reportKey: stored.key, warnings: report.warnings.length, rowCount: report.rowCount };
  }

  async profileDataset(input: { datasetId: string; spec: ModelSpec }): Promise<{ profileKey: string; profileSha256: string }> {
    const dataset = await this.dataset(input.datasetId);
    const table = await this.loadTable(dataset);
    const features = this.features(table, input.spec);
    const profile = profileTable(table, features.map((f) => f.name).concat(input.spec.target));
    const stored = await this.store.putJsonContentAddressed({ datasetId: dataset.id, sha256: dataset.sha256, ...profile }, 'profiles');
    await this.registry.updateDataset(dataset.id, { profileKey: stored.key });
    return { profileKey: stored.key, profileSha256: stored.sha256 };
  }

  async splitDataset(input: { datasetId: string; spec: ModelSpec }): Promise<SplitResult> {
    const dataset = await this.dataset(input.datasetId);
    const table = await this.loadTable(dataset);
    const { split } = input.spec;
    const isClassification = input.spec.task !== 'regression';
    const parts = splitRows({
      rowCount: table.rowCount,
      labels: targetLabels(table, input.spec.target),
      fractions: { train: split.train, validation: split.validation, test: split.test },
      seed: split.seed,
      stratify: isClassification && split.stratify,
    });
    const body: StoredSplit = {
      seed: split.seed,
      membershipHash: parts.membershipHash,
      train: Array.from(parts.train),
      validation: Array.from(parts.validation),
      test: Array.from(parts.test),
    };
    const stored = await this.store.putJsonContentAddressed(body, 'splits');
    return {
      splitKey: stored.key,
      splitSha256: stored.sha256,
      membershipHash: parts.membershipHash,
      seed: split.seed,
      counts: { train: parts.train.length, validation: parts.validation.length, test: parts.test.length },
    };
  }

  // ---------------------------------------------------------------- train, evaluate

  async trainCandidate(input: {
    runId: string;
    candidateIndex: number;
    datasetId: string;
    splitKey: string;
    spec: ModelSpec;
    params: Record<string, number | string | boolean>;
  }): Promise<CandidateSummary> {
    const ctx = Context.current();
    const dataset = await this.dataset(input.datasetId);
    const table = await this.loadTable(dataset);
    const split = await this.store.getJson<StoredSplit>(input.splitKey);
    const features = this.features(table, input.spec);
    const trainerName = input.spec.trainer.name;
    const trainRows = Uint32Array.from(split.train);
    const validRows = Uint32Array.from(split.validation);
    let progress = { fraction: 0, message: 'starting' };
    const heartbeat = startHeartbeat(() => ({ candidate: input.candidateIndex, ...progress }));

    let onnx: Uint8Array;
    let params: Record<string, number | string | boolean> = input.params;
    try {
      if (BUILTIN_TRAINERS.includes(trainerName)) {
        const trained = await trainInWorkerThread(
          {
            table,
            features,
            target: input.spec.target,
            task: input.spec.task,
            trainRows,
            validRows,
            params: input.params,
            seed: input.spec.split.seed,
            trainerName,
          },
          (fraction: number, message: string) => {
            progress = { fraction, message };
          },
          ctx.cancellationSignal,
        );
        onnx = trained.onnx;
        params = trained.params;
      } else {
        onnx = await this.trainExternal(trainerName, table, features, input, trainRows, validRows, ctx.cancellationSignal);
      }
    } catch (err) {
      throw toApplicationFailure(err);
    } finally {
      heartbeat.stop();
    }

    const stored = await this.store.putBytesContentAddressed(onnx, 'models', '.onnx', 'application/octet-stream');
    let validationPrediction: Prediction;
    try {
      validationPrediction = await runOnnxModel(onnx, table, validRows, features);
    } catch (err) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.invalidModelArtifact,
        message: `the trained model could not be run with onnxruntime: ${(err as Error).message}`,
        nonRetryable: true,
      });
    }
    const metrics = this.metrics(input.spec, table, validRows, validationPrediction);
    const primary = input.spec.evaluation.primaryMetric;
    const value = Number(metrics[primary]);
    return {
      trainer: trainerName,
      params,
      // Higher is better for every score, so the workflow can pick the maximum without knowing the metric.
      validationScore: LOWER_IS_BETTER.has(primary) ? -value : value,
      modelKey: stored.key,
      sha256: stored.sha256,
    };
  }

  private async trainExternal(
    trainerName: string,
    table: TypedTable,
    features: FeatureColumn[],
    input: { runId: string; candidateIndex: number; spec: ModelSpec; params: Record<string, number | string | boolean> },
    trainRows: Uint32Array,
    validRows: Uint32Array,
    signal: AbortSignal,
  ): Promise<Uint8Array> {
    const registry = this.externalTrainerRegistry();
    const trainer = registry[trainerName];
    if (!trainer) {
      throw ApplicationFailure.create({
        type: FAILURE_TYPES.unknownTrainer,
        message: `unknown trainer '${trainerName}'; built-in trainers: ${BUILTIN_TRAINERS.join(', ')}; external trainers registered on this worker: ${Object.keys(registry).join(', ') || 'none'}`,
        nonRetryable: true,
      });
    }
    const workDir = path.join(this.deps.config.workDir, 'external', `${input.runId}-${input.candidateIndex}`);
    await fsp.rm(workDir, { recursive: true, force: true });
    await fsp.mkdir(workDir, { recursive: true });
    const columns = [...features.map((f) => f.name), input.spec.target];
    const trainPath = path.join(workDir, 'train.csv');
    const validationPath = path.join(workDir, 'validation.csv');
    await writeCsv(trainPath, table, columns, trainRows);
    await writeCsv(validationPath, table, columns, validRows);
    try {
      const result = await runExternalTrainer({
        command: trainer.command,
        workDir,
        trainPath,
        validationPath,
        params: input.params,
        spec: { task: input.spec.task, target: input.spec.target, features },
        timeoutMs: 6 * 3600_000,
        onHeartbeat: () => Context.current().heartbeat({ candidate: input.candidateIndex, stage: 'external' }),
        signal,
      });
      return result.onnx;
    } finally {
      await fsp.rm(workDir, { recursive: true, force: true });
    }
  }

  async evaluateCandidate(input: {
    runId: string;
    modelId: string;
    datasetId: string;
    splitKey: string;
    spec: ModelSpec;
    candidate: CandidateSummary;
  }): Promise<EvaluationResult> {
    const { spec } = input;
    const dataset = await this.dataset(input.datasetId);
    const table = await this.loadTable(dataset);
    const split = await this.store.getJson<StoredSplit>(input.splitKey);
    const features = this.features(table, spec);
    const testRows = Uint32Array.from(split.test);
    const trainRows = Uint32Array.from(split.train);
    const heartbeat = startHeartbeat(() => ({ stage: 'evaluate' }));
    try {
      const modelBytes = await this.store.getBytes(input.candidate.modelKey, input.candidate.sha256);
      const candidatePrediction = await runOnnxModel(modelBytes, table, testRows, features);
      const candidateMetrics = this.metrics(spec, table, testRows, candidatePrediction);
      const baselineMetrics = this.metrics(
        spec,
        table,
        testRows,
        this.baselinePrediction(spec, table, trainRows, testRows, candidatePrediction.classes ?? []),
      );

      // The champion is scored on exactly the same held-out rows, so the comparison is like for like.
      const champion = await this.registry.findChampion(input.modelId);
      let championMetrics: Record<string, unknown> | undefined;
      let championError: string | undefined;
      if (champion) {
        const artifact = champion.artifacts.find((a) => a.kind === 'model');
        try {
          if (!artifact) throw new Error('it has no model artifact');
          const bytes = await this.store.getBytes(artifact.key, artifact.sha256);
          championMetrics = this.metrics(spec, table, testRows, await runOnnxModel(bytes, table, testRows, features));
        } catch (err) {
          if (err instanceof ArtifactCorruptError) throw err;
          championError = `champion v${champion.version} could not be scored on this data: ${(err as Error).message}`;
        }
      }

      const metric = spec.evaluation.primaryMetric;
      const value = Number(candidateMetrics[metric]);
      const baseline = Number(baselineMetrics[metric]);
      const reasons: string[] = [];
      let passed = Number.isFinite(value);
      if (!Number.isFinite(value)) reasons.push(`${metric} could not be computed on the test split`);
      if (spec.evaluation.minimum !== undefined) {
        const ok = isBetter(metric, value, spec.evaluation.minimum);
        passed &&= ok;
        reasons.push(`${metric} ${fmt(value)} ${ok ? 'meets' : 'misses'} the ${LOWER_IS_BETTER.has(metric) ? 'maximum' : 'minimum'} of ${spec.evaluation.minimum}`);
      }
      if (spec.evaluation.mustBeatBaseline) {
        const ok = value !== baseline && isBetter(metric, value, baseline);
        passed &&= ok;
        reasons.push(`${metric} ${fmt(value)} ${ok ? 'beats' : 'does not beat'} the trivial baseline (${fmt(baseline)})`);
      }
      if (championMetrics && champion) {
        const championValue = Number(championMetrics[metric]);
        const margin = spec.evaluation.championMargin;
        // A tie is not a win: re-registering an equal model would churn the champion for nothing.
        const ok = isBetter(metric, value, championValue, margin) && value !== championValue;
        passed &&= ok;
        reasons.push(
          `${metric} ${fmt(value)} ${ok ? 'beats' : 'does not beat'} champion v${champion.version} (${fmt(championValue)}) by the required margin ${margin}`,
        );
      } else if (championError) {
        reasons.push(`${championError}; the champion comparison was skipped`);
      }

      const report = {
        runId: input.runId,
        datasetId: dataset.id,
        datasetSha256: dataset.sha256,
        splitMembershipHash: split.membershipHash,
        testRows: testRows.length,
        primaryMetric: metric,
        policy: spec.evaluation,
        candidate: { trainer: input.candidate.trainer, params: input.candidate.params, modelSha256: input.candidate.sha256, metrics: candidateMetrics },
        baseline: { kind: spec.task === 'regression' ? 'mean' : 'majority_class', metrics: baselineMetrics },
        champion: champion ? { version: champion.version, metrics: championMetrics, error: championError } : null,
        passed,
        reasons,
      };
      const stored = await this.store.putJsonContentAddressed(report, 'reports/evaluation');
      return {
        summary: {
          passed,
          reasons,
          primaryMetric: metric,
          candidate: value,
          baseline,
          champion: championMetrics ? Number(championMetrics[metric]) : undefined,
          championVersion: championMetrics ? champion?.version : undefined,
          reportKey: stored.key,
        },
        metrics: candidateMetrics,
        reportSha256: stored.sha256,
        championVersion: champion?.version,
      };
    } finally {
      heartbeat.stop();
    }
  }

  // ---------------------------------------------------------------- register

  async registerVersion(input: RegisterInput): Promise<{ versionId: string; version: number }> {
    const artifacts: ArtifactRef[] = [];
    const ref = async (kind: ArtifactRef['kind'], key: string, contentType: string): Promise<void> => {
      const stat = await this.store.stat(key);
      if (!stat?.sha256) throw new Error(`artifact ${key} is missing; cannot register`);
      artifacts.push({ kind, key, sha256: stat.sha256, sizeBytes: stat.sizeBytes, contentType });
    };
    await ref('model', input.candidate.modelKey, 'application/octet-stream');
    await ref('evaluation_report', input.evaluation.summary.reportKey, 'application/json');
    await ref('validation_report', input.validationReportKey, 'application/json');
    await ref('profile', input.profileKey, 'application/json');
    await ref('split', input.split.splitKey, 'application/json');
    await ref('dataset', input.dataset.objectKey, contentTypeOf(input.dataset.format));

    const version = await this.registry.registerVersion(
      {
        modelId: input.modelId,
        runId: input.runId,
        metrics: input.evaluation.metrics,
        artifacts,
        lineage: {
          datasetId: input.dataset.datasetId,
          datasetSha256: input.dataset.sha256,
          datasetSource: input.dataset.source,
          splitSeed: input.split.seed,
          splitMembershipHash: input.split.membershipHash,
          specHash: input.specHash,
          trainer: input.candidate.trainer,
          params: input.candidate.params,
          codeVersion: this.codeVersion,
          workflowId: input.workflowId,
          workflowRunId: input.workflowRunId,
          runId: input.runId,
          comparedWithVersion: input.evaluation.championVersion,
        },
        promote: input.promote ?? input.evaluation.summary.passed,
      },
      input.requestedBy,
    );
    return { versionId: version.id, version: version.version };
  }

  // ---------------------------------------------------------------- helpers

  private async dataset(id: string): Promise<DatasetSnapshot> {
    const dataset = await this.registry.findDataset(id);
    if (!dataset) {
      throw ApplicationFailure.create({ type: FAILURE_TYPES.notFound, message: `dataset ${id} does not exist`, nonRetryable: true });
    }
    return dataset;
  }

  /**
   * Reads a snapshot into a typed table. Once validation has stored the schema, later steps coerce to it, so every
   * step (and every retry) sees exactly the same columns and types.
   */
  private async loadTable(dataset: DatasetSnapshot, opts: { inferFresh?: boolean } = {}): Promise<TypedTable> {
    const useSchema = !opts.inferFresh && dataset.schema;
    return this.tables.get(`${dataset.sha256}:${useSchema ? 'schema' : 'inferred'}`, async () => {
      const file = path.join(this.deps.config.workDir, 'datasets', `${dataset.sha256}${FORMAT_EXT[dataset.format] ?? ''}`);
      if (!fs.existsSync(file)) await this.store.getToFile(dataset.objectKey, file, dataset.sha256);
      try {
        const raw = await readDatasetFile(file, dataset.format as 'csv' | 'jsonl' | 'parquet');
        return useSchema ? coerceToSchema(raw, dataset.schema!) : inferTable(raw);
      } catch (err) {
        throw toApplicationFailure(err);
      }
    });
  }

  private features(table: TypedTable, spec: ModelSpec): FeatureColumn[] {
    try {
      return resolveFeatures(table.schema, spec);
    } catch (err) {
      throw toApplicationFailure(err);
    }
  }

  private metrics(spec: ModelSpec, table: TypedTable, rows: Uint32Array, prediction: Prediction): Record<string, unknown> {
    if (spec.task === 'regression') {
      const truth = table.numeric[spec.target];
      const yTrue = Float64Array.from(rows, (r) => truth[r]);
      return { ...regressionMetrics(yTrue, prediction.values!) };
    }
    const labels = targetLabels(table, spec.target);
    const yTrue = Array.from(rows, (r) => labels[r] as string);
    return { ...classificationMetrics(yTrue, prediction.labels!, prediction.probabilities!, prediction.classes!) };
  }

  /** The trivial model every candidate must beat: the training mean, or the majority class with the class priors. */
  private baselinePrediction(spec: ModelSpec, table: TypedTable, trainRows: Uint32Array, testRows: Uint32Array, classes: string[]): Prediction {
    if (spec.task === 'regression') {
      const truth = table.numeric[spec.target];
      return meanBaseline(Float64Array.from(trainRows, (r) => truth[r])).predict(testRows.length);
    }
    const labels = targetLabels(table, spec.target);
    const trainLabels = Array.from(trainRows, (r) => labels[r]);
    return majorityClassBaseline(trainLabels, classes).predict(testRows.length);
  }

  private externalTrainerRegistry(): ExternalTrainerRegistry {
    if (!this.externalTrainers) {
      const file = this.deps.config.externalTrainersFile;
      this.externalTrainers = file ? loadExternalTrainerRegistry(file) : {};
    }
    return this.externalTrainers;
  }
}

/** The activity functions the worker registers, bound to one set of dependencies. */
export function createTrainingActivities(deps: TrainingActivityDeps) {
  const a = new TrainingActivities(deps);
  return {
    markRunStarted: a.markRunStarted.bind(a),
    recordRunProgress: a.recordRunProgress.bind(a),
    finishRun: a.finishRun.bind(a),
    ingestDataset: a.ingestDataset.bind(a),
    validateDataset: a.validateDataset.bind(a),
    profileDataset: a.profileDataset.bind(a),
    splitDataset: a.splitDataset.bind(a),
    trainCandidate: a.trainCandidate.bind(a),
    evaluateCandidate: a.evaluateCandidate.bind(a),
    registerVersion: a.registerVersion.bind(a),
  };
}

// ---------------------------------------------------------------- module helpers

/**
 * One line that says what is wrong and, when a feature list named a column that is not there, which columns there are
 * to choose from. A missing target's own message already lists them (libs/ml/data/validate.ts), so it adds nothing.
 */
export function validationFailureMessage(errors: { code: string; message: string }[], columns: string[]): string {
  const namesColumn = errors.some((e) => ['unknown_include', 'unknown_exclude'].includes(e.code));
  const available = namesColumn ? `; columns in the data: ${columns.join(', ')}` : '';
  return `data validation failed: ${errors.map((e) => e.message).join('; ')}${available}`;
}

/** Class labels as strings (a numeric 0/1 target is still a classification target), null where missing. */
export function targetLabels(table: TypedTable, target: string): (string | null)[] {
  const categorical = table.categorical[target];
  if (categorical) return categorical;
  const numeric = table.numeric[target];
  if (!numeric) return new Array<string | null>(table.rowCount).fill(null);
  return Array.from(numeric, (v) => (Number.isNaN(v) ? null : String(v)));
}

function toIngestResult(dataset: DatasetSnapshot): IngestResult {
  return {
    datasetId: dataset.id,
    sha256: dataset.sha256,
    objectKey: dataset.objectKey,
    format: dataset.format,
    sizeBytes: dataset.sizeBytes,
    source: dataset.source,
  };
}

function contentTypeOf(format: string): string {
  return format === 'parquet' ? 'application/vnd.apache.parquet' : format === 'jsonl' ? 'application/x-ndjson' : 'text/csv';
}

function fmt(value: number): string {
  return Number.isFinite(value) ? value.toFixed(4) : String(value);
}

/** Heartbeats on a timer while a long step runs, so Temporal notices a dead worker within the heartbeat timeout. */
function startHeartbeat(details: () => unknown): { stop(): void } {
  const ctx = Context.current();
  ctx.heartbeat(details());
  // Several beats per timeout window; the SDK throttles what it actually sends to the server.
  const every = Math.max(200, Math.min(5_000, (ctx.info.heartbeatTimeoutMs ?? 15_000) / 4));
  const timer = setInterval(() => ctx.heartbeat(details()), every);
  return { stop: () => clearInterval(timer) };
}

/** Maps library errors that mean "fix your input" to non-retryable failures; anything else stays retryable. */
export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof DataReadError) return ApplicationFailure.create({ type: FAILURE_TYPES.dataUnreadable, message, nonRetryable: true });
  if (err instanceof FeatureResolutionError) {
    return ApplicationFailure.create({ type: FAILURE_TYPES.dataValidationFailed, message, nonRetryable: true });
  }
  if (err instanceof ExternalTrainerError) return ApplicationFailure.create({ type: FAILURE_TYPES.trainerFailed, message, nonRetryable: true });
  // Trainer errors may come back from a worker thread as plain errors: their name and failureType survive.
  const name = (err as Error)?.name;
  if (name === 'UnknownTrainerError') return ApplicationFailure.create({ type: FAILURE_TYPES.unknownTrainer, message, nonRetryable: true });
  if (name === 'TrainerParamError' || name === 'TrainerInputError') {
    const type = (err as { failureType?: string }).failureType ?? FAILURE_TYPES.trainerFailed;
    return ApplicationFailure.create({ type, message, nonRetryable: true });
  }
  return err;
}

async function writeCsv(file: string, table: TypedTable, columns: string[], rows: Uint32Array): Promise<void> {
  const out = fs.createWriteStream(file);
  const quote = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  out.write(`${columns.map(quote).join(',')}\n`);
  for (const r of rows) {
    const cells = columns.map((c) => {
      const n = table.numeric[c];
      if (n) return Number.isNaN(n[r]) ? '' : String(n[r]);
      const s = table.categorical[c]?.[r];
      return s == null ? '' : quote(s);
    });
    if (!out.write(`${cells.join(',')}\n`)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
}

function detectCodeVersion(): { package: string; gitCommit?: string } {
  let dir = __dirname;
  let pkgVersion = 'unknown';
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'package.json');
    if (fs.existsSync(candidate)) {
      const pkg = JSON.parse(fs.readFileSync(candidate, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mlcycle') {
        pkgVersion = `${pkg.name}@${pkg.version}`;
        break;
      }
    }
    dir = path.dirname(dir);
  }
  let gitCommit = process.env.MLCYCLE_GIT_COMMIT;
  if (!gitCommit) {
    try {
      gitCommit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    } catch {
      gitCommit = undefined; // not a git checkout (e.g. a container image): the package version still identifies the code
    }
  }
  return { package: pkgVersion, gitCommit };
}
