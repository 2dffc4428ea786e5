/**
 * The training half of the lifecycle end to end, through HTTP only, on real data from vega-datasets: register a
 * model, upload its data, start a run, follow it to a registered version whose primary metric beats the trivial
 * baseline, and download the model. One multiclass, one binary and one regression task, in CSV, Parquet and JSON
 * Lines, on SQLite and PostgreSQL, with the real worker polling the real Temporal server.
 */
import * as fs from 'node:fs';
import type { Worker } from '@temporalio/worker';
import { NativeConnection } from '@temporalio/worker';
import { taskQueue } from '../../libs/config';
import { TASK_QUEUES } from '../../libs/contracts';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { isBetter } from '../../libs/ml/spec';
import { readMlcycleMetadata, runOnnxModel } from '../../libs/ml/onnx';
import { createWorker } from '../../worker/create-worker';
import { workflowBundle } from '../workflows/pipeline-harness';
import { DATABASES, startApiApp, uniqueName } from './api-app';
import type { ApiTestApp } from './api-app';
import * as path from 'node:path';

interface Case {
  title: string;
  spec: (name: string) => Record<string, unknown>;
  body: () => Buffer;
  contentType: string;
  format: string;
  rows: number;
}

/** cars.json ships as one JSON array; the upload is JSON Lines, the streaming format. */
function carsAsJsonLines(): Buffer {
  const cars = JSON.parse(fs.readFileSync(bundledDatasetPath('cars.json'), 'utf8')) as Record<string, unknown>[];
  return Buffer.from(cars.map((c) => JSON.stringify(c)).join('\n') + '\n');
}

const CASES: Case[] = [
  {
    title: 'multiclass: Seattle weather type from Parquet with gradient-boosted trees',
    spec: (name) => ({
      name,
      task: 'multiclass_classification',
      target: 'weather',
      features: { exclude: ['date'] },
      trainer: { name: 'gbdt', params: { max_iter: 60 } },
      evaluation: { primaryMetric: 'balanced_accuracy', mustBeatBaseline: true },
    }),
    body: () => fs.readFileSync(path.join(__dirname, '..', '..', 'libs', 'ml', 'data', '__fixtures__', 'seattle-weather.parquet')),
    contentType: 'application/vnd.apache.parquet',
    format: 'parquet',
    rows: 1461,
  },
  {
    title: 'binary: Seattle or New York from the day’s weather (CSV) with logistic regression',
    spec: (name) => ({
      name,
      task: 'binary_classification',
      target: 'location',
      features: { exclude: ['date'] },
      trainer: { name: 'logistic_regression', params: { C: 1 } },
      evaluation: { primaryMetric: 'roc_auc', minimum: 0.6, mustBeatBaseline: true },
    }),
    body: () => fs.readFileSync(bundledDatasetPath('weather.csv')),
    contentType: 'text/csv',
    format: 'csv',
    rows: 2922,
  },
  {
    title: 'regression: fuel economy of 1970s cars (JSON Lines, missing targets) with ridge',
    spec: (name) => ({
      name,
      task: 'regression',
      target: 'Miles_per_Gallon',
      features: { exclude: ['Name', 'Year'] },
      trainer: { name: 'ridge', params: { alpha: 1 } },
      split: { stratify: false },
      evaluation: { primaryMetric: 'rmse', mustBeatBaseline: true },
    }),
    body: carsAsJsonLines,
    contentType: 'application/x-ndjson',
    format: 'jsonl',
    rows: 406,
  },
];

async function http(api: ApiTestApp, method: string, url: string, body?: Buffer | object, headers: Record<string, string> = {}) {
  const isBuffer = Buffer.isBuffer(body);
  const key = await api.keyFor('data-scientist', 'scientist@e2e');
  const response = await fetch(`${api.url}${url}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body && !isBuffer ? { 'content-type': 'application/json' } : {}), ...headers },
    body: isBuffer ? body : body ? JSON.stringify(body) : undefined,
  });
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: response.headers,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    json: (type.includes('json') ? await response.json() : undefined) as any,
    bytes: type.includes('json') ? undefined : Buffer.from(await response.arrayBuffer()),
  };
}

describe.each(DATABASES)('training end to end over HTTP (%s)', (db) => {
  let api: ApiTestApp;
  let worker: Worker;
  let connection: NativeConnection;
  let running: Promise<void>;

  beforeAll(async () => {
    api = await startApiApp(db, { MLCYCLE_UPLOAD_MAX_BYTES: String(64 * 1024 * 1024) });
    connection = await NativeConnection.connect({ address: api.config.temporal.address });
    worker = await createWorker({
      connection,
      namespace: api.config.temporal.namespace,
      taskQueue: taskQueue(api.config, TASK_QUEUES.control),
      deps: { config: api.config, registry: api.registry, store: api.store },
      workflowBundle: await workflowBundle(),
    });
    running = worker.run();
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await api?.close();
  });

  test.each(CASES)('$title', async (c) => {
    const name = uniqueName('e2e');
    // No reviewer here: the version's rollout promotes it without asking (the approval suites cover the gate).
    const spec: Record<string, unknown> = { ...c.spec(name), approval: { policy: 'never' } };
    expect((await http(api, 'POST', '/v1/models', spec)).status).toBe(201);

    const upload = await http(api, 'POST', `/v1/models/${name}/datasets?format=${c.format}`, c.body(), { 'content-type': c.contentType });
    expect(upload.status).toBe(201);

    const start = await http(api, 'POST', `/v1/models/${name}/runs`, { source: upload.json.source }, { 'idempotency-key': `e2e-${name}` });
    expect(start.status).toBe(202);
    const { runId, workflowId } = start.json;
    expect(workflowId).toBe(`train/${name}/${runId}`);

    let run: { status: string; error: string | null; version: number; evaluation: { passed: boolean; candidate: number; baseline: number } };
    const deadline = Date.now() + 120_000;
    do {
      await new Promise((resolve) => setTimeout(resolve, 250));
      run = (await http(api, 'GET', `/v1/runs/${runId}`)).json;
    } while (!['succeeded', 'failed', 'rejected'].includes(run.status) && Date.now() < deadline);
    expect({ status: run.status, error: run.error }).toEqual({ status: 'succeeded', error: null });

    const metric = spec.evaluation as { primaryMetric: string };
    expect(run.evaluation.passed).toBe(true);
    expect(isBetter(metric.primaryMetric, run.evaluation.candidate, run.evaluation.baseline)).toBe(true);
    expect(run.evaluation.candidate).not.toBe(run.evaluation.baseline);

    const dataset = await http(api, 'GET', `/v1/datasets/${upload.json.id}`);
    expect(dataset.json.rowCount).toBe(c.rows);

    const version = await http(api, 'GET', `/v1/models/${name}/versions/${run.version}`);
    expect(version.status).toBe(200);
    expect(version.json.metrics[metric.primaryMetric]).toBeCloseTo(run.evaluation.candidate, 10);
    expect(version.json.lineage.datasetSha256).toBe(upload.json.sha256);

    // The pipeline handed the version to its rollout, which makes it the champion.
    let championVersion: number | null = null;
    for (const until = Date.now() + 60_000; championVersion !== run.version && Date.now() < until; ) {
      championVersion = (await http(api, 'GET', `/v1/models/${name}`)).json.championVersion;
      if (championVersion !== run.version) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(championVersion).toBe(run.version);

    // The model downloads intact and runs on raw rows.
    const onnx = await http(api, 'GET', `/v1/models/${name}/versions/champion/artifacts/model`);
    expect(onnx.status).toBe(200);
    const modelArtifact = version.json.artifacts.find((a: { kind: string }) => a.kind === 'model');
    expect(onnx.bytes!.length).toBe(modelArtifact.sizeBytes);
    const table = {
      schema: { columns: [] },
      rowCount: 1,
      numeric: { temp_max: Float64Array.of(12), temp_min: Float64Array.of(5), wind: Float64Array.of(4), precipitation: Float64Array.of(0),
        Cylinders: Float64Array.of(4), Displacement: Float64Array.of(120), Horsepower: Float64Array.of(90), Weight_in_lbs: Float64Array.of(2300), Acceleration: Float64Array.of(15) },
      categorical: { Origin: ['Japan'], weather: ['rain'] },
    };
    const features = readMlcycleMetadata(new Uint8Array(onnx.bytes!)).features!;
    const prediction = await runOnnxModel(new Uint8Array(onnx.bytes!), table, [0], features);
    if (spec.task === 'regression') expect(prediction.values![0]).toBeGreaterThan(15);
    else expect(prediction.labels).toHaveLength(1);
  });
});
