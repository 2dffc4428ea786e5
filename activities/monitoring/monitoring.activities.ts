/**
 * The monitoring window's side effects: read the prediction logs of [windowStart, windowEnd) from the artifact
 * store, compare them with the champion's training data (feature drift, with Evidently's defaults from
 * libs/monitoring/drift), its evaluation-time outputs (prediction drift), its training profile (data quality) and,
 * where ground truth arrived, its evaluation-time metric (online quality); store the report (a JSON artifact and a
 * registry row), raise alerts (registry row + audit event), and deliver each alert to the spec's webhook.
 *
 * Idempotent under retries: the report id derives from model and window, its artifact key from the id, alert ids
 * from report and kind, and every write is an upsert or an insert-once. The reference (a seeded sample of the
 * champion's training rows and its outputs on its test split) is cached per version in the store.
 */
import { MONITORING_FAILURES } from '../../libs/contracts';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { ArtifactStore } from '../../libs/artifacts';
import type { MonitoringSummary, MonitoringWindowInput } from '../../libs/contracts/monitoring';
import { coerceToSchema, inferTable, mulberry32, readDatasetFile } from '../../libs/ml/data';
import type { DatasetProfile } from '../../libs/ml/data';
import type { FeatureColumn, TypedTable } from '../../libs/ml/data/types';
import { resolveFeatures } from '../../libs/ml/features';
import { readMlcycleMetadata, runOnnxModel } from '../../libs/ml/onnx';
import { monitoringPolicy } from '../../libs/ml/spec';
import type { ModelSpec, MonitoringPolicy } from '../../libs/ml/spec';
import { detectColumnDrift, detectDrift } from '../../libs/monitoring/drift';
import type { ColumnDriftResult, DatasetDriftResult, DriftOptions, DriftMethod } from '../../libs/monitoring/drift';
import type { Alert, AlertKind, Model, ModelVersion, RegistryService } from '../../libs/registry';
import type { DataQuality, FeatureBaseline, HistogramPair, LabelledPrediction, LoggedRequest, OnlineQuality, VersionOperations } from './window';
import {
  alertId,
  dataQuality,
  histogramPair,
  logDatePrefixes,
  monitoringReportId,
  onlineQuality,
  operations,
  parseLogLines,
  SIGNATURE_HEADER,
  signWebhookBody,
  windowTable,
  labelMixChange,
} from './window';

export interface MonitoringActivityDeps {
  registry: RegistryService;
  store: ArtifactStore;
  /** scratch directory for training data files (the worker's config.workDir) */
  workDir: string;
  /** where webhook secrets are read from (default process.env) */
  env?: Record<string, string | undefined>;
  /** per-attempt timeout of a webhook POST (default 10 s) */
  webhookTimeoutMs?: number;
  /** training rows sampled as the drift reference (default 50,000, seeded, so every window sees the same rows) */
  referenceSampleRows?: number;
}

/** computeMonitoringWindow's answer: the contract's summary plus the ids of the alerts it raised. */
export interface MonitoringWindowResult extends MonitoringSummary {
  /** the alerts of this window (registry ids), for deliverAlertWebhook */
  alertIds: string[];
}

export interface WebhookDeliveryResult {
  alertId: string;
  status: 'delivered' | 'already_delivered' | 'no_webhook';
  url?: string;
  attempts?: number;
}

/** Everything a window compares against, for one champion version (cached as an artifact). */
interface Reference {
  version: number;
  modelSha256: string;
  task: ModelSpec['task'];
  features: FeatureColumn[];
  classes?: string[];
  metric: string;
  /** the primary metric on the test split at evaluation */
  evaluationValue: number | null;
  referenceRows: number;
  trainingRows: number;
  numeric: Record<string, (number | null)[]>;
  categorical: Record<string, (string | null)[]>;
  baselines: FeatureBaseline[];
  /** the model's outputs on its test split: predicted labels or values */
  evaluationOutputs: { labels?: string[]; values?: (number | null)[] };
  /** classification: the target of the sampled training rows, the baseline of label drift */
  labels?: (string | null)[];
}

const SYSTEM = 'system:monitoring';
const REFERENCE_FORMAT = 2; // 2: training labels for label drift
const FORMAT_EXT: Record<string, string> = { csv: '.csv', jsonl: '.jsonl', parquet: '.parquet' };

/** Heartbeats when running as an activity (computeMonitoringWindow is also called directly, by tests and tools). */
function heartbeat(details: unknown): void {
  let ctx: Context | undefined;
  try {
    ctx = Context.current();
  } catch {
    return;
  }
  ctx.heartbeat(details);
}

export function reportArtifactKey(modelName: string, reportId: string): string {
  return `monitoring/reports/${modelName}/${reportId}.json`;
}

export class MonitoringActivities {
  private readonly references = new Map<string, Promise<Reference>>();

  constructor(private readonly deps: MonitoringActivityDeps) {}

  private get registry(): RegistryService {
    return this.deps.registry;
  }
  private get store(): ArtifactStore {
    return this.deps.store;
  }

  async computeMonitoringWindow(input: MonitoringWindowInput): Promise<MonitoringWindowResult> {
    const model = await this.registry.findModelById(input.modelId);
    if (!model) throw ApplicationFailure.nonRetryable(`model ${input.modelId} does not exist`, MONITORING_FAILURES.notFound);
    const policy = monitoringPolicy(model.spec);
    const start = new Date(input.windowStart);
    const end = new Date(input.windowEnd);
    if (!(end.getTime() > start.getTime())) throw ApplicationFailure.nonRetryable(`the window [${input.windowStart}, ${input.windowEnd}) is empty`, MONITORING_FAILURES.invalidWindow);
    const reportId = monitoringReportId(model.name, input.windowStart, input.windowEnd);

    const { records, objects, malformed } = await this.readLogs(model.name, start, end);
    heartbeat({ stage: 'logs read', records: records.length });
    const champion = await this.registry.findChampion(model.id);
    const reference = champion ? await this.reference(model, champion) : null;
    heartbeat({ stage: 'reference ready' });

    const windowMs = end.getTime() - start.getTime();
    const ops = operations(records, windowMs);
    const features = reference?.features ?? [];
    const { table, violations } = windowTable(records, features);
    const samples = table.rowCount;
    const quality = reference ? dataQuality(table, reference.baselines, violations) : { columns: [], schemaViolations: violations, issues: [] };

    let drift: DatasetDriftResult | null = null;
    let prediction: ColumnDriftResult | null = null;
    let online: OnlineQuality | null = null;
    const histograms: Record<string, HistogramPair> = {};
    let insufficient: string | null = null;
    if (!champion || !reference) insufficient = `model '${model.name}' has no champion: nothing was served to compare`;
    else if (samples < policy.minSamples) insufficient = `${samples} logged prediction row(s) in the window, fewer than the ${policy.minSamples} needed (monitoring.minSamples)`;
    if (reference && !insufficient) {
      const referenceTable = referenceTableOf(reference);
      drift = detectDrift(referenceTable, table, driftOptions(policy, features));
      for (const f of features) {
        histograms[f.name] = histogramPair(f.kind, f.kind === 'numeric' ? referenceTable.numeric[f.name] : referenceTable.categorical[f.name], f.kind === 'numeric' ? table.numeric[f.name] : table.categorical[f.name]);
      }
      const outputs = championOutputs(records, reference);
      prediction = reference.classes
        ? detectColumnDrift({ name: 'prediction', kind: 'categorical', reference: reference.evaluationOutputs.labels ?? [], current: outputs.labels }, outputDriftOptions(policy, 'prediction'))
        : detectColumnDrift({ name: 'prediction', kind: 'numeric', reference: Float64Array.from(reference.evaluationOutputs.values ?? [], nanOfNull), current: Float64Array.from(outputs.values) }, outputDriftOptions(policy, 'prediction'));
      histograms['(prediction)'] = reference.classes
        ? histogramPair('categorical', reference.evaluationOutputs.labels ?? [], outputs.labels)
        : histogramPair('numeric', Float64Array.from(reference.evaluationOutputs.values ?? [], nanOfNull), Float64Array.from(outputs.values));
    }
    let labelDrift: ColumnDriftResult | null = null;
    if (reference && champion) {
      online = await this.onlineQuality(model, reference, records, policy);
      // Ground truth shows what the features cannot: the mix of outcomes itself moving (prior or concept shift).
      if (!insufficient && reference.labels && online.labels && online.labels.length >= policy.minLabelled) {
        labelDrift = detectColumnDrift({ name: 'label', kind: 'categorical', reference: reference.labels, current: online.labels }, outputDriftOptions(policy, 'label'));
        histograms['(label)'] = histogramPair('categorical', reference.labels, online.labels);
      }
    }

    const datasetDrift = drift && drift.status !== 'insufficient_data' ? drift.status === 'drift' : null;
    const predictionDrift = prediction && prediction.status !== 'insufficient_data' ? prediction.status === 'drift' : null;
    const labelDrifted = labelDrift && labelDrift.status !== 'insufficient_data' ? labelDrift.status === 'drift' : null;
    const driftedColumns = drift ? drift.columns.filter((c) => c.status === 'drift').map((c) => c.column) : [];
    const qualityDropped = !insufficient && online?.status === 'dropped';
    const status: MonitoringSummary['status'] = insufficient ? 'insufficient_data' : qualityDropped ? 'quality_drop' : datasetDrift || predictionDrift || labelDrifted ? 'drift' : 'ok';

    const findings: { kind: AlertKind; reason: string }[] = [];
    if (!insufficient) {
      if (qualityDropped && online) findings.push({ kind: 'quality_drop', reason: `online ${online.reason}` });
      if (datasetDrift && drift) {
        findings.push({ kind: 'drift', reason: `${driftedColumns.length} of ${drift.testedColumns} feature(s) drifted (${driftedColumns.join(', ')}), at least the ${drift.driftShare} share that makes the data set drift` });
      }
      if (labelDrifted && labelDrift) findings.push({ kind: 'label_drift', reason: `the labels from feedback drifted from the training labels (${labelDrift.method} ${describeScore(labelDrift)}): ${labelMixChange(histograms['(label)'])}` });
      if (predictionDrift && prediction) findings.push({ kind: 'prediction_drift', reason: `the distribution of predictions drifted from evaluation time (${prediction.method} ${describeScore(prediction)})` });
      if (quality.issues.length) findings.push({ kind: 'data_quality', reason: `data quality: ${quality.issues.join('; ')}` });
    }
    const retrain = retrainOf(policy, findings);
    const summary: MonitoringSummary = {
      reportId,
      modelName: model.name,
      windowStart: start.toISOString(),
      windowEnd: end.toISOString(),
      championVersion: champion?.version ?? null,
      samples,
      status,
      datasetDrift,
      driftedColumns,
      driftShare: drift?.shareOfDriftedColumns ?? null,
      predictionDrift,
      labelDrift: labelDrifted,
      ...(online && online.online !== null && online.evaluation !== null && online.status !== 'insufficient_labels'
        ? { quality: { metric: online.metric, online: online.online, evaluation: online.evaluation, labelled: online.labelled, dropped: online.dropped } }
        : {}),
      alerts: findings.map((f) => f.reason),
      retrain,
    };

    const report = {
      format: 1,
      reportId,
      model: model.name,
      modelId: model.id,
      windowStart: summary.windowStart,
      windowEnd: summary.windowEnd,
      championVersion: summary.championVersion,
      status,
      verdict: verdictOf(summary, insufficient, findings, quality, online),
      samples,
      requests: records.length,
      policy: { minSamples: policy.minSamples, driftShare: policy.driftShare, maxQualityDrop: policy.maxQualityDrop, minLabelled: policy.minLabelled, retrainOn: policy.retrainOn },
      insufficientReason: insufficient,
      reference: reference ? { version: reference.version, trainingRows: reference.trainingRows, sampledRows: reference.referenceRows, evaluationRows: (reference.evaluationOutputs.labels ?? reference.evaluationOutputs.values ?? []).length } : null,
      drift: drift ? { ...drift, columns: drift.columns.map((c) => ({ ...c, histogram: histograms[c.column] })) } : null,
      predictionDrift: prediction ? { ...prediction, histogram: histograms['(prediction)'] } : null,
      labelDrift: labelDrift ? { ...labelDrift, histogram: histograms['(label)'] } : null,
      dataQuality: quality,
      operations: ops,
      onlineQuality: online,
      alerts: findings.map((f) => ({ id: alertId(reportId, f.kind), ...f })),
      retrain,
      log: { objects, records: records.length, malformedLines: malformed },
      summary,
    };
    const artifactKey = reportArtifactKey(model.name, reportId);
    const body = Buffer.from(JSON.stringify(report));
    await this.store.client.putObject(this.store.bucket, artifactKey, body, body.length, { 'Content-Type': 'application/json' });
    await this.registry.saveMonitoringReport({
      id: reportId,
      modelId: model.id,
      windowStart: start,
      windowEnd: end,
      championVersion: summary.championVersion,
      samples,
      status,
      datasetDrift,
      driftedColumns,
      summary: {
        ...summary,
        requests: records.length,
        errorRate: errorRateOf(ops),
        p99LatencyMs: ops.find((o) => o.version === summary.championVersion)?.latencyMs.p99 ?? null,
        predictionDriftScore: prediction?.score ?? null,
        dataQualityIssues: quality.issues.length,
        onlineQuality: online ? { status: online.status, online: online.online, evaluation: online.evaluation, labelled: online.labelled } : null,
      },
      artifactKey,
    });
    const alertIds: string[] = [];
    for (const f of findings) {
      const { alert } = await this.registry.raiseAlert({
        id: alertId(reportId, f.kind),
        modelId: model.id,
        modelName: model.name,
        reportId,
        kind: f.kind,
        reason: f.reason,
        actor: SYSTEM,
        details: { windowStart: summary.windowStart, windowEnd: summary.windowEnd, championVersion: summary.championVersion },
      });
      alertIds.push(alert.id);
    }
    return { ...summary, alertIds };
  }

  /**
   * POSTs one alert to the model's webhook, signed with HMAC-SHA256 of the body (X-Mlcycle-Signature), and records
   * the attempt. A non-2xx answer or no answer throws a retryable failure, so the activity's retry policy backs off;
   * a delivered alert is never sent again.
   */
  async deliverAlertWebhook(input: { alertId: string }): Promise<WebhookDeliveryResult> {
    const alert = await this.registry.findAlert(input.alertId);
    if (!alert) throw ApplicationFailure.nonRetryable(`alert ${input.alertId} does not exist`, MONITORING_FAILURES.notFound);
    const model = await this.registry.findModelById(alert.modelId);
    const webhook = model ? monitoringPolicy(model.spec).webhook : undefined;
    if (!model || !webhook) return { alertId: alert.id, status: 'no_webhook' };
    const prior = await this.registry.findWebhookDelivery(alert.id, webhook.url);
    if (prior?.deliveredAt) return { alertId: alert.id, status: 'already_delivered', url: webhook.url, attempts: prior.attempts };
    const secret = (this.deps.env ?? process.env)[webhook.secretEnv];
    if (!secret) {
      await this.registry.recordWebhookAttempt({ alertId: alert.id, url: webhook.url, status: null, error: `the worker has no ${webhook.secretEnv} set: nothing was sent`, delivered: false });
      throw ApplicationFailure.nonRetryable(`the webhook secret variable ${webhook.secretEnv} is not set on the worker`, MONITORING_FAILURES.webhookSecretMissing);
    }
    const report = await this.registry.findMonitoringReport(model.id, alert.reportId);
    const body = JSON.stringify(alertPayload(model, alert, report ? { windowStart: report.windowStart, windowEnd: report.windowEnd, status: report.status, championVersion: report.championVersion } : null));
    let status: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signWebhookBody(body, secret), 'X-Mlcycle-Delivery': alert.id, 'User-Agent': 'mlcycle-monitoring' },
        body,
        signal: AbortSignal.timeout(this.deps.webhookTimeoutMs ?? 10_000),
        redirect: 'manual',
      });
      status = response.status;
      if (status < 200 || status >= 300) error = `answered ${status}: ${(await response.text().catch(() => '')).slice(0, 200)}`;
      else await response.arrayBuffer().catch(() => undefined);
    } catch (err) {
      error = (err as Error).message;
    }
    const delivery = await this.registry.recordWebhookAttempt({ alertId: alert.id, url: webhook.url, status, error, delivered: error === null });
    if (error !== null) {
      throw ApplicationFailure.retryable(`webhook ${webhook.url} ${status === null ? `did not answer: ${error}` : error} (attempt ${delivery.attempts})`, MONITORING_FAILURES.webhookDeliveryFailed);
    }
    return { alertId: alert.id, status: 'delivered', url: webhook.url, attempts: delivery.attempts };
  }

  // ---------------------------------------------------------------- helpers

  /** Every log object under a date prefix the window overlaps, filtered to the window by record time. */
  private async readLogs(modelName: string, start: Date, end: Date): Promise<{ records: LoggedRequest[]; objects: number; malformed: number }> {
    const records: LoggedRequest[] = [];
    let objects = 0;
    let malformed = 0;
    for (const day of logDatePrefixes(start, end)) {
      const keys: string[] = [];
      for await (const item of this.store.client.listObjectsV2(this.store.bucket, `predictions/${modelName}/${day}/`, true)) {
        const name = (item as { name?: string }).name;
        if (name) keys.push(name);
      }
      for (const key of keys.sort()) {
        const text = (await this.store.getBytes(key)).toString('utf8');
        const parsed = parseLogLines(text, modelName, start, end);
        records.push(...parsed.records);
        malformed += parsed.malformed;
        objects++;
        if (objects % 50 === 0) heartbeat({ stage: 'reading logs', objects });
      }
    }
    records.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    return { records, objects, malformed };
  }

  private reference(model: Model, champion: ModelVersion): Promise<Reference> {
    const cacheKey = `${model.id}:${champion.version}`;
    let ref = this.references.get(cacheKey);
    if (!ref) {
      ref = this.loadReference(model, champion);
      ref.catch(() => this.references.delete(cacheKey));
      this.references.set(cacheKey, ref);
      while (this.references.size > 4) this.references.delete(this.references.keys().next().value!);
    }
    return ref;
  }

  /** The cached reference artifact of the version, or builds it (training sample, profile baseline, test-split outputs). */
  private async loadReference(model: Model, champion: ModelVersion): Promise<Reference> {
    const modelArtifact = champion.artifacts.find((a) => a.kind === 'model');
    if (!modelArtifact) throw ApplicationFailure.nonRetryable(`${model.name} v${champion.version} has no model artifact`, MONITORING_FAILURES.notFound);
    const key = `monitoring/reference/${model.name}/v${champion.version}-${modelArtifact.sha256.slice(0, 16)}-f${REFERENCE_FORMAT}.json`;
    if (await this.store.stat(key)) return this.store.getJson<Reference>(key);

    const dataset = await this.registry.findDataset(champion.lineage.datasetId);
    if (!dataset) throw ApplicationFailure.nonRetryable(`the training data set ${champion.lineage.datasetId} of ${model.name} v${champion.version} is gone`, MONITORING_FAILURES.notFound);
    const file = path.join(this.deps.workDir, 'datasets', `${dataset.sha256}${FORMAT_EXT[dataset.format] ?? ''}`);
    if (!fs.existsSync(file)) await this.store.getToFile(dataset.objectKey, file, dataset.sha256);
    const raw = await readDatasetFile(file, dataset.format as 'csv' | 'jsonl' | 'parquet');
    const table: TypedTable = dataset.schema ? coerceToSchema(raw, dataset.schema) : inferTable(raw);
    heartbeat({ stage: 'training data read' });

    const bytes = await this.store.getBytes(modelArtifact.key, modelArtifact.sha256);
    const meta = readMlcycleMetadata(bytes);
    const features = meta.features?.length ? meta.features : resolveFeatures(table.schema, model.spec);
    const splitArtifact = champion.artifacts.find((a) => a.kind === 'split');
    const split = splitArtifact ? await this.store.getJson<{ train: number[]; test: number[] }>(splitArtifact.key, splitArtifact.sha256) : null;
    const trainRows = split ? split.train : Array.from({ length: table.rowCount }, (_, i) => i);
    const sampled = seededSample(trainRows, this.deps.referenceSampleRows ?? 50_000, champion.lineage.splitSeed ?? 0);

    const numeric: Record<string, (number | null)[]> = {};
    const categorical: Record<string, (string | null)[]> = {};
    for (const f of features) {
      if (f.kind === 'numeric') numeric[f.name] = sampled.map((r) => finiteOrNull(table.numeric[f.name]?.[r]));
      else categorical[f.name] = sampled.map((r) => table.categorical[f.name]?.[r] ?? null);
    }

    const profileArtifact = champion.artifacts.find((a) => a.kind === 'profile');
    const profile = profileArtifact ? await this.store.getJson<DatasetProfile>(profileArtifact.key, profileArtifact.sha256) : null;
    const baselines: FeatureBaseline[] = features.map((f) => {
      const p = profile?.columns.find((c) => c.name === f.name);
      if (f.kind === 'numeric') {
        const values = numeric[f.name].filter((v): v is number => v !== null);
        return {
          name: f.name,
          kind: 'numeric',
          missingRate: p?.missingRate ?? 0,
          min: p && 'min' in p ? p.min : values.length ? Math.min(...values) : null,
          max: p && 'max' in p ? p.max : values.length ? Math.max(...values) : null,
        };
      }
      // The profile keeps the most frequent categories; when it dropped some, the full training column says.
      const complete = p && 'top' in p && p.otherCount === 0;
      const all = complete ? p.top.map((t) => t.value) : [...new Set(trainRows.map((r) => table.categorical[f.name]?.[r]).filter((v): v is string => v !== null && v !== undefined))];
      return { name: f.name, kind: 'categorical', missingRate: p?.missingRate ?? 0, categories: all };
    });

    const testRows = split?.test ?? [];
    const prediction = testRows.length ? await runOnnxModel(bytes, table, testRows, features) : {};
    const metric = model.spec.evaluation.primaryMetric;
    const evaluationValue = Number(champion.metrics[metric]);
    const reference: Reference = {
      version: champion.version,
      modelSha256: modelArtifact.sha256,
      task: model.spec.task,
      features,
      classes: meta.classes,
      metric,
      evaluationValue: Number.isFinite(evaluationValue) ? evaluationValue : null,
      referenceRows: sampled.length,
      trainingRows: trainRows.length,
      numeric,
      categorical,
      baselines,
      evaluationOutputs: prediction.labels ? { labels: prediction.labels } : { values: Array.from(prediction.values ?? [], finiteOrNull) },
      ...(model.spec.task !== 'regression' ? { labels: sampled.map((r) => table.categorical[model.spec.target]?.[r] ?? null) } : {}),
    };
    const body = Buffer.from(JSON.stringify(reference));
    await this.store.client.putObject(this.store.bucket, key, body, body.length, { 'Content-Type': 'application/json' });
    return reference;
  }

  /** The champion's labelled single-row predictions of the window against their ground truth. */
  private async onlineQuality(model: Model, reference: Reference, records: readonly LoggedRequest[], policy: MonitoringPolicy): Promise<OnlineQuality> {
    const candidates = records.filter((r) => r.status < 400 && r.version === reference.version && r.outputs && (r.rows ?? 1) === 1);
    const feedback = new Map((await this.registry.findFeedback(model.id, candidates.map((r) => r.requestId))).map((f) => [f.requestId, f]));
    const pairs: LabelledPrediction[] = [];
    for (const r of candidates) {
      const f = feedback.get(r.requestId);
      if (!f) continue;
      if (reference.classes) {
        const predicted = r.outputs?.label?.[0];
        const probabilities = (r.outputs?.probabilities ?? []) as number[];
        if (f.label !== null && typeof predicted === 'string') pairs.push({ requestId: r.requestId, label: f.label, predicted, probabilities });
      } else {
        const predicted = r.outputs?.variable?.[0];
        if (f.value !== null && typeof predicted === 'number') pairs.push({ requestId: r.requestId, value: f.value, predicted });
      }
    }
    const labels = reference.classes ? candidates.map((r) => feedback.get(r.requestId)?.label).filter((l): l is string => typeof l === 'string') : undefined;
    const quality = onlineQuality({
      metric: reference.metric,
      task: reference.classes ? 'classification' : 'regression',
      classes: reference.classes,
      pairs,
      evaluation: reference.evaluationValue,
      maxDrop: policy.maxQualityDrop,
      minLabelled: policy.minLabelled,
    });
    return labels ? { ...quality, labels } : quality;
  }
}

/** The activity functions the worker registers, bound to one set of dependencies. */
export function createMonitoringActivities(deps: MonitoringActivityDeps) {
  const a = new MonitoringActivities(deps);
  return {
    computeMonitoringWindow: a.computeMonitoringWindow.bind(a),
    deliverAlertWebhook: a.deliverAlertWebhook.bind(a),
  };
}

// ---------------------------------------------------------------- module helpers

const nanOfNull = (v: number | null): number => (v === null ? NaN : v);
const finiteOrNull = (v: number | undefined): number | null => (v !== undefined && Number.isFinite(v) ? v : null);

/** Up to `n` of `rows`, chosen by a seeded partial shuffle (the same rows every time), in row order. */
export function seededSample(rows: readonly number[], n: number, seed: number): number[] {
  if (rows.length <= n) return [...rows];
  const copy = [...rows];
  const random = mulberry32(seed ^ 0x5eed);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (copy.length - i));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy.slice(0, n).sort((a, b) => a - b);
}

function referenceTableOf(ref: Reference): { rowCount: number; numeric: Record<string, Float64Array>; categorical: Record<string, (string | null)[]> } {
  return {
    rowCount: ref.referenceRows,
    numeric: Object.fromEntries(Object.entries(ref.numeric).map(([k, v]) => [k, Float64Array.from(v, nanOfNull)])),
    categorical: ref.categorical,
  };
}

function driftOptions(policy: MonitoringPolicy, features: readonly FeatureColumn[]): DriftOptions {
  const columnOptions: Record<string, { method?: DriftMethod; threshold?: number }> = {};
  for (const [name, o] of Object.entries(policy.columns)) {
    if (!features.some((f) => f.name === name)) continue;
    columnOptions[name] = { ...(o.method !== 'auto' ? { method: o.method } : {}), ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) };
  }
  return { driftShare: policy.driftShare, columnOptions, columns: features.map((f) => f.name) };
}

/** The spec's `(prediction)` or `(label)` entry of `monitoring.columns`, for the drift of outputs or of true labels. */
function outputDriftOptions(policy: MonitoringPolicy, column: 'prediction' | 'label'): DriftOptions {
  const o = policy.columns[`(${column})`];
  return o ? { columnOptions: { [column]: { ...(o.method !== 'auto' ? { method: o.method } : {}), ...(o.threshold !== undefined ? { threshold: o.threshold } : {}) } } } : {};
}

/** The champion's outputs in the window (what serving answered), row by row. */
function championOutputs(records: readonly LoggedRequest[], ref: Reference): { labels: (string | null)[]; values: number[] } {
  const labels: (string | null)[] = [];
  const values: number[] = [];
  for (const r of records) {
    if (r.status >= 400 || r.version !== ref.version || !r.outputs) continue;
    if (ref.classes) for (const l of r.outputs.label ?? []) labels.push(typeof l === 'string' ? l : l === null ? null : String(l));
    else for (const v of r.outputs.variable ?? []) values.push(typeof v === 'number' ? v : NaN);
  }
  return { labels, values };
}

function describeScore(c: ColumnDriftResult): string {
  const score = c.score === null ? 'n/a' : c.score.toPrecision(3);
  return c.pValue !== null ? `p-value ${score}, threshold ${c.threshold}` : `distance ${score}, threshold ${c.threshold}`;
}

function errorRateOf(ops: readonly VersionOperations[]): number | null {
  const requests = ops.reduce((n, o) => n + o.requests, 0);
  return requests ? ops.reduce((n, o) => n + o.errors, 0) / requests : null;
}

function retrainOf(policy: MonitoringPolicy, findings: readonly { kind: AlertKind; reason: string }[]): MonitoringSummary['retrain'] {
  const by = (kind: AlertKind) => findings.find((f) => f.kind === kind);
  const quality = by('quality_drop');
  if (quality && policy.retrainOn.qualityDrop) return { kind: 'quality_drop', reason: quality.reason };
  const drift = by('drift');
  if (drift && policy.retrainOn.drift) return { kind: 'drift', reason: drift.reason };
  const labels = by('label_drift');
  if (labels && policy.retrainOn.labelDrift) return { kind: 'label_drift', reason: labels.reason };
  const prediction = by('prediction_drift');
  if (prediction && policy.retrainOn.predictionDrift) return { kind: 'prediction_drift', reason: prediction.reason };
  return null;
}

export interface Verdict {
  /** one line: what the window says */
  headline: string;
  tone: 'ok' | 'warning' | 'alert' | 'unknown';
  /** why: the findings behind the headline */
  reasons: string[];
  /** what to do about it */
  actions: string[];
}

/** The report's first lines, for a person: verdict, why, what to do. */
export function verdictOf(
  summary: MonitoringSummary,
  insufficient: string | null,
  findings: readonly { kind: AlertKind; reason: string }[],
  quality: DataQuality,
  online: OnlineQuality | null,
): Verdict {
  if (insufficient) {
    return {
      headline: 'Not enough data to judge this window',
      tone: 'unknown',
      reasons: [insufficient, 'This is not a "no drift" verdict: drift was not tested.'],
      actions: ['Check that traffic reaches the model and that prediction logging is on (MLCYCLE_PREDICTION_LOG_SAMPLE)', 'Or lengthen monitoring.window / lower monitoring.minSamples in the model spec'],
    };
  }
  const reasons = findings.map((f) => f.reason);
  const actions: string[] = [];
  if (summary.retrain) actions.push(`A retraining was requested (${summary.retrain.kind}, per monitoring.retrainOn)`);
  if (findings.some((f) => f.kind === 'drift')) actions.push(`Compare the drifting features below (${summary.driftedColumns.join(', ')}) with their sources upstream; retrain on recent data if the change is real`);
  if (findings.some((f) => f.kind === 'prediction_drift')) actions.push('Check the prediction distribution below; if inputs did not drift, the mix of requests changed');
  if (findings.some((f) => f.kind === 'label_drift')) actions.push('The outcomes themselves changed (see the label mix below): retrain with the new labelled data so the model learns the new mix');
  if (findings.some((f) => f.kind === 'quality_drop')) actions.push('The model is less accurate than at evaluation: retrain with the new labelled data, or roll back if a recent version caused it');
  if (quality.issues.length) actions.push('Fix the data-quality issues at the source: the model never saw such values in training');
  if (!findings.length) {
    if (online?.status === 'insufficient_labels') reasons.push(`Online quality not judged: ${online.reason}`);
    return { headline: 'No drift, no quality drop', tone: 'ok', reasons: reasons.length ? reasons : ['Every tested feature and the predictions match the training-time distributions'], actions: ['Nothing to do'] };
  }
  const headline =
    summary.status === 'quality_drop'
      ? 'Model quality dropped'
      : summary.datasetDrift
        ? `Data drift: ${summary.driftedColumns.length} feature(s) drifted`
        : summary.labelDrift
          ? 'Label drift: the mix of true outcomes changed'
          : summary.predictionDrift
            ? 'Prediction drift'
            : 'Data-quality issues';
  return { headline, tone: summary.status === 'ok' ? 'warning' : 'alert', reasons, actions };
}

function alertPayload(model: Model, alert: Alert, report: { windowStart: Date; windowEnd: Date; status: string; championVersion: number | null } | null): Record<string, unknown> {
  const base = `/v1/models/${model.name}/monitoring/${alert.reportId}`;
  return {
    type: 'mlcycle.monitoring.alert',
    alertId: alert.id,
    model: model.name,
    kind: alert.kind,
    reason: alert.reason,
    createdAt: new Date(alert.createdAt).toISOString(),
    reportId: alert.reportId,
    window: report ? { start: new Date(report.windowStart).toISOString(), end: new Date(report.windowEnd).toISOString() } : null,
    status: report?.status ?? null,
    championVersion: report?.championVersion ?? null,
    links: { report: base, html: `${base}/html`, alerts: `/v1/models/${model.name}/alerts` },
  };
}

export { MONITORING_FAILURES };
