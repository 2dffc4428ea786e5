/**
 * What the serving-* e2e suites share: an API app (a serving replica) with a production worker polling a task
 * queue of its own, real models trained through the training pipeline into that app's registry and bucket, and
 * small HTTP and data helpers. Models come from vega-datasets' weather.csv (Seattle or New York from the day's
 * weather: four numeric features and one categorical, `weather`), so both FP32 and BYTES inputs are exercised.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { FeatureColumn, TypedTable } from '../../libs/ml/data/types';
import { rolloutWorkflowId } from '../../libs/contracts';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { readMlcycleMetadata } from '../../libs/ml/onnx';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import type { ModelSpec, ModelSpecInput } from '../../libs/ml/spec';
import type { Deployment, Model } from '../../libs/registry';
import { Deployment as DeploymentEntity } from '../../libs/registry';
import { uniqueTaskQueue } from '../support';
import { createWorker } from '../../worker/create-worker';
import { putSource, startRun, workflowBundle } from '../workflows/pipeline-harness';
import type { PipelineHarness } from '../workflows/pipeline-harness';
import { startApiApp } from './api-app';
import type { ApiTestApp, DbKind } from './api-app';

export const WEATHER_FEATURES = ['precipitation', 'temp_max', 'temp_min', 'wind', 'weather'] as const;

export interface ServingSuite {
  api: ApiTestApp;
  /** an API key with the `service` role */
  key: string;
  harness: PipelineHarness;
  taskQueue: string;
  close(): Promise<void>;
}

/** An API app plus a worker on a task queue of the suite's own. `overrides` go to the app's environment. */
export async function openServingSuite(db: DbKind, overrides: Record<string, string> = {}): Promise<ServingSuite> {
  const api = await startApiApp(db, {
    MLCYCLE_UPLOAD_MAX_BYTES: String(64 * 1024 * 1024),
    MLCYCLE_SERVING_RECONCILE_MS: '200',
    MLCYCLE_SERVING_STATS_FLUSH_MS: '500',
    ...overrides,
  });
  const connection = await NativeConnection.connect({ address: api.config.temporal.address });
  const taskQueue = uniqueTaskQueue('serving');
  const harness: PipelineHarness = {
    config: api.config,
    env: {},
    dataSource: api.registry.dataSource,
    registry: api.registry,
    store: api.store,
    close: async () => undefined,
  };
  let worker: Worker;
  try {
    worker = await createWorker({
      connection,
      namespace: api.config.temporal.namespace,
      taskQueue,
      deps: { config: api.config, registry: api.registry, store: api.store },
      workflowBundle: await workflowBundle(),
    });
  } catch (err) {
    await connection.close();
    await api.close();
    throw err;
  }
  const running = worker.run();
  const key = await api.keyFor('service', 'inference-client@e2e');
  return {
    api,
    key,
    harness,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await connection.close();
      await api.close();
    },
  };
}

/**
 * How the suites' versions reach traffic: no approval, and a blue/green switch that keeps the old version warm for
 * a second, so the real rollout workflow promotes each new version within seconds (waiting on this replica's
 * convergence reports on the way).
 */
const FAST_ROLLOUT = { approval: { policy: 'never' }, rollout: { strategy: ['blue_green'], blueGreen: { keepWarm: '1s' } } } as const;

/**
 * Another API process on the same database and bucket: a second serving replica (each app is one). Same admin key,
 * so the suite's keys work on it too.
 */
export async function startReplica(suite: ServingSuite, overrides: Record<string, string> = {}): Promise<ApiTestApp> {
  const db = suite.api.config.db;
  return startApiApp('sqlite', {
    ...(db.type === 'postgres' ? { MLCYCLE_DB_TYPE: 'postgres', MLCYCLE_DB_URL: db.url } : { MLCYCLE_DB_TYPE: 'sqlite', MLCYCLE_DB_PATH: db.path }),
    MLCYCLE_S3_BUCKET: suite.api.config.s3.bucket,
    MLCYCLE_ADMIN_KEY: suite.api.adminKey,
    MLCYCLE_SERVING_RECONCILE_MS: '200',
    MLCYCLE_SERVING_STATS_FLUSH_MS: '500',
    ...overrides,
  });
}

/** The weather model's spec: binary location classifier; log_loss so a weak first version still registers. */
export function weatherSpec(name: string, trainer: ModelSpecInput['trainer']): ModelSpec {
  return parseModelSpec({
    name,
    task: 'binary_classification',
    target: 'location',
    features: { exclude: ['date'] },
    trainer,
    split: { seed: 11 },
    evaluation: { primaryMetric: 'log_loss', mustBeatBaseline: false },
    ...FAST_ROLLOUT,
  });
}

/** The cars regression spec (Miles_per_Gallon from the car's numbers and origin). */
export function carsSpec(name: string): ModelSpec {
  return parseModelSpec({
    name,
    task: 'regression',
    target: 'Miles_per_Gallon',
    features: { exclude: ['Name', 'Year'] },
    trainer: { name: 'ridge', params: { alpha: 1 } },
    split: { stratify: false, seed: 3 },
    evaluation: { primaryMetric: 'rmse', mustBeatBaseline: true },
    ...FAST_ROLLOUT,
  });
}

let carsCsvPath: string | undefined;
/** cars.json as CSV (the pipeline reads it; the test reads rows from it too). */
export function carsCsv(): string {
  if (carsCsvPath) return carsCsvPath;
  const cars = JSON.parse(fs.readFileSync(bundledDatasetPath('cars.json'), 'utf8')) as Record<string, unknown>[];
  const columns = Object.keys(cars[0]);
  const cell = (v: unknown) => (v === null || v === undefined ? '' : /[",\n]/.test(String(v)) ? `"${String(v).replace(/"/g, '""')}"` : String(v));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cars-')), 'cars.csv');
  fs.writeFileSync(file, [columns.join(','), ...cars.map((c) => columns.map((k) => cell(c[k])).join(','))].join('\n') + '\n');
  carsCsvPath = file;
  return file;
}

/**
 * Trains one version through the real pipeline (the production worker on the suite's queue), waits for its rollout
 * to promote it (the rollout routes traffic through Deployment rows and waits for this replica to converge), and
 * returns the version; registers the model first when needed. `trainer` overrides the spec's trainer for this run
 * only (the run input carries the spec).
 */
export async function trainVersion(suite: ServingSuite, spec: ModelSpec, csvFile: string, trainer?: ModelSpecInput['trainer']): Promise<{ model: Model; version: number }> {
  const model =
    (await suite.api.registry.findModelByName(spec.name)) ??
    (await suite.api.registry.createModel({ name: spec.name, owner: 'data-scientist@e2e', spec, specHash: specHash(spec) }));
  const source = await putSource(suite.harness, csvFile);
  const runSpec = trainer ? parseModelSpec({ ...spec, trainer }) : spec;
  const { handle } = await startRun(suite.harness, suite.api.temporal as unknown as TestWorkflowEnvironment['client'], model, source, suite.taskQueue, {
    spec: runSpec,
    heartbeatTimeout: '30s',
  });
  const result = await handle.result();
  if (result.status !== 'succeeded' || result.version === undefined) {
    throw new Error(`training ${spec.name} did not register a version: ${JSON.stringify(result.evaluation)}`);
  }
  const rollout = await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(spec.name, result.version)).result();
  if ((rollout as { outcome?: string }).outcome !== 'promoted') throw new Error(`the rollout of ${spec.name} v${result.version} ended ${JSON.stringify(rollout)}`);
  // The rollout waits with its own convergence check; this one also counts replicas that have not picked the
  // model up yet (a first version), so the suite starts once this replica serves the final routing.
  const deployment = await suite.api.registry.findDeployment(model.id);
  await eventually(`${spec.name} v${result.version} served`, async () => {
    const c = await suite.api.registry.deploymentConvergence(model.id, deployment!.revision, 5000);
    return c.converged && c.liveReplicas.length > 0;
  });
  return { model: (await suite.api.registry.findModelByName(spec.name))!, version: result.version };
}

/** A deployment row as the rollout workflow will write it (bumping the revision each time). */
export async function setDeployment(
  suite: ServingSuite,
  modelId: string,
  patch: Partial<Pick<Deployment, 'routes' | 'shadow' | 'stickyKeyHeader' | 'stage'>>,
): Promise<Deployment> {
  const repo = suite.api.registry.dataSource.getRepository(DeploymentEntity);
  const current = await repo.findOneBy({ modelId });
  const next = repo.create({
    modelId,
    revision: (current?.revision ?? 0) + 1,
    routes: patch.routes ?? current?.routes ?? [],
    shadow: patch.shadow !== undefined ? patch.shadow : (current?.shadow ?? null),
    stickyKeyHeader: patch.stickyKeyHeader !== undefined ? patch.stickyKeyHeader : (current?.stickyKeyHeader ?? null),
    stage: patch.stage ?? current?.stage ?? 'canary',
    rolloutWorkflowId: null,
  });
  return suite.api.registry.write((tx) => tx.getRepository(DeploymentEntity).save(next));
}

/** Waits until `check` returns a truthy value (polling), or fails with the last value seen. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

export interface HttpResult {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

export async function call(suite: ServingSuite, method: string, path: string, body?: unknown, headers: Record<string, string> = {}, key: string | null = suite.key): Promise<HttpResult> {
  const response = await fetch(`${suite.api.url}${path}`, {
    method,
    headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' || Buffer.isBuffer(body) ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, json, text };
}

/** Rows of a CSV file as records (numbers where the text is numeric; '' → null). Minimal: no quoted commas. */
export function csvRecords(file: string, limit = Infinity): Record<string, string | number | null>[] {
  const lines = fs.readFileSync(file, 'utf8').trim().split(/\r?\n/);
  const header = lines[0].split(',');
  return lines.slice(1, Number.isFinite(limit) ? 1 + limit : undefined).map((line) => {
    const cells = line.split(',');
    const rec: Record<string, string | number | null> = {};
    header.forEach((h, i) => {
      const v = cells[i] ?? '';
      rec[h] = v === '' ? null : v.trim() !== '' && !Number.isNaN(Number(v)) ? Number(v) : v;
    });
    return rec;
  });
}

/** Records restricted to the model's features, as the friendly endpoint takes them. */
export function featureRecords(records: Record<string, unknown>[], features: FeatureColumn[]): Record<string, unknown>[] {
  return records.map((r) => Object.fromEntries(features.map((f) => [f.name, r[f.name] ?? null])));
}

/** The same records as a TypedTable, for runOnnxModel (numeric columns Float64, categorical strings). */
export function recordsTable(records: Record<string, unknown>[], features: FeatureColumn[]): TypedTable {
  const numeric: Record<string, Float64Array> = {};
  const categorical: Record<string, (string | null)[]> = {};
  for (const f of features) {
    if (f.kind === 'numeric') numeric[f.name] = Float64Array.from(records, (r) => (r[f.name] === null || r[f.name] === undefined ? NaN : Number(r[f.name])));
    else categorical[f.name] = records.map((r) => (r[f.name] === null || r[f.name] === undefined ? null : String(r[f.name])));
  }
  return {
    schema: { columns: features.map((f) => ({ name: f.name, type: f.kind, missingRate: 0 })) },
    rowCount: records.length,
    numeric,
    categorical,
  };
}

/** OIP inputs for records: FP32 [N,1] per numeric feature, BYTES [N,1] per categorical one. */
export function oipInputs(records: Record<string, unknown>[], features: FeatureColumn[]): { name: string; shape: number[]; datatype: string; data: unknown[] }[] {
  return features.map((f) => ({
    name: f.name,
    shape: [records.length, 1],
    datatype: f.kind === 'numeric' ? 'FP32' : 'BYTES',
    data: records.map((r) => (r[f.name] === undefined ? null : f.kind === 'numeric' ? r[f.name] : r[f.name] === null ? null : String(r[f.name]))),
  }));
}

/** The registered ONNX bytes and mlcycle metadata of a version. */
export async function versionModel(suite: ServingSuite, modelId: string, version: number): Promise<{ bytes: Buffer; features: FeatureColumn[]; classes?: string[] }> {
  const v = await suite.api.registry.findVersion(modelId, version);
  const artifact = v!.artifacts.find((a) => a.kind === 'model')!;
  const bytes = await suite.api.store.getBytes(artifact.key, artifact.sha256);
  const meta = readMlcycleMetadata(bytes);
  return { bytes, features: meta.features!, classes: meta.classes };
}
