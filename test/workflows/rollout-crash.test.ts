/**
 * Rollout durability: the worker process is killed with SIGKILL in the middle of a canary, and again in the middle
 * of a rollback while it waits for a serving replica to converge. A new worker finishes the job: the rollout is
 * promoted, or compensation completes and the champion is back, with every routing change recorded once.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { rolloutStateQuery, rolloutWorkflowId, TASK_QUEUES } from '../../libs/contracts';
import type { RolloutInput, RolloutState } from '../../libs/contracts';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import type { ModelSpecInput } from '../../libs/ml/spec';
import { AuditEvent, Deployment, ReplicaStatus, ServingStats } from '../../libs/registry';
import type { Model } from '../../libs/registry';
import { createWorker } from '../../worker/create-worker';
import { connectToSharedTemporal, waitUntil } from '../support';
import { openPipelineHarness, workflowBundle } from './pipeline-harness';
import type { PipelineHarness } from './pipeline-harness';

const compiledWorker = path.join(__dirname, '..', '..', 'dist', 'worker', 'main.js');
const prefix = `ro-crash-${randomUUID().slice(0, 8)}`;
const taskQueue = `${prefix}-${TASK_QUEUES.control}`;

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let child: ChildProcess | undefined;
let replacement: Worker | undefined;
let replacementRun: Promise<void> | undefined;

beforeAll(async () => {
  env = await connectToSharedTemporal();
  h = await openPipelineHarness({ MLCYCLE_TASK_QUEUE_PREFIX: prefix });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  replacement?.shutdown();
  await replacementRun;
  await h?.close();
  await env?.teardown();
});

function startWorkerProcess(): ChildProcess {
  expect(fs.existsSync(compiledWorker)).toBe(true); // npm test compiles dist/ before jest runs
  return spawn(process.execPath, [compiledWorker], { env: { ...process.env, ...h.env }, stdio: 'ignore' });
}

async function killWorkerProcess(): Promise<void> {
  const exited = new Promise((resolve) => child!.once('exit', resolve));
  child!.kill('SIGKILL');
  await exited;
  child = undefined;
}

async function startReplacementWorker(): Promise<void> {
  replacement = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: { config: h.config, registry: h.registry, store: h.store },
    workflowBundle: await workflowBundle(),
  });
  replacementRun = replacement.run();
}

async function modelWithCandidate(overrides: Partial<ModelSpecInput>): Promise<{ model: Model; input: RolloutInput }> {
  const name = `rc-${randomUUID().slice(0, 8)}`;
  const spec = parseModelSpec({
    name,
    task: 'binary_classification',
    target: 'y',
    trainer: { name: 'logistic_regression' },
    evaluation: { primaryMetric: 'accuracy' },
    approval: { policy: 'never' },
    ...overrides,
  });
  const model = await h.registry.createModel({ name, owner: 'alice', spec, specHash: specHash(spec) });
  for (const version of [1, 2]) {
    const runId = randomUUID();
    await h.registry.createRun({ id: runId, modelId: model.id, source: 'dataset:x', specHash: 'h', workflowId: `train/${name}/${runId}`, requestedBy: 'alice', steps: [] });
    await h.registry.registerVersion(
      {
        modelId: model.id, runId, metrics: {}, artifacts: [], promote: version === 1,
        lineage: { datasetId: 'd', datasetSha256: 'a', datasetSource: 'd', splitSeed: 1, splitMembershipHash: 'b', specHash: 'h', trainer: 't', params: {}, codeVersion: { package: 'p' }, workflowId: 'w', workflowRunId: 'r', runId },
      },
      'alice',
    );
  }
  const input: RolloutInput = {
    modelId: model.id, modelName: name, version: 2, requestedBy: 'alice', primaryMetric: 'accuracy', candidateScore: 0.9, championVersion: 1, championScore: 0.8,
    policy: { approval: spec.approval, rollout: spec.rollout }, approvalId: randomUUID(), checkInterval: '200ms', convergenceTimeout: '2m',
  };
  return { model, input };
}

async function revisions(model: Model): Promise<number[]> {
  const changes = await h.dataSource.getRepository(AuditEvent).find({ where: { action: 'deployment.changed', entityId: model.id }, order: { id: 'ASC' } });
  return changes.map((c) => (c.details as { revision: number }).revision);
}

test('a worker killed during the canary: the next worker finishes the rollout and promotes', async () => {
  child = startWorkerProcess();
  const { model, input } = await modelWithCandidate({ rollout: { strategy: ['canary'], canary: { steps: [50, 100], bakeTime: '4s', minRequests: 0 } } });
  const handle = await env.client.workflow.start('rolloutWorkflow', { taskQueue, workflowId: rolloutWorkflowId(model.name, 2), args: [input] });
  await waitUntil('the first canary step', async () => (await handle.query(rolloutStateQuery).catch(() => undefined))?.step?.weight === 50, { timeoutMs: 60_000, intervalMs: 100 });
  await killWorkerProcess();
  await startReplacementWorker();

  const final: RolloutState = await handle.result();
  expect(final.outcome).toBe('promoted');
  expect((await h.registry.findModelById(model.id))?.championVersion).toBe(2);
  expect(await h.dataSource.getRepository(Deployment).findOneBy({ modelId: model.id })).toMatchObject({ routes: [{ version: 2, weight: 100 }], stage: 'promoted' });
  expect(await revisions(model)).toEqual([1, 2, 3]); // canary 50, canary 100, promotion: each exactly once
  replacement!.shutdown();
  await replacementRun;
  replacement = undefined;
});

test('a worker killed during the rollback: compensation completes on the next worker', async () => {
  child = startWorkerProcess();
  const { model, input } = await modelWithCandidate({ rollout: { strategy: ['canary'], canary: { steps: [50, 100], bakeTime: '1h', minRequests: 0 } } });
  const replicas = h.dataSource.getRepository(ReplicaStatus);
  // A serving replica that is live (it keeps reporting) but applies routing changes only when the test says so.
  let appliedRevision = 0;
  const report = () => replicas.save({ replicaId: 'replica-under-test', modelId: model.id, revision: appliedRevision, loadedVersions: [1, 2], ready: true, error: null, reportedAt: new Date() });
  const heartbeat = setInterval(() => void report(), 500);
  try {
    await report();
    const handle = await env.client.workflow.start('rolloutWorkflow', { taskQueue, workflowId: rolloutWorkflowId(model.name, 2), args: [input] });
    // Let the replica converge on the canary's revision, then report a failing candidate.
    await waitUntil('the canary routing', async () => (await h.dataSource.getRepository(Deployment).findOneBy({ modelId: model.id }))?.stage === 'canary', { timeoutMs: 60_000 });
    appliedRevision = 1;
    await report();
    await waitUntil('the canary bake', async () => (await handle.query(rolloutStateQuery)).lastReading?.stage === 'canary', { timeoutMs: 60_000 });
    await h.dataSource.getRepository(ServingStats).save({ modelId: model.id, version: 2, replicaId: 'replica-under-test', kind: 'live', windowStart: new Date(), requests: 100, errors: 60, latencyBuckets: { '5': 100 }, predictions: { a: 100 }, agreements: 0 });
    // Compensation writes the rollback routing and waits for the replica, which has not applied it yet.
    await waitUntil('compensation to wait for the replica', async () => (await handle.query(rolloutStateQuery)).stage === 'rolling_back', { timeoutMs: 60_000 });
    await waitUntil('the rollback routing', async () => (await h.dataSource.getRepository(Deployment).findOneBy({ modelId: model.id }))?.stage === 'rolled_back', { timeoutMs: 60_000 });
    await killWorkerProcess();
    await startReplacementWorker();
    appliedRevision = 2;
    await report();

    const final: RolloutState = await handle.result();
    expect(final.outcome).toBe('rolled_back');
    expect(final.reason).toMatch(/error rate/);
    expect((await h.registry.findModelById(model.id))?.championVersion).toBe(1);
    expect((await h.registry.findVersion(model.id, 2))?.status).toBe('rolled_back');
    expect(await h.dataSource.getRepository(Deployment).findOneBy({ modelId: model.id })).toMatchObject({ routes: [{ version: 1, weight: 100 }], stage: 'rolled_back', revision: 2 });
    expect(await revisions(model)).toEqual([1, 2]); // the rollback change was applied once, although its worker died
  } finally {
    clearInterval(heartbeat);
  }
});
