/**
 * The retraining set end to end: a weather model trained through the real pipeline serves real predictions (single
 * rows, one two-row request, one category with a comma and quotes), ground truth arrives through the feedback API,
 * and assembleRetrainingData (called through the activities factory with the app's registry and store) writes the
 * original rows plus the labelled production rows as one CSV in MinIO. The CSV is read back from the bucket: row
 * counts, the labels are the feedback labels, the logged inputs are what was sent, and the same run ID gives the
 * same key and the same sha256. On SQLite and PostgreSQL.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'csv-parse/sync';
import { createRetrainingDataActivities, retrainingDataKey } from '../../activities/lifecycle/retraining-data';
import { inferTable, readDatasetFile } from '../../libs/ml/data';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import { parseModelSpec } from '../../libs/ml/spec';
import type { Model } from '../../libs/registry';
import { describeEachDatabase, uniqueName } from './api-app';
import type { DbKind } from './api-app';
import { call, csvRecords, eventually, featureRecords, openServingSuite, trainVersion, versionModel, weatherSpec } from './serving-support';
import type { ServingSuite } from './serving-support';

const WEATHER_CSV = bundledDatasetPath('weather.csv');

describeEachDatabase('retraining data', (db: DbKind) => {
  let suite: ServingSuite;
  let model: Model;
  let activities: ReturnType<typeof createRetrainingDataActivities>;
  let baseSource: string;
  let baseRows: number;
  let baseHeader: string[];
  const name = uniqueName('retrain-data');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-retraining-data-e2e-'));
  let rows: Record<string, unknown>[];
  /** the single-row predictions made, in order, with the label posted for each (null: never labelled) */
  const sent: { requestId: string; record: Record<string, unknown>; label: string | null }[] = [];
  let multiRowRequestId: string;
  let between: string; // a time between the first and the second batch

  beforeAll(async () => {
    suite = await openServingSuite(db, { MLCYCLE_PREDICTION_LOG_FLUSH_MS: '200' });
    const spec = parseModelSpec(weatherSpec(name, { name: 'gbdt', params: { max_iter: 20 } }));
    const trained = await trainVersion(suite, spec, WEATHER_CSV);
    model = trained.model;
    const { features } = await versionModel(suite, model.id, trained.version);
    const all = csvRecords(WEATHER_CSV);
    baseRows = all.length;
    baseHeader = Object.keys(all[0]);
    rows = featureRecords(all, features);
    baseSource = (await suite.api.registry.listRuns(model.id, 1))[0].source;
    activities = createRetrainingDataActivities({ registry: suite.api.registry, store: suite.api.store, workDir: path.join(tmp, 'work') });
  });

  afterAll(async () => {
    await suite?.close();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function predict(records: Record<string, unknown>[]): Promise<string> {
    const res = await call(suite, 'POST', `/v1/models/${name}/predict`, { records });
    expect(res.status).toBe(200);
    return res.json.requestId as string;
  }

  /** Waits until the prediction log holds every one of these request IDs. */
  async function logged(requestIds: string[]): Promise<void> {
    await eventually(`${requestIds.length} logged predictions`, async () => {
      const seen = new Set<string>();
      for (const key of await suite.api.listObjects(`predictions/${name}/`)) {
        const text = (await suite.api.store.getBytes(key)).toString('utf8');
        for (const line of text.split('\n').filter(Boolean)) seen.add((JSON.parse(line) as { requestId: string }).requestId);
      }
      return requestIds.every((id) => seen.has(id));
    });
  }

  function readCsv(bytes: Buffer): Record<string, string>[] {
    return parse(bytes, { columns: true }) as Record<string, string>[];
  }

  it('returns the base source unchanged, and writes nothing, while no production row is labelled', async () => {
    // First batch: 12 single rows (one with a category holding a comma and quotes), then one two-row request.
    for (let i = 0; i < 12; i++) {
      const record = i === 5 ? { ...rows[i], weather: 'rain, "heavy"' } : rows[i];
      sent.push({ requestId: await predict([record]), record, label: null });
    }
    multiRowRequestId = await predict(rows.slice(20, 22));
    await new Promise((resolve) => setTimeout(resolve, 20));
    between = new Date().toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    // Second batch: 8 more single rows.
    for (let i = 12; i < 20; i++) sent.push({ requestId: await predict([rows[i]]), record: rows[i], label: null });
    await logged([...sent.map((s) => s.requestId), multiRowRequestId]);

    const result = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId: 'no-labels' });
    expect(result).toMatchObject({ source: baseSource, baseRows, feedbackRows: 0 });
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(await suite.api.listObjects('retraining/')).toEqual([]);
  });

  it('adds every labelled single-row prediction, projected onto the base columns, with the feedback labels as targets', async () => {
    // Labels for 15 of the 20 single rows (not 3, 8, 13, 17, 19), for the two-row request, and for a request never served.
    const unlabelled = new Set([3, 8, 13, 17, 19]);
    sent.forEach((s, i) => {
      if (!unlabelled.has(i)) s.label = i % 3 === 0 ? 'New York' : 'Seattle';
    });
    const items = sent.filter((s) => s.label !== null).map((s) => ({ requestId: s.requestId, label: s.label! }));
    const posted = await call(suite, 'POST', `/v1/models/${name}/feedback`, {
      items: [...items, { requestId: multiRowRequestId, label: 'Seattle' }, { requestId: 'never-served', label: 'Seattle' }],
    });
    expect(posted.status).toBe(200);
    expect(posted.json).toMatchObject({ accepted: items.length + 2, conflicts: [] });

    const runId = 'run-1';
    const result = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId });
    const key = retrainingDataKey(name, runId);
    expect(result).toEqual({ source: `s3://${suite.api.store.bucket}/${key}`, baseRows, feedbackRows: items.length, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });

    // getBytes verifies the sha256 recorded with the object.
    const bytes = await suite.api.store.getBytes(key, result.sha256);
    const csv = readCsv(bytes);
    expect(Object.keys(csv[0])).toEqual(baseHeader);
    expect(csv).toHaveLength(baseRows + items.length);
    const original = readCsv(fs.readFileSync(WEATHER_CSV));
    expect(csv.slice(0, baseRows)).toEqual(original);

    const added = csv.slice(baseRows);
    const expected = sent.filter((s) => s.label !== null);
    expect(added.map((r) => r.location)).toEqual(expected.map((s) => s.label));
    for (const [i, r] of added.entries()) {
      const record = expected[i].record;
      expect(r.date).toBe(''); // not a feature: the log does not carry it
      expect(r.weather).toBe(record.weather);
      for (const c of ['precipitation', 'temp_max', 'temp_min', 'wind']) expect(Number(r[c])).toBe(record[c]);
    }
    expect(added.some((r) => r.weather === 'rain, "heavy"')).toBe(true);

    // The pipeline's own reader takes the file as training will.
    const file = path.join(tmp, 'read-back.csv');
    await suite.api.store.getToFile(key, file, result.sha256);
    const table = inferTable(await readDatasetFile(file, 'csv'));
    expect(table.rowCount).toBe(baseRows + items.length);
    expect(table.categorical.location.slice(baseRows)).toEqual(expected.map((s) => s.label));

    // The same run again: the same key, the same bytes.
    const again = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId });
    expect(again).toEqual(result);
    expect(await suite.api.listObjects(`retraining/${name}/`)).toEqual([key]);
  });

  it('reads a dataset:<id> base as the s3:// source it was ingested from, and honours since', async () => {
    const snapshot = (await suite.api.registry.listDatasets(model.id)).find((d) => d.source === baseSource)!;
    const fromS3 = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId: 'run-1' });
    const fromSnapshot = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource: `dataset:${snapshot.id}`, runId: 'run-2' });
    expect(fromSnapshot).toMatchObject({ baseRows, feedbackRows: fromS3.feedbackRows, sha256: fromS3.sha256 });
    expect(fromSnapshot.source).toBe(`s3://${suite.api.store.bucket}/${retrainingDataKey(name, 'run-2')}`);

    const secondBatch = sent.slice(12).filter((s) => s.label !== null);
    const recent = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId: 'run-3', since: between });
    expect(recent.feedbackRows).toBe(secondBatch.length);
    const added = readCsv(await suite.api.store.getBytes(retrainingDataKey(name, 'run-3'))).slice(baseRows);
    expect(added.map((r) => r.location)).toEqual(secondBatch.map((s) => s.label));

    const future = await activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource, runId: 'run-4', since: new Date(Date.now() + 86_400_000).toISOString() });
    expect(future).toMatchObject({ source: baseSource, feedbackRows: 0 });

    await expect(activities.assembleRetrainingData({ modelId: model.id, modelName: name, baseSource: 'dataset:does-not-exist', runId: 'run-5' })).rejects.toMatchObject({
      type: 'SourceNotFound',
      nonRetryable: true,
    });
  });
});
