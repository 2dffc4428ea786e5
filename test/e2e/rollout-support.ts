/**
 * What the approval and rollout e2e suites share: the API app (which is also a serving replica) with the production
 * worker polling its control queue in-process, one model trained for real through HTTP (register, upload, run), and
 * a helper that gives each test a model of its own with a champion v1 and a registered candidate v2 — both the
 * trained ONNX model, registered as the pipeline's register step would, so replicas really load and serve them and
 * each test controls who authored the candidate's run. Rollouts are started through POST …/rollout, the endpoint
 * under test, so the suites do not depend on whether the training pipeline starts them itself.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { NativeConnection } from '@temporalio/worker';
import type { Worker } from '@temporalio/worker';
import type TestAgent from 'supertest/lib/agent';
import { taskQueue } from '../../libs/config';
import { rolloutWorkflowId, TASK_QUEUES, trainingWorkflowId } from '../../libs/contracts';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { readMlcycleMetadata } from '../../libs/ml/onnx';
import type { FeatureColumn } from '../../libs/ml/data/types';
import { ModelVersion } from '../../libs/registry';
import { waitUntil } from '../support';
import { createWorker } from '../../worker/create-worker';
import { workflowBundle } from '../workflows/pipeline-harness';
import { startApiApp, uniqueName } from './api-app';
import type { ApiTestApp, DbKind } from './api-app';

export const WEATHER_CSV = bundledDatasetPath('weather.csv');

/** The data scientist who trains every candidate: four-eyes binds to this identity. */
export const AUTHOR = 'alice@e2e';

export interface Candidate {
  name: string;
  modelId: string;
  /** the score on the primary metric (accuracy) registered for the champion v1 and the candidate v2 */
  championScore: number;
  candidateScore: number;
}

export interface RolloutSuite {
  api: ApiTestApp;
  /** the version trained through HTTP, whose artifacts every test model reuses */
  trained: ModelVersion;
  /** the trained model's input columns, for sending predictions */
  features: FeatureColumn[];
  as(roles: Parameters<ApiTestApp['keyFor']>[0], identity: string): Promise<TestAgent>;
  /** A model of its own: champion v1 and registered candidate v2, both from runs started by AUTHOR. */
  modelWithCandidate(policy?: { approval?: Record<string, unknown>; rollout?: Record<string, unknown> }): Promise<Candidate>;
  /** Registers one more version of `name` (registered, not promoted) from a run by AUTHOR; returns its number. */
  addVersion(name: string, score: number): Promise<number>;
  close(): Promise<void>;
}

/**
 * The spec every test model uses: the weather data's location (Seattle or New York) from the day's weather, rolled
 * out as a canary 50% → 100% that bakes a second per step. The latency guardrail is relaxed: a handful of requests
 * on a shared CI machine says nothing about p99, and a test that rolls back must be the one asking for it.
 */
export function rolloutSpec(name: string, policy: { approval?: Record<string, unknown>; rollout?: Record<string, unknown> } = {}): Record<string, unknown> {
  const { canary, guardrails, ...rollout } = (policy.rollout ?? {}) as { canary?: object; guardrails?: object };
  return {
    name,
    task: 'binary_classification',
    target: 'location',
    features: { exclude: ['date'] },
    trainer: { name: 'logistic_regression', params: { C: 1 } },
    split: { seed: 5 },
    evaluation: { primaryMetric: 'accuracy', mustBeatBaseline: false },
    approval: { policy: 'always', timeout: '1h', ...policy.approval },
    rollout: {
      strategy: ['canary'],
      canary: { steps: [50, 100], bakeTime: '1s', minRequests: 0, ...canary },
      guardrails: { maxP99LatencyRatio: 1000, ...guardrails },
      ...rollout,
    },
  };
}

export async function openRolloutSuite(db: DbKind, overrides: Record<string, string> = {}): Promise<RolloutSuite> {
  const api = await startApiApp(db, {
    MLCYCLE_UPLOAD_MAX_BYTES: String(16 * 1024 * 1024),
    MLCYCLE_SERVING_RECONCILE_MS: '200',
    MLCYCLE_SERVING_STATS_FLUSH_MS: '500',
    ...overrides,
  });
  let connection: NativeConnection | undefined;
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const names: string[] = [];
  const close = async (): Promise<void> => {
    // A failed test can leave a rollout waiting (for a reviewer, or in a 1h bake): end them before the worker goes.
    for (const name of names) {
      for (let v = 1; v <= 4; v++) await api.temporal.workflow.getHandle(rolloutWorkflowId(name, v)).terminate('e2e cleanup').catch(() => undefined);
    }
    worker?.shutdown();
    await running;
    await connection?.close();
    await api.close();
  };
  try {
    connection = await NativeConnection.connect({ address: api.config.temporal.address });
    worker = await createWorker({
      connection,
      namespace: api.config.temporal.namespace,
      taskQueue: taskQueue(api.config, TASK_QUEUES.control),
      deps: { config: api.config, registry: api.registry, store: api.store },
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();

    const trained = await trainThroughHttp(api, names);
    const modelArtifact = trained.artifacts.find((a) => a.kind === 'model')!;
    const features = readMlcycleMetadata(await api.store.getBytes(modelArtifact.key, modelArtifact.sha256)).features!;
    const trainedScore = Number(trained.metrics.accuracy);

    const addVersion = async (name: string, score: number, promote = false, comparedWith?: { version: number; score: number }): Promise<number> => {
      const model = (await api.registry.findModelByName(name))!;
      const runId = randomUUID();
      await api.registry.createRun({
        id: runId,
        modelId: model.id,
        source: trained.lineage.datasetSource,
        specHash: model.specHash,
        workflowId: trainingWorkflowId(name, runId),
        requestedBy: AUTHOR,
        steps: [],
      });
      const version = await api.registry.registerVersion(
        {
          modelId: model.id,
          runId,
          metrics: { ...trained.metrics, accuracy: score },
          lineage: { ...trained.lineage, runId, workflowId: trainingWorkflowId(name, runId), comparedWithVersion: comparedWith?.version },
          artifacts: trained.artifacts,
          promote,
        },
        AUTHOR,
      );
      // As the rollout's promote step leaves a champion (registration alone only moves the alias).
      if (promote) await api.registry.write((tx) => tx.getRepository(ModelVersion).update({ id: version.id }, { status: 'champion' }));
      const report = trained.artifacts.find((a) => a.kind === 'evaluation_report')!;
      await api.registry.updateRun(runId, {
        status: 'succeeded',
        version: version.version,
        finishedAt: new Date(),
        evaluation: {
          passed: true,
          reasons: [],
          primaryMetric: 'accuracy',
          candidate: score,
          baseline: 0.5,
          reportKey: report.key,
          ...(comparedWith ? { champion: comparedWith.score, championVersion: comparedWith.version } : {}),
        },
      });
      return version.version;
    };

    return {
      api,
      trained,
      features,
      as: (roles, identity) => api.as(roles, identity),
      async modelWithCandidate(policy = {}) {
        const name = uniqueName('ro');
        names.push(name);
        const created = await (await api.as('data-scientist', AUTHOR)).post('/v1/models').send(rolloutSpec(name, policy));
        if (created.status !== 201) throw new Error(`registering ${name}: ${created.status} ${JSON.stringify(created.body)}`);
        // The champion measured on the candidate's test rows scores a little under the candidate.
        const championScore = round(trainedScore - 0.02);
        const candidateScore = round(trainedScore);
        expect(await addVersion(name, championScore, true)).toBe(1);
        expect(await addVersion(name, candidateScore, false, { version: 1, score: round(championScore - 0.001) })).toBe(2);
        return { name, modelId: created.body.id, championScore, candidateScore };
      },
      addVersion: (name, score) => addVersion(name, score),
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Trains a real version through HTTP exactly as a user would, and waits until it is the model's champion. */
async function trainThroughHttp(api: ApiTestApp, names: string[]): Promise<ModelVersion> {
  const name = uniqueName('base');
  names.push(name);
  // approval never: the pipeline starts the rollout itself, and the first version is promoted without a reviewer.
  const { version } = await startTrainingThroughHttp(api, name, { approval: { policy: 'never' } });
  const http = await api.as('data-scientist', AUTHOR);
  await waitUntil(`v${version} of ${name} to be the champion`, async () => (await http.get(`/v1/models/${name}`)).body.champion?.version === version, {
    timeoutMs: 60_000,
  });
  const model = (await api.registry.findModelByName(name))!;
  return (await api.registry.findVersion(model.id, version))!;
}

/** Creates the model, uploads the weather data and trains it through HTTP as AUTHOR; returns the registered version. */
export async function startTrainingThroughHttp(
  api: ApiTestApp,
  name: string,
  policy: { approval?: Record<string, unknown>; rollout?: Record<string, unknown> },
): Promise<{ version: number; runId: string }> {
  const http = await api.as('data-scientist', AUTHOR);
  const created = await http.post('/v1/models').send(rolloutSpec(name, policy));
  expect(created.status).toBe(201);
  const upload = await http.post(`/v1/models/${name}/datasets?format=csv`).set('Content-Type', 'text/csv').send(fs.readFileSync(WEATHER_CSV, 'utf8'));
  expect(upload.status).toBe(201);
  const run = await http.post(`/v1/models/${name}/runs`).send({ source: upload.body.source });
  expect(run.status).toBe(202);
  let last: { status: string; error: string | null; version: number | null } = { status: 'queued', error: null, version: null };
  await waitUntil(
    `training run ${run.body.runId} to finish`,
    async () => {
      last = (await http.get(`/v1/runs/${run.body.runId}`)).body;
      return ['succeeded', 'failed', 'rejected'].includes(last.status);
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  expect({ status: last.status, error: last.error }).toEqual({ status: 'succeeded', error: null });
  return { version: last.version!, runId: run.body.runId };
}

function round(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}

/** Polls `probe` until it returns something truthy; returns that. */
export async function eventually<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 60_000): Promise<T> {
  let value: T | null | undefined | false;
  await waitUntil(what, async () => Boolean((value = await probe())), { timeoutMs, intervalMs: 200 });
  return value as T;
}
