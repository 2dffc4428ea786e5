/**
 * What the training-pipeline workflow tests share: an app configuration pointed at the shared test servers with
 * a bucket, database and work directory of the suite's own, the registry and artifact store on it, and helpers
 * to register a model and start a run the way the API does.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime } from '@temporalio/worker';
import type { WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { DataSource } from 'typeorm';
import { ArtifactStore } from '../../libs/artifacts';
import { loadConfig } from '../../libs/config';
import type { AppConfig } from '../../libs/config';
import { PIPELINE_STEPS, trainingWorkflowId } from '../../libs/contracts';
import type { RolloutState, TrainingPipelineInput, TrainingPipelineResult } from '../../libs/contracts';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import type { ModelSpec, ModelSpecInput } from '../../libs/ml/spec';
import { openRegistry, RegistryService } from '../../libs/registry';
import type { Model } from '../../libs/registry';
import { appEnvForTests, connectToSharedTemporal, tempSqlitePath, uniqueTaskQueue } from '../support';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { createWorker, workflowsPath } from '../../worker/create-worker';

// Worker state changes and task failures the tests provoke on purpose are noise; real problems fail assertions.
try {
  Runtime.install({ logger: new DefaultLogger('WARN') });
} catch {
  // already installed by another suite in this process
}

export interface PipelineHarness {
  config: AppConfig;
  env: Record<string, string>;
  dataSource: DataSource;
  registry: RegistryService;
  store: ArtifactStore;
  close(): Promise<void>;
}

export async function openPipelineHarness(overrides: Record<string, string> = {}): Promise<PipelineHarness> {
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-work-'));
  const env = appEnvForTests({
    MLCYCLE_S3_BUCKET: `wf-${randomUUID().slice(0, 13)}`,
    MLCYCLE_DB_TYPE: 'sqlite',
    MLCYCLE_DB_PATH: tempSqlitePath(),
    MLCYCLE_WORK_DIR: workDir,
    ...overrides,
  });
  const config = loadConfig(env);
  const dataSource = await openRegistry(config.db);
  const store = new ArtifactStore(config.s3);
  await store.ensureBucket();
  return {
    config,
    env,
    dataSource,
    registry: new RegistryService(dataSource),
    store,
    close: async () => {
      await dataSource.destroy();
      fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;
/** The workflow bundle, built once per test file (webpack takes a few seconds). */
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} } as never });
  return bundle;
}

export function seattleWeatherCsv(): string {
  return bundledDatasetPath('seattle-weather.csv');
}

export function spec(overrides: Partial<ModelSpecInput> = {}): ModelSpec {
  return parseModelSpec({
    name: `wf-${randomUUID().slice(0, 8)}`,
    task: 'multiclass_classification',
    target: 'weather',
    features: { exclude: ['date'] },
    trainer: { name: 'logistic_regression', params: {} },
    split: { seed: 7 },
    evaluation: { primaryMetric: 'balanced_accuracy', mustBeatBaseline: true },
    // No reviewer in these suites: a registered version is promoted by its rollout straight away.
    approval: { policy: 'never' },
    ...overrides,
  });
}

export async function registerModel(h: PipelineHarness, modelSpec: ModelSpec): Promise<Model> {
  return (await h.registry.findModelByName(modelSpec.name)) ??
    h.registry.createModel({ name: modelSpec.name, owner: 'data-scientist@test', spec: modelSpec, specHash: specHash(modelSpec) });
}

/** Puts a local file in the suite's bucket and returns its s3:// source. */
export async function putSource(h: PipelineHarness, file: string, key = `incoming/${randomUUID()}/${path.basename(file)}`): Promise<string> {
  await h.store.client.fPutObject(h.config.s3.bucket, key, file, {});
  return `s3://${h.config.s3.bucket}/${key}`;
}

export async function startRun(
  h: PipelineHarness,
  client: TestWorkflowEnvironment['client'],
  model: Model,
  source: string,
  taskQueue: string,
  extra: Partial<TrainingPipelineInput> = {},
) {
  const runId = randomUUID();
  const workflowId = trainingWorkflowId(model.name, runId);
  await h.registry.createRun({
    id: runId,
    modelId: model.id,
    source,
    specHash: model.specHash,
    workflowId,
    requestedBy: 'data-scientist@test',
    steps: PIPELINE_STEPS.map((step) => ({ step, status: 'pending' })),
  });
  const input: TrainingPipelineInput = {
    runId,
    modelId: model.id,
    modelName: model.name,
    spec: model.spec,
    specHash: model.specHash,
    source,
    requestedBy: 'data-scientist@test',
    ...extra,
  };
  const handle = await client.workflow.start('trainingPipelineWorkflow', {
    taskQueue,
    workflowId,
    args: [input],
    searchAttributes: { MlcycleModel: [model.name], MlcycleStatus: ['queued'] },
  });
  return { runId, workflowId, handle };
}

/** Waits for the rollout the pipeline started for its version and returns the rollout's final state. */
export async function rolloutOutcome(client: TestWorkflowEnvironment['client'], result: TrainingPipelineResult): Promise<RolloutState> {
  if (!result.rolloutWorkflowId) throw new Error(`run ${result.runId} started no rollout (status ${result.status})`);
  return client.workflow.getHandle(result.rolloutWorkflowId).result();
}

/** Object keys under a prefix in the suite's bucket. */
export async function listKeys(h: PipelineHarness, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of h.store.client.listObjectsV2(h.config.s3.bucket, prefix, true)) {
    if (item.name) keys.push(item.name);
  }
  return keys.sort();
}

export interface PipelineSuite {
  env: TestWorkflowEnvironment;
  h: PipelineHarness;
  taskQueue: string;
  close(): Promise<void>;
}

/** Shared Temporal connection, a fresh harness, and a production worker polling a queue of the suite's own. */
export async function openPipelineSuite(queuePrefix: string, overrides: Record<string, string> = {}): Promise<PipelineSuite> {
  const env = await connectToSharedTemporal();
  const h = await openPipelineHarness(overrides);
  const taskQueue = uniqueTaskQueue(queuePrefix);
  const worker = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: { config: h.config, registry: h.registry, store: h.store },
    workflowBundle: await workflowBundle(),
  });
  const running = worker.run();
  return {
    env,
    h,
    taskQueue,
    close: async () => {
      worker.shutdown();
      await running;
      await h.close();
      await env.teardown();
    },
  };
}
