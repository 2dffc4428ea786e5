/**
 * Serving end to end: models trained through the real pipeline and promoted by the real rollout workflow (which
 * waits for this replica to converge) are callable over the Open Inference Protocol and the records endpoint, with exactly the predictions onnxruntime gives on the same rows;
 * bad requests get clear 400s; explicit versions bypass routing; every prediction lands in the prediction log in
 * MinIO; /metrics counts it all. On SQLite and PostgreSQL.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { runOnnxModel } from '../../libs/ml/onnx';
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import type { Model } from '../../libs/registry';
import { describeEachDatabase, uniqueName } from './api-app';
import type { DbKind } from './api-app';
import {
  call,
  startReplica,
  carsCsv,
  carsSpec,
  csvRecords,
  eventually,
  featureRecords,
  oipInputs,
  openServingSuite,
  recordsTable,
  trainVersion,
  versionModel,
  weatherSpec,
} from './serving-support';
import type { ServingSuite } from './serving-support';

const WEATHER_CSV = bundledDatasetPath('weather.csv');
const PYTHON = process.env.MLCYCLE_PYTHON || 'python3';
/** NVIDIA's tritonclient (deploy/lib/python.mjs installs it before `npm test`); the conformance test needs it. */
const hasTritonClient = spawnSync(PYTHON, ['-c', 'import tritonclient.http, numpy'], { stdio: 'ignore' }).status === 0;

describeEachDatabase('serving: inference', (db: DbKind) => {
  let suite: ServingSuite;
  let weather: Model;
  let cars: Model;
  const name = uniqueName('weather');
  const carsName = uniqueName('cars');

  beforeAll(async () => {
    // A budget a loaded CI machine's slow runs still fit, so the event-loop test below does not depend on the load.
    suite = await openServingSuite(db, { MLCYCLE_INFERENCE_INLINE_BUDGET_MS: '10' });
    // v1: a deliberately weak linear model; v2: gradient-boosted trees, better on log loss; each is promoted by its
    // rollout (blue/green, no approval), so v2 ends as the champion with 100% of the traffic.
    const spec = weatherSpec(name, { name: 'logistic_regression', params: { C: 0.0001 } });
    const v1 = await trainVersion(suite, spec, WEATHER_CSV);
    const v2 = await trainVersion(suite, spec, WEATHER_CSV, { name: 'gbdt', params: { max_iter: 30 } });
    expect([v1.version, v2.version]).toEqual([1, 2]);
    weather = v2.model;
    expect(weather.championVersion).toBe(2);
    cars = (await trainVersion(suite, carsSpec(carsName), carsCsv())).model;
    await eventually('both models served', async () => (await call(suite, 'GET', `/v2/models/${name}/ready`)).status === 200 && (await call(suite, 'GET', `/v2/models/${carsName}/ready`)).status === 200);
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('answers health and server metadata without a key', async () => {
    expect(await call(suite, 'GET', '/v2/health/live', undefined, {}, null)).toMatchObject({ status: 200, json: { live: true } });
    expect(await call(suite, 'GET', '/v2/health/ready', undefined, {}, null)).toMatchObject({ status: 200, json: { ready: true } });
    expect((await call(suite, 'GET', '/v2', undefined, {}, null)).json).toMatchObject({ name: 'mlcycle', extensions: ['binary_tensor_data'] });
  });

  it('describes the model: versions, platform, FP32/BYTES inputs [-1,1], outputs', async () => {
    const meta = await call(suite, 'GET', `/v2/models/${name}`);
    expect(meta.status).toBe(200);
    expect(meta.json).toEqual({
      name,
      versions: ['2'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'precipitation', datatype: 'FP32', shape: [-1, 1] },
        { name: 'temp_max', datatype: 'FP32', shape: [-1, 1] },
        { name: 'temp_min', datatype: 'FP32', shape: [-1, 1] },
        { name: 'wind', datatype: 'FP32', shape: [-1, 1] },
        { name: 'weather', datatype: 'BYTES', shape: [-1, 1] },
      ],
      outputs: [
        { name: 'label', datatype: 'BYTES', shape: [-1] },
        { name: 'probabilities', datatype: 'FP32', shape: [-1, 2] },
      ],
    });
    const v1 = await call(suite, 'GET', `/v2/models/${name}/versions/1`);
    expect(v1.status).toBe(200);
    expect(v1.json.versions).toEqual(['1']);
    expect(await call(suite, 'GET', `/v2/models/${name}/versions/2/ready`)).toMatchObject({ status: 200, json: { name, version: '2', ready: true } });
    expect(await call(suite, 'GET', `/v2/models/${carsName}`)).toMatchObject({ status: 200, json: { outputs: [{ name: 'variable', datatype: 'FP32', shape: [-1, 1] }] } });
  });

  it('predicts exactly what onnxruntime predicts on the same rows, on both endpoints', async () => {
    const rows = csvRecords(WEATHER_CSV).filter((_, i) => i % 97 === 0); // Seattle and New York, all seasons
    const { bytes, features, classes } = await versionModel(suite, weather.id, 2);
    const records = featureRecords(rows, features);
    const expected = await runOnnxModel(bytes, recordsTable(records, features), records.map((_, i) => i), features);

    const v2 = await call(suite, 'POST', `/v2/models/${name}/infer`, { id: 'req-42', inputs: oipInputs(records, features) });
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ model_name: name, model_version: '2', id: 'req-42' });
    const label = v2.json.outputs.find((o: { name: string }) => o.name === 'label');
    const proba = v2.json.outputs.find((o: { name: string }) => o.name === 'probabilities');
    expect(label).toMatchObject({ datatype: 'BYTES', shape: [records.length] });
    expect(proba).toMatchObject({ datatype: 'FP32', shape: [records.length, 2] });
    expect(label.data).toEqual(expected.labels);
    expect(proba.data).toEqual(Array.from(Float32Array.from(expected.probabilities!)));

    const v1 = await call(suite, 'POST', `/v1/models/${name}/predict`, { records });
    expect(v1.status).toBe(200);
    expect(v1.json).toMatchObject({ model: name, version: 2, requestId: v1.headers.get('x-request-id') });
    expect(v1.headers.get('x-model-version')).toBe('2');
    expect(v1.json.predictions.map((p: { label: string }) => p.label)).toEqual(expected.labels);
    v1.json.predictions.forEach((p: { probabilities: Record<string, number> }, r: number) => {
      expect(Object.keys(p.probabilities)).toEqual(classes);
      classes!.forEach((c, k) => expect(p.probabilities[c]).toBe(Math.fround(expected.probabilities![r * 2 + k])));
    });
  });

  it('moves a cheap model onto the event loop once its runs are measured, and answers the same there', async () => {
    const rows = csvRecords(WEATHER_CSV).filter((_, i) => i % 89 === 0);
    const { bytes, features } = await versionModel(suite, weather.id, 2);
    const records = featureRecords(rows, features);
    const expected = await runOnnxModel(bytes, recordsTable(records, features), records.map((_, i) => i), features);
    const onLoop = async () => {
      const samples = parsePrometheus((await call(suite, 'GET', '/metrics', undefined, {}, null)).text);
      return { versions: sumOf(samples, 'mlcycle_inference_event_loop_versions'), batches: sumOf(samples, 'mlcycle_inference_batches_total', { executor: 'event_loop' }) };
    };
    // one request at a time: each run measured on an inference thread, until the version is known to be cheap
    await eventually('the champion runs on the event loop', async () => {
      for (let i = 0; i < 4; i++) expect((await call(suite, 'POST', `/v2/models/${name}/infer`, { inputs: oipInputs([records[i]], features) })).status).toBe(200);
      return (await onLoop()).versions >= 1;
    });
    const before = await onLoop();
    // one at a time again: a lone request always runs where its version does (concurrent ones may go to a thread)
    const answers = [];
    for (const record of records) answers.push(await call(suite, 'POST', `/v2/models/${name}/infer`, { inputs: oipInputs([record], features) }));
    answers.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.json.outputs.find((o: { name: string }) => o.name === 'label').data).toEqual([expected.labels![i]]);
      expect(res.json.outputs.find((o: { name: string }) => o.name === 'probabilities').data).toEqual(Array.from(Float32Array.from(expected.probabilities!.slice(i * 2, i * 2 + 2))));
    });
    expect((await onLoop()).batches).toBeGreaterThan(before.batches);
  });

  it('refuses a key on the fast path as soon as it is revoked on this replica, also on the connection that used it', async () => {
    const { features } = await versionModel(suite, weather.id, 2);
    const body = JSON.stringify({ inputs: oipInputs(featureRecords(csvRecords(WEATHER_CSV).slice(0, 1), features), features) });
    const key = await suite.api.keyFor('service', 'revoked-client@e2e');
    const other = await suite.api.keyFor('service', 'other-client@e2e');
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    const infer = (credentials: Record<string, string> = { authorization: `Bearer ${key}` }) =>
      new Promise<number>((resolve, reject) => {
        const headers = { ...credentials, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) };
        const req = http.request(`${suite.api.url}/v2/models/${name}/infer`, { method: 'POST', agent, headers }, (res) => {
          sockets.add(res.socket);
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      expect([await infer(), await infer()]).toEqual([200, 200]);
      const listed = (await suite.api.http().get('/v1/api-keys')).body as { id: string; identity: string }[];
      const id = listed.find((k) => k.identity === 'revoked-client@e2e')!.id;
      expect((await suite.api.http().delete(`/v1/api-keys/${id}`)).status).toBe(200);
      expect(await infer()).toBe(401);
      // Each request's own credentials count, whatever the connection presented before (the fast path remembers
      // the last ones per connection).
      expect(await infer({ authorization: `Bearer ${other}` })).toBe(200);
      expect(await infer({ 'x-api-key': other })).toBe(200);
      expect(await infer({ 'x-api-key': key })).toBe(401);
      expect(await infer({})).toBe(401);
      expect(await infer({ authorization: `Bearer ${other}`, 'x-api-key': key })).toBe(401);
      expect(await infer({ authorization: `Bearer ${other}` })).toBe(200);
      expect(sockets.size).toBe(1); // one keep-alive connection throughout
    } finally {
      agent.destroy();
    }
  });

  it('serves regression models ({value}, variable [N,1]) the same way', async () => {
    const { bytes, features } = await versionModel(suite, cars.id, 1);
    const records = featureRecords(csvRecords(carsCsv(), 12), features);
    records[3].Horsepower = null; // a missing value: NaN into the graph, imputed there
    const expected = await runOnnxModel(bytes, recordsTable(records, features), records.map((_, i) => i), features);
    const v1 = await call(suite, 'POST', `/v1/models/${carsName}/predict`, { records });
    expect(v1.status).toBe(200);
    expect(v1.json.predictions).toEqual(Array.from(expected.values!, (v) => ({ value: Math.fround(v) })));
    const v2 = await call(suite, 'POST', `/v2/models/${carsName}/infer`, { inputs: oipInputs(records, features), outputs: [{ name: 'variable' }] });
    expect(v2.json.outputs).toEqual([{ name: 'variable', datatype: 'FP32', shape: [12, 1], data: Array.from(expected.values!, (v) => Math.fround(v)) }]);
  });

  it('takes nested data, honours requested outputs, and serves explicit versions bypassing routing', async () => {
    const { features } = await versionModel(suite, weather.id, 1);
    const records = featureRecords(csvRecords(WEATHER_CSV, 3), features);
    const inputs = oipInputs(records, features).map((i) => ({ ...i, data: i.data.map((d) => [d]) }));
    const res = await call(suite, 'POST', `/v2/models/${name}/versions/1/infer`, { inputs, outputs: [{ name: 'probabilities' }] });
    expect(res.status).toBe(200);
    expect(res.json.model_version).toBe('1');
    expect(res.json.outputs.map((o: { name: string }) => o.name)).toEqual(['probabilities']);
    const pinned = await call(suite, 'POST', `/v1/models/${name}/versions/1/predict`, { records });
    expect(pinned.json.version).toBe(1);
    const champion = await call(suite, 'POST', `/v1/models/${name}/versions/champion/predict`, { records });
    expect(champion.json.version).toBe(2);
  });

  it('answers clear 400s in the OIP error shape for unknown, missing, mistyped and misshapen inputs', async () => {
    const { features } = await versionModel(suite, weather.id, 2);
    const good = oipInputs(featureRecords(csvRecords(WEATHER_CSV, 2), features), features);
    const infer = (body: unknown) => call(suite, 'POST', `/v2/models/${name}/infer`, body);

    const unknown = await infer({ inputs: [...good, { name: 'humidity', shape: [2, 1], datatype: 'FP32', data: [1, 2] }] });
    expect(unknown).toMatchObject({ status: 400, json: { error: expect.stringContaining("unknown input 'humidity'") } });
    expect(Object.keys(unknown.json)).toEqual(['error']);

    const missing = await infer({ inputs: good.filter((i) => i.name !== 'wind' && i.name !== 'weather') });
    expect(missing).toMatchObject({ status: 400, json: { error: expect.stringMatching(/missing inputs 'wind' \(FP32 \[N, 1\]\), 'weather' \(BYTES \[N, 1\]\)/) } });

    const wrongType = await infer({ inputs: good.map((i) => (i.name === 'wind' ? { ...i, datatype: 'FP64' } : i)) });
    expect(wrongType).toMatchObject({ status: 400, json: { error: "input 'wind' has datatype FP64; the model expects FP32" } });

    const numbersAsBytes = await infer({ inputs: good.map((i) => (i.name === 'weather' ? { ...i, data: [1, 2] } : i)) });
    expect(numbersAsBytes).toMatchObject({ status: 400, json: { error: expect.stringContaining("input 'weather' is BYTES but element 0 is 1") } });

    const badShape = await infer({ inputs: good.map((i) => (i.name === 'temp_max' ? { ...i, shape: [1, 2] } : i)) });
    expect(badShape).toMatchObject({ status: 400, json: { error: "input 'temp_max' has shape [1, 2]; the model expects [N, 1] (one column, N rows)" } });

    const countMismatch = await infer({ inputs: good.map((i) => (i.name === 'temp_max' ? { ...i, data: [1, 2, 3] } : i)) });
    expect(countMismatch).toMatchObject({ status: 400, json: { error: "input 'temp_max' has 3 elements but shape [2, 1] needs 2" } });

    const rowsMismatch = await infer({ inputs: good.map((i) => (i.name === 'wind' ? { ...i, shape: [1, 1], data: [1] } : i)) });
    expect(rowsMismatch.json.error).toMatch(/'wind' has 1 rows but 'precipitation' has 2/);

    const unknownOutput = await infer({ inputs: good, outputs: [{ name: 'logits' }] });
    expect(unknownOutput).toMatchObject({ status: 400, json: { error: "unknown output 'logits'; the model's outputs are 'label', 'probabilities'" } });

    expect(await call(suite, 'POST', `/v2/models/${name}/infer`, 'not json', { 'content-type': 'application/octet-stream' })).toMatchObject({
      status: 400,
      json: { error: expect.stringContaining('not valid JSON') },
    });
    expect(await call(suite, 'POST', `/v2/models/nope-${name}/infer`, { inputs: good })).toMatchObject({ status: 404, json: { error: expect.stringContaining('is not served here') } });
    expect(await call(suite, 'POST', `/v2/models/${name}/versions/9/infer`, { inputs: good })).toMatchObject({ status: 404, json: { error: expect.stringContaining('version 9 is not registered') } });
    expect(await call(suite, 'POST', `/v2/models/${name}/infer`, { inputs: good }, {}, null)).toMatchObject({ status: 401, json: { error: expect.stringContaining('needs an API key') } });
  });

  it('names unknown and missing columns on the records endpoint', async () => {
    const { features } = await versionModel(suite, weather.id, 2);
    const [rec] = featureRecords(csvRecords(WEATHER_CSV, 1), features);
    const { wind: _wind, ...withoutWind } = rec;
    const res = await call(suite, 'POST', `/v1/models/${name}/predict`, { records: [{ ...withoutWind, humidity: 80, date: '2012-01-01' }, rec] });
    expect(res.status).toBe(400);
    expect(res.json.message).toBe(
      "unknown columns 'humidity', 'date'; missing column 'wind' (in 1 of 2 records); the model's columns are 'precipitation', 'temp_max', 'temp_min', 'wind', 'weather' (null for a missing value)",
    );
    expect(res.json.details).toEqual([
      { path: 'humidity', message: 'not a column of this model' },
      { path: 'date', message: 'not a column of this model' },
      { path: 'wind', message: 'missing' },
    ]);
    const badValue = await call(suite, 'POST', `/v1/models/${name}/predict`, { records: [{ ...rec, temp_max: 'warm' }] });
    expect(badValue).toMatchObject({ status: 400, json: { message: 'records[0].temp_max must be a number or null, got "warm"' } });
    expect((await call(suite, 'POST', `/v1/models/${name}/predict`, { rows: [] })).status).toBe(400);
  });

  it('logs every prediction to MinIO as JSON Lines, with inputs, outputs, version, latency and status', async () => {
    const { features } = await versionModel(suite, weather.id, 2);
    const records = featureRecords(csvRecords(WEATHER_CSV, 2), features);
    const res = await call(suite, 'POST', `/v1/models/${name}/predict`, { records }, { 'x-request-id': `log-check-${name}` });
    expect(res.status).toBe(200);
    await suite.api.app.get((await import('../../libs/serving/replica')).ServingReplica).predictionLog.flush();
    const day = new Date().toISOString().slice(0, 10);
    const keys = await suite.api.listObjects(`predictions/${name}/`);
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) expect(key).toMatch(new RegExp(`^predictions/${name}/\\d{4}-\\d{2}-\\d{2}/[A-Za-z0-9._-]+-\\d{8}\\.jsonl$`));
    expect(keys.some((k) => k.includes(`/${day}/`) || k.includes(`/${new Date(Date.now() - 86_400_000).toISOString().slice(0, 10)}/`))).toBe(true);
    const lines: Record<string, unknown>[] = [];
    for (const key of keys) {
      const text = (await suite.api.store.getBytes(key)).toString('utf8');
      for (const line of text.trim().split('\n')) lines.push(JSON.parse(line));
    }
    const mine = lines.find((l) => l.requestId === `log-check-${name}`);
    expect(mine).toMatchObject({
      model: name,
      modelId: weather.id,
      version: 2,
      endpoint: 'v1',
      routed: true,
      status: 200,
      rows: 2,
      inputs: { weather: records.map((r) => r.weather), wind: records.map((r) => Math.fround(r.wind as number)) },
      outputs: { label: res.json.predictions.map((p: { label: string }) => p.label) },
    });
    expect(typeof mine!.latencyMs).toBe('number');
    expect(lines.some((l) => l.status === 400 && typeof l.error === 'string')).toBe(true);
  });

  it('answers the same through Nest when the fast path is off (MLCYCLE_INFERENCE_FAST_PATH=false)', async () => {
    const nest = await startReplica(suite, { MLCYCLE_INFERENCE_FAST_PATH: 'false' });
    try {
      const via = (s: ServingSuite['api']) => ({ ...suite, api: s });
      await eventually('the second replica serves the model', async () => (await call(via(nest), 'GET', `/v2/models/${name}/ready`)).status === 200);
      const { features } = await versionModel(suite, weather.id, 2);
      const records = featureRecords(csvRecords(WEATHER_CSV, 5), features);
      for (const [path, body] of [
        [`/v2/models/${name}/infer`, { id: 'same', inputs: oipInputs(records, features) }],
        [`/v1/models/${name}/predict`, { records }],
        [`/v2/models/${name}/versions/1/infer`, { id: 'same', inputs: oipInputs(records, features) }],
        [`/v1/models/${name}/versions/champion/predict`, { records }],
      ] as const) {
        const fast = await call(suite, 'POST', path, body, { 'x-request-id': 'same-id' });
        const slow = await call(via(nest), 'POST', path, body, { 'x-request-id': 'same-id' });
        expect({ path, status: slow.status, body: slow.json }).toEqual({ path, status: fast.status, body: fast.json });
        expect(slow.headers.get('x-request-id')).toBe('same-id');
      }
      // Inference changes nothing: no per-call audit event, on either path (the prediction log has every call).
      const audited = (await suite.api.registry.listAudit({ limit: 10_000 })).filter((e) => /infer|predict/.test(e.action));
      expect(audited).toEqual([]);
      const bad = { inputs: oipInputs(records, features).slice(1) };
      const fastBad = await call(suite, 'POST', `/v2/models/${name}/infer`, bad);
      const slowBad = await call(via(nest), 'POST', `/v2/models/${name}/infer`, bad);
      expect(slowBad).toMatchObject({ status: 400, json: fastBad.json });
      const fastCols = await call(suite, 'POST', `/v1/models/${name}/predict`, { records: [{ nope: 1 }] });
      const slowCols = await call(via(nest), 'POST', `/v1/models/${name}/predict`, { records: [{ nope: 1 }] });
      expect({ ...slowCols.json, requestId: undefined }).toEqual({ ...fastCols.json, requestId: undefined });
      expect(slowCols.json).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      for (const api of [suite.api, nest]) {
        const anonymous = await call(via(api), 'POST', `/v2/models/${name}/infer`, { inputs: [] }, {}, null);
        expect(anonymous).toMatchObject({ status: 401, json: { error: expect.stringContaining('needs an API key') } });
        expect(anonymous.headers.get('www-authenticate')).toBe('Bearer realm="mlcycle"');
        const scientistOnly = await call(via(api), 'POST', `/v1/models/${name}/predict`, { records }, {}, await suite.api.keyFor('data-scientist'));
        expect(scientistOnly.status).toBe(200);
      }
    } finally {
      await nest.close();
    }
  });

  (hasTritonClient ? it : it.skip)(
    'speaks the Open Inference Protocol to a real third-party client, tritonclient.http (skipped without python3 + tritonclient[http])',
    async () => {
      const { bytes, features } = await versionModel(suite, weather.id, 2);
      const v1 = await versionModel(suite, weather.id, 1);
      const records = featureRecords(csvRecords(WEATHER_CSV).filter((_, i) => i % 131 === 0), features);
      const rows = records.map((_, i) => i);
      const expected = await runOnnxModel(bytes, recordsTable(records, features), rows, features);
      const expectedV1 = await runOnnxModel(v1.bytes, recordsTable(records, v1.features), rows, v1.features);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tritonclient-')), 'spec.json');
      fs.writeFileSync(
        file,
        JSON.stringify({
          url: suite.api.url.replace(/^http:\/\//, ''),
          key: suite.key,
          model: name,
          features,
          records,
          expected: { labels: expected.labels, probabilities: Array.from(expected.probabilities!) },
          expected_v1: { labels: expectedV1.labels },
        }),
      );
      // Asynchronously: the client talks to this very process, whose event loop must stay free to answer.
      const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(PYTHON, [path.join(__dirname, 'serving-tritonclient.py'), file]);
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (err += d));
        child.on('close', (c: number | null) => resolve({ code: c, stdout: out, stderr: err }));
      });
      expect({ code, stderr: stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
      const report = JSON.parse(stdout.trim().split('\n').pop()!);
      expect(report).toMatchObject({ ok: true, seen: { binary: { labels: expected.labels, id: 'tc-binary' }, json: { outputs: ['probabilities'] } } });
      expect(report.seen.error).toContain("unknown input 'humidity'");
    },
  );

  it('exposes Prometheus metrics that parse and count the traffic', async () => {
    const res = await call(suite, 'GET', '/metrics', undefined, {}, null);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const samples = parsePrometheus(res.text);
    const get = (metric: string, labels: Record<string, string>) => sumOf(samples, metric, labels);
    expect(get('mlcycle_inference_requests_total', { model: name, version: '2', kind: 'live', code: '200' })).toBeGreaterThanOrEqual(3);
    expect(get('mlcycle_inference_requests_total', { model: name, version: '2', kind: 'live', code: '400' })).toBeGreaterThanOrEqual(8);
    expect(get('mlcycle_inference_requests_total', { model: name, version: '1', kind: 'explicit' })).toBeGreaterThanOrEqual(2);
    expect(get('mlcycle_inference_errors_total', { model: name, version: '2', kind: 'live' })).toBeGreaterThanOrEqual(8);
    expect(get('mlcycle_inference_request_duration_seconds_count', { model: name, version: '2', kind: 'live' })).toBe(get('mlcycle_inference_requests_total', { model: name, version: '2', kind: 'live' }));
    expect(get('mlcycle_serving_model_version_loaded', { model: name, version: '2' })).toBe(1);
    const deployment = await suite.api.registry.findDeployment(weather.id);
    expect(get('mlcycle_serving_deployment_revision', { model: name })).toBe(deployment!.revision);
    expect(get('mlcycle_serving_deployment_stage', { model: name, stage: 'promoted' })).toBe(1);
    expect(get('mlcycle_serving_route_weight', { model: name, version: '2' })).toBe(100);
    expect(get('mlcycle_inference_rejected_total', { reason: 'unknown_model' })).toBeGreaterThanOrEqual(1);
    expect(samples.some((s) => s.name === 'mlcycle_prediction_log_queue_depth')).toBe(true);
    expect(get('mlcycle_prediction_log_records_written_total', {})).toBeGreaterThan(0);
    expect(get('mlcycle_inference_pool_threads', {})).toBe(suite.api.config.serving.threads);
    expect(samples.some((s) => s.name === 'mlcycle_inference_busy_poll_seconds_total')).toBe(true);
  });
});

/** The sum of a metric's samples whose labels include `labels`. */
function sumOf(samples: Sample[], metric: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === metric && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A strict parser of the text format: every line a comment, or `name{labels} value`; TYPE before samples. */
export function parsePrometheus(text: string): Sample[] {
  expect(text.endsWith('\n')).toBe(true);
  const samples: Sample[] = [];
  const typed = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      expect(typed.has(type[1])).toBe(false);
      typed.set(type[1], type[2]);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]] = pair[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
    const base = m[1].replace(/_(bucket|sum|count)$/, '');
    expect(typed.has(m[1]) || typed.get(base) === 'histogram').toBe(true);
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : Number(m[4]);
    expect(Number.isNaN(value) && m[4] !== 'NaN').toBe(false);
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}
