/**
 * Durability: the worker process is killed with SIGKILL while it is training (no graceful shutdown, no chance to
 * clean up). A new worker picks the run up after the heartbeat timeout, the run completes, and every artifact and
 * registry row exists exactly once.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { createWorker } from '../../worker/create-worker';
import { TASK_QUEUES } from '../../libs/contracts';
import { connectToSharedTemporal, waitUntil } from '../support';
import { listKeys, openPipelineHarness, putSource, registerModel, seattleWeatherCsv, spec, startRun, workflowBundle } from './pipeline-harness';
import type { PipelineHarness } from './pipeline-harness';

const compiledWorker = path.join(__dirname, '..', '..', 'dist', 'worker', 'main.js');

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let child: ChildProcess | undefined;
const prefix = `crash-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  env = await connectToSharedTemporal();
  h = await openPipelineHarness({ MLCYCLE_TASK_QUEUE_PREFIX: prefix });
});

afterAll(async () => {
  child?.kill('SIGKILL');
  await h?.close();
  await env?.teardown();
});

test('a worker killed mid-training loses nothing: the run completes and each artifact is written once', async () => {
  expect(fs.existsSync(compiledWorker)).toBe(true); // npm test compiles dist/ before jest runs
  const taskQueue = `${prefix}-${TASK_QUEUES.control}`;
  child = spawn(process.execPath, [compiledWorker], { env: { ...process.env, ...h.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let childLog = '';
  child.stdout!.on('data', (d) => (childLog += d));
  child.stderr!.on('data', (d) => (childLog += d));

  // Enough boosting rounds that training takes seconds, so the kill lands inside it.
  const model = await registerModel(h, spec({ trainer: { name: 'gbdt', params: { max_iter: 1500, learning_rate: 0.02, early_stopping: false } } }));
  const { runId, handle } = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue, { heartbeatTimeout: '3s' });

  await waitUntil(
    'the train activity to start on the first worker',
    async () => {
      const { raw } = await handle.describe();
      return (raw.pendingActivities ?? []).some((a) => a.activityType?.name === 'trainCandidate' && a.lastStartedTime);
    },
    { timeoutMs: 120_000, intervalMs: 50 },
  ).catch((err) => {
    throw new Error(`${(err as Error).message}\nworker log:\n${childLog}`);
  });
  child.kill('SIGKILL');
  await new Promise((resolve) => child!.once('exit', resolve));

  const replacement = await createWorker({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    deps: { config: h.config, registry: h.registry, store: h.store },
    workflowBundle: await workflowBundle(),
  });
  const result = await replacement.runUntil(handle.result()).catch((err: unknown) => {
    const chain: string[] = [];
    for (let e = err as Error | undefined; e; e = (e as { cause?: Error }).cause) chain.push(`${e.name}: ${e.message}`);
    throw new Error(`the run failed after the crash: ${chain.join(' <- ')}\nfirst worker's log:\n${childLog}`);
  });

  expect(result.status).toBe('succeeded');
  // The training activity really was lost with the first worker and ran again on the second.
  const history = await handle.fetchHistory();
  const trainAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && (e.activityTaskStartedEventAttributes.attempt ?? 1) > 1);
  expect(trainAttempts.length).toBeGreaterThanOrEqual(1);

  expect(await h.registry.listVersions(model.id)).toHaveLength(1);
  expect(await h.registry.listDatasets(model.id)).toHaveLength(1);
  expect(await listKeys(h, 'datasets/')).toHaveLength(1);
  expect(await listKeys(h, 'models/')).toHaveLength(1); // deterministic training: the retry produced the same bytes
  expect(await listKeys(h, 'splits/')).toHaveLength(1);
  expect((await h.registry.findRun(runId))?.status).toBe('succeeded');
});
