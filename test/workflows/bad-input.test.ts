/**
 * Bad input through the real pipeline: each case fails fast with a non-retryable failure whose type and message
 * say what to fix, and leaves no version behind (and no snapshot where the bytes could not be stored sensibly).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { FAILURE_TYPES } from '../../libs/contracts';
import type { ModelSpecInput } from '../../libs/ml/spec';
import { openPipelineSuite, putSource, registerModel, seattleWeatherCsv, spec, startRun } from './pipeline-harness';
import type { PipelineHarness, PipelineSuite } from './pipeline-harness';

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let taskQueue: string;
let suite: PipelineSuite;
let dir: string;
const weatherLines = (): string[] => fs.readFileSync(seattleWeatherCsv(), 'utf8').trim().split('\n');

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-bad-input-'));
  suite = await openPipelineSuite('bad-input');
  ({ env, h, taskQueue } = suite);
});

afterAll(async () => {
  await suite?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const p = path.join(dir, `${randomUUID()}-${name}`);
  fs.writeFileSync(p, content);
  return p;
}

async function failureOf(content: string, name: string, overrides: Partial<ModelSpecInput> = {}) {
  const model = await registerModel(h, spec(overrides));
  const { handle, runId } = await startRun(h, env.client, model, await putSource(h, file(name, content)), taskQueue);
  const failure = (await handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect(await h.registry.listVersions(model.id)).toHaveLength(0);
  expect((await h.registry.findRun(runId))?.status).toBe('failed');
  return { cause: failure.cause as ApplicationFailure, model };
}

test('a CSV row with the wrong number of fields: DataUnreadable naming the line', async () => {
  const lines = weatherLines();
  lines[10] = '2012-01-10,0.0,1.1';
  const { cause } = await failureOf(lines.join('\n'), 'ragged.csv');
  expect(cause.type).toBe(FAILURE_TYPES.dataUnreadable);
  expect(cause.nonRetryable).toBe(true);
  expect(cause.message).toMatch(/line 11/);
});

test('an empty file: DataUnreadable, no snapshot', async () => {
  const { cause, model } = await failureOf('', 'empty.csv');
  expect(cause.type).toBe(FAILURE_TYPES.dataUnreadable);
  expect(cause.message).toMatch(/empty/);
  expect(await h.registry.listDatasets(model.id)).toHaveLength(0);
});

test('a Parquet name on CSV bytes is read by what the bytes are, and garbage bytes are refused', async () => {
  const { cause } = await failureOf('\u0000\u0001PAR1 definitely not a table', 'garbage.parquet');
  expect(cause.type).toBe(FAILURE_TYPES.dataUnreadable);
  expect(cause.message).toMatch(/Parquet/);
});

test('unknown feature columns: DataValidationFailed listing them and the columns that exist', async () => {
  const { cause } = await failureOf(weatherLines().join('\n'), 'weather.csv', {
    features: { include: ['temp_max', 'humidity'], exclude: [] },
  });
  expect(cause.type).toBe(FAILURE_TYPES.dataValidationFailed);
  expect(cause.message).toMatch(/humidity/);
  expect(cause.message).toMatch(/temp_min/);
});

test('text in a column that was numeric in the previous snapshot: DataValidationFailed on the schema change', async () => {
  const modelSpec = spec();
  const model = await registerModel(h, modelSpec);
  const good = await startRun(h, env.client, model, await putSource(h, seattleWeatherCsv()), taskQueue);
  expect((await good.handle.result()).status).toBe('succeeded');

  const lines = weatherLines();
  const cells = lines[5].split(',');
  cells[2] = 'warm';
  lines[5] = cells.join(',');
  const bad = await startRun(h, env.client, model, await putSource(h, file('drifted.csv', lines.join('\n'))), taskQueue);
  const failure = (await bad.handle.result().catch((err: unknown) => err)) as WorkflowFailedError;
  const cause = failure.cause as ApplicationFailure;
  expect(cause.type).toBe(FAILURE_TYPES.dataValidationFailed);
  expect(cause.message).toMatch(/temp_max/);
  expect(await h.registry.listVersions(model.id)).toHaveLength(1);
});

test('a target with a single class: DataValidationFailed saying so', async () => {
  const lines = weatherLines().map((l, i) => (i === 0 ? l : l.replace(/,[a-z]+$/, ',rain')));
  const { cause } = await failureOf(lines.join('\n'), 'one-class.csv');
  expect(cause.type).toBe(FAILURE_TYPES.dataValidationFailed);
  expect(cause.message).toMatch(/weather/);
});

test('invalid trainer parameters: TrainerFailed naming the parameter', async () => {
  const { cause } = await failureOf(weatherLines().join('\n'), 'weather.csv', { trainer: { name: 'gbdt', params: { learning_rate: -1 } } });
  expect(cause.type).toBe(FAILURE_TYPES.trainerFailed);
  expect(cause.message).toMatch(/learning_rate/);
});
