/**
 * External trainers through the whole pipeline: a command registered on the worker by name (never sent by the
 * API) trains in another language and hands back ONNX. A trainer that writes no model, or writes garbage, fails
 * the run non-retryably with the reason.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../libs/contracts';
import { openPipelineSuite, putSource, registerModel, seattleWeatherCsv, spec, startRun } from './pipeline-harness';
import type { PipelineHarness, PipelineSuite } from './pipeline-harness';

const examples = path.join(__dirname, '..', '..', 'examples', 'trainers');
const hasSklearn = spawnSync('python3', ['-c', 'import sklearn, skl2onnx, onnx, pandas'], { stdio: 'ignore' }).status === 0;

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let taskQueue: string;
let suite: PipelineSuite;
let registryDir: string;

beforeAll(async () => {
  registryDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-trainers-'));
  const registry = {
    sklearn: { command: ['python3', path.join(examples, 'sklearn_trainer.py')], description: 'the shipped example' },
    'writes-nothing': { command: ['python3', '-c', 'print("trained, honest")'], description: 'exits 0 without a model' },
    'writes-garbage': {
      command: ['python3', '-c', 'import os; open(os.path.join(os.environ["MLCYCLE_OUTPUT_DIR"], "model.onnx"), "wb").write(b"not onnx")'],
      description: 'writes bytes that are not ONNX',
    },
  };
  fs.writeFileSync(path.join(registryDir, 'trainers.json'), JSON.stringify(registry));
  suite = await openPipelineSuite('external', { MLCYCLE_EXTERNAL_TRAINERS: path.join(registryDir, 'trainers.json') });
  ({ env, h, taskQueue } = suite);
});

afterAll(async () => {
  await suite?.close();
  fs.rmSync(registryDir, { recursive: true, force: true });
});

(hasSklearn ? test : test.skip)(
  'the scikit-learn example trainer produces a registered version evaluated by onnxruntime (needs python3 with scikit-learn, skl2onnx, onnx, pandas)',
  async () => {
    const model = await registerModel(h, spec({ trainer: { name: 'sklearn', params: { C: 1.0 } } }));
    const { handle } = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
    const result = await handle.result();
    expect(result.status).toBe('succeeded');
    expect(result.evaluation.candidate).toBeGreaterThan(result.evaluation.baseline);
    const version = (await h.registry.findVersion(model.id, result.version!))!;
    expect(version.lineage.trainer).toBe('sklearn');
  },
);

test.each([
  ['writes-nothing', /model\.onnx/],
  ['writes-garbage', /onnx/i],
])('an external trainer that %s fails the run with TrainerFailed', async (trainer, reason) => {
  const model = await registerModel(h, spec({ trainer: { name: trainer, params: {} } }));
  const { handle, runId } = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
  const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = failure.cause as ApplicationFailure;
  expect(cause.type).toBe(FAILURE_TYPES.trainerFailed);
  expect(cause.message).toMatch(reason);
  expect((await h.registry.findRun(runId))?.status).toBe('failed');
  expect(await h.registry.listVersions(model.id)).toHaveLength(0);
});
