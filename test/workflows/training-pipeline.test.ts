/**
 * trainingPipelineWorkflow on the real Temporal dev server, real MinIO and a real registry database, with the
 * production activities: the happy path with lineage, snapshot reuse and the champion comparison, bad data that
 * fails fast with its report, and a worker killed mid-pipeline.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES, trainingRunStateQuery } from '../../libs/contracts';
import type { TrainingPipelineResult } from '../../libs/contracts';
import { recordHistoryIfAsked } from '../replay/record';
import {
  listKeys,
  openPipelineSuite,
  putSource,
  rolloutOutcome,
  registerModel,
  seattleWeatherCsv,
  spec,
  startRun,
} from './pipeline-harness';
import type { PipelineHarness, PipelineSuite } from './pipeline-harness';

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let taskQueue: string;
let suite: PipelineSuite;

beforeAll(async () => {
  suite = await openPipelineSuite('pipeline');
  ({ env, h, taskQueue } = suite);
});

afterAll(async () => suite?.close());

describe('trainingPipelineWorkflow', () => {
  test('trains, evaluates and registers a version with full lineage, visible in the registry and Temporal', async () => {
    const modelSpec = spec();
    const model = await registerModel(h, modelSpec);
    const source = await putSource(h, seattleWeatherCsv());
    const { runId, workflowId, handle } = await startRun(h, env.client, model, source, taskQueue);

    const result: TrainingPipelineResult = await handle.result();
    expect(result.status).toBe('succeeded');
    expect(result.version).toBe(1);
    expect(result.evaluation.passed).toBe(true);
    expect(result.evaluation.candidate).toBeGreaterThan(result.evaluation.baseline);

    // The live query and the registry row agree on every step.
    const state = await handle.query(trainingRunStateQuery);
    expect(state.steps.map((s) => [s.step, s.status])).toEqual(
      ['ingest', 'validate', 'profile', 'split', 'train', 'evaluate', 'register'].map((s) => [s, 'succeeded']),
    );
    expect(state.steps.every((s) => s.startedAt && s.finishedAt)).toBe(true);
    const run = await h.registry.findRun(runId);
    expect(run?.status).toBe('succeeded');
    expect(run?.version).toBe(1);
    expect(run?.workflowRunId).toBe(handle.firstExecutionRunId);
    expect(run?.steps.every((s) => s.status === 'succeeded')).toBe(true);

    // Lineage: from the version back to the exact bytes of data.
    const version = (await h.registry.findVersion(model.id, 1))!;
    const dataset = (await h.registry.findDataset(result.datasetId))!;
    expect(version.lineage).toMatchObject({
      datasetId: dataset.id,
      datasetSha256: dataset.sha256,
      splitSeed: 7,
      specHash: model.specHash,
      trainer: 'logistic_regression',
      workflowId,
      runId,
    });
    expect(version.lineage.splitMembershipHash).toMatch(/^[0-9a-f]{64}$/);
    expect(version.lineage.codeVersion.package).toMatch(/^mlcycle@/);
    expect(version.metrics).toHaveProperty('balanced_accuracy');
    expect(version.metrics).toHaveProperty('confusion_matrix');
    expect(version.artifacts.map((a) => a.kind).sort()).toEqual(
      ['dataset', 'evaluation_report', 'model', 'profile', 'split', 'validation_report'].sort(),
    );
    for (const artifact of version.artifacts) {
      const bytes = await h.store.getBytes(artifact.key, artifact.sha256); // throws if the sha256 does not match
      expect(bytes.length).toBe(artifact.sizeBytes);
    }
    expect(dataset.validationStatus === 'passed' || dataset.validationStatus === 'warnings').toBe(true);
    expect(dataset.rowCount).toBe(1461);
    // Registration hands the version to its rollout; with no champion yet and no approval needed, it is promoted.
    expect(result.rolloutWorkflowId).toBe(`rollout/${model.name}/v1`);
    expect((await rolloutOutcome(env.client, result)).outcome).toBe('promoted');
    expect((await h.registry.findChampion(model.id))?.version).toBe(1);

    // Operators find the run in the Temporal UI by its search attributes.
    recordHistoryIfAsked('trainingPipelineWorkflow', workflowId);

    const description = await handle.describe();
    expect(description.searchAttributes).toMatchObject({ MlcycleModel: [model.name], MlcycleStatus: ['succeeded'], MlcycleStep: ['register'] });
  });

  test('the same bytes reuse one snapshot, and a candidate that only ties the champion is not registered', async () => {
    const modelSpec = spec();
    const model = await registerModel(h, modelSpec);
    const first = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
    const firstResult = await first.handle.result();
    expect(firstResult.status).toBe('succeeded');
    expect((await rolloutOutcome(env.client, firstResult)).outcome).toBe('promoted');

    // Same file under another key: same sha256, so the same snapshot; same seed and trainer: the same model.
    const second = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
    const secondResult = await second.handle.result();
    expect(secondResult.datasetId).toBe(firstResult.datasetId);
    expect(secondResult.status).toBe('rejected');
    expect(secondResult.version).toBeUndefined();
    expect(secondResult.evaluation.championVersion).toBe(1);
    expect(secondResult.evaluation.champion).toBeCloseTo(secondResult.evaluation.candidate, 10);
    expect(secondResult.evaluation.reasons.join(' ')).toMatch(/does not beat champion v1/);
    expect(await h.registry.listVersions(model.id)).toHaveLength(1);
    expect((await h.registry.listDatasets(model.id)).length).toBe(1);
    expect((await h.registry.findRun(second.runId))?.status).toBe('rejected');
  });

  test('data without the target column fails fast, non-retryably, with the validation report', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-bad-'));
    const file = path.join(dir, 'no-target.csv');
    const lines = fs.readFileSync(seattleWeatherCsv(), 'utf8').trim().split('\n');
    fs.writeFileSync(file, lines.map((l) => l.split(',').slice(0, 5).join(',')).join('\n'));
    const model = await registerModel(h, spec());
    const { runId, handle } = await startRun(h, env.client, model, await putSource(h, file), taskQueue);

    const failure = await handle.result().then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    const cause = (failure as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(FAILURE_TYPES.dataValidationFailed);
    expect((cause as ApplicationFailure).nonRetryable).toBe(true);
    expect(cause?.message).toMatch(/weather/);
    const [report] = (cause as ApplicationFailure).details as [{ errors: { code: string }[]; reportKey: string }];
    expect(report.errors.length).toBeGreaterThan(0);
    expect(await h.store.stat(report.reportKey)).not.toBeNull();

    // One attempt only: a retry cannot fix the data.
    const history = await handle.fetchHistory();
    const validateAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.attempt && e.activityTaskStartedEventAttributes.attempt > 1);
    expect(validateAttempts).toHaveLength(0);
    const run = await h.registry.findRun(runId);
    expect(run?.status).toBe('failed');
    expect(run?.error).toMatch(/weather/);
    expect(run?.steps.find((s) => s.step === 'validate')?.status).toBe('failed');
    expect(await h.registry.listVersions(model.id)).toHaveLength(0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a source that does not exist fails with SourceNotFound and writes no snapshot', async () => {
    const model = await registerModel(h, spec());
    const { handle } = await startRun(h, env.client, model, `s3://${h.config.s3.bucket}/missing/nothing.csv`, taskQueue);
    const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect(failure).toBeInstanceOf(WorkflowFailedError);
    expect((failure.cause as ApplicationFailure).type).toBe(FAILURE_TYPES.sourceNotFound);
    expect(await h.registry.listDatasets(model.id)).toHaveLength(0);
  });

  test('an unknown trainer fails with UnknownTrainer naming the trainers that exist', async () => {
    const model = await registerModel(h, spec({ trainer: { name: 'no-such-trainer', params: {} } }));
    const { handle } = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
    const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
    expect((failure.cause as ApplicationFailure).type).toBe(FAILURE_TYPES.unknownTrainer);
    expect(failure.cause?.message).toMatch(/gbdt/);
  });

  test('a grid trains candidates in parallel and registers the best on the validation split', async () => {
    const model = await registerModel(
      h,
      spec({ trainer: { name: 'gbdt', params: { max_iter: 30 }, grid: [{ max_leaf_nodes: 4 }, { max_leaf_nodes: 15 }] } }),
    );
    const { handle } = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
    const result = await handle.result();
    const state = await handle.query(trainingRunStateQuery);
    expect(state.candidates).toHaveLength(2);
    const best = Math.max(...state.candidates!.map((c) => c.validationScore));
    const version = (await h.registry.findVersion(model.id, result.version!))!;
    const chosen = state.candidates!.find((c) => c.validationScore === best)!;
    expect(version.artifacts.find((a) => a.kind === 'model')?.sha256).toBe(chosen.sha256);
    expect(await listKeys(h, 'models/')).toEqual(expect.arrayContaining(state.candidates!.map((c) => c.modelKey)));
  });
});
