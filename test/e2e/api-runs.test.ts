/**
 * Training runs, versions and the audit log over HTTP. No worker runs here (the workflow is the lead's and runs
 * in its own suites): a started run is checked in Temporal itself — ID, type, task queue, search attributes —
 * and versions are registered through the registry as the worker's register step would.
 */
import { randomUUID } from 'node:crypto';

import { SEARCH_ATTRIBUTE_KEYS, TASK_QUEUES, trainingWorkflowId } from '../../libs/contracts';
import { PIPELINE_STEPS } from '../../libs/contracts';
import { taskQueue } from '../../libs/config';
import type TestAgent from 'supertest/lib/agent';

import { waitUntil } from '../support';
import { describeEachDatabase, SMALL_CSV, startApiApp, uniqueName, validSpec } from './api-app';
import type { ApiTestApp } from './api-app';

describeEachDatabase('runs and versions API', (db) => {
  let api: ApiTestApp;
  /** a data scientist's key: what registers models, uploads data and starts runs */
  let http: TestAgent;
  const models: string[] = [];

  beforeAll(async () => {
    api = await startApiApp(db);
    http = await api.as('data-scientist', 'scientist@e2e');
  });
  afterAll(async () => {
    if (!api) return;
    // No worker will ever pick these up; end them so the shared server stays tidy.
    for (const name of models) {
      for await (const wf of api.temporal.workflow.list({ query: `MlcycleModel = '${name}' AND ExecutionStatus = 'Running'` })) {
        await api.temporal.workflow.getHandle(wf.workflowId, wf.runId).terminate('api e2e cleanup').catch(() => undefined);
      }
    }
    await api.close();
  });

  async function modelWithDataset(patch: Record<string, unknown> = {}): Promise<{ name: string; source: string; datasetId: string }> {
    const name = uniqueName('run');
    models.push(name);
    expect((await http.post('/v1/models').send(validSpec(name, patch))).status).toBe(201);
    const up = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(SMALL_CSV);
    expect(up.status).toBe(201);
    return { name, source: up.body.source, datasetId: up.body.id };
  }

  /** Workflow executions Temporal has for the model (visibility is eventually consistent: wait for `expected`). */
  async function executionsOf(name: string, expected: number): Promise<string[]> {
    let ids: string[] = [];
    await waitUntil(`${expected} execution(s) of ${name} visible`, async () => {
      ids = [];
      for await (const wf of api.temporal.workflow.list({ query: `MlcycleModel = '${name}'` })) ids.push(wf.workflowId);
      return ids.length >= expected;
    }, { timeoutMs: 15_000 });
    return ids;
  }

  describe('POST /v1/models/{name}/runs', () => {
    it('creates the run, starts its workflow in Temporal with the right ID and search attributes, and answers 202', async () => {
      const { name, source } = await modelWithDataset();
      const res = await (await api.as('data-scientist', 'carol')).post(`/v1/models/${name}/runs`).send({ source });
      expect(res.status).toBe(202);
      const { runId, workflowId, workflowRunId } = res.body;
      expect(workflowId).toBe(trainingWorkflowId(name, runId));
      expect(workflowRunId).toEqual(expect.any(String));
      expect(res.body).toMatchObject({ status: 'queued', source });
      expect(res.body.links).toEqual({
        self: `/v1/runs/${runId}`,
        temporalUi: `${api.config.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
      });

      const description = await api.temporal.workflow.getHandle(workflowId).describe();
      expect(description).toMatchObject({ type: 'trainingPipelineWorkflow', runId: workflowRunId, status: { name: 'RUNNING' } });
      expect(description.taskQueue).toBe(taskQueue(api.config, TASK_QUEUES.control));
      expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.model)).toBe(name);
      expect(description.typedSearchAttributes.get(SEARCH_ATTRIBUTE_KEYS.status)).toBe('running');

      const run = await http.get(`/v1/runs/${runId}`);
      expect(run.status).toBe(200);
      expect(run.body).toMatchObject({ id: runId, modelName: name, status: 'queued', requestedBy: 'carol', workflowRunId, live: false });
      expect(run.body.steps).toEqual(PIPELINE_STEPS.map((step) => ({ step, status: 'pending' })));

      const audit = await (await api.as('reviewer', 'rita')).get('/v1/audit').query({ entityType: 'run', entityId: runId });
      expect(audit.body).toEqual([expect.objectContaining({ action: 'run.requested', actor: 'carol' })]);
      const call = await api.http().get('/v1/audit').query({ entityType: 'model', entityId: name });
      expect(call.body[0]).toMatchObject({ action: 'http.POST /v1/models/{name}/runs', actor: 'carol', details: { status: 202, requestId: res.headers['x-request-id'] } });
    });

    it('with the same Idempotency-Key returns the same run (200) and starts only one workflow', async () => {
      const { name, source } = await modelWithDataset();
      const key = `nightly-${randomUUID()}`;
      const first = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', key).send({ source });
      const second = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', key).send({ source });
      expect(first.status).toBe(202);
      expect(second.status).toBe(200);
      expect(second.body).toMatchObject({ runId: first.body.runId, workflowId: first.body.workflowId, workflowRunId: first.body.workflowRunId });
      expect(await executionsOf(name, 1)).toEqual([first.body.workflowId]);

      const list = await http.get(`/v1/models/${name}/runs`);
      expect(list.body.map((r: { id: string }) => r.id)).toEqual([first.body.runId]);

      const reused = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', key).send({ source: 's3://elsewhere/data.csv' });
      expect(reused.status).toBe(409);
      expect(reused.body.message).toMatch(/already used for run/);
    });

    it('resumes a run whose workflow was never started, and adopts one that was started but not recorded', async () => {
      const { name, source } = await modelWithDataset();
      const model = (await api.registry.findModelByName(name))!;
      // A crash after the row was written and before the workflow started:
      const notStarted = randomUUID();
      await api.registry.createRun({
        id: notStarted, modelId: model.id, source, specHash: model.specHash, workflowId: trainingWorkflowId(name, notStarted),
        idempotencyKey: 'crashed-before-start', requestedBy: 'dave', steps: [],
      });
      const resumed = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', 'crashed-before-start').send({ source });
      expect(resumed.status).toBe(200);
      expect(resumed.body).toMatchObject({ runId: notStarted, workflowRunId: expect.any(String) });
      expect((await api.temporal.workflow.getHandle(resumed.body.workflowId).describe()).runId).toBe(resumed.body.workflowRunId);

      // A crash after the workflow started and before its run ID was recorded:
      const unrecorded = randomUUID();
      await api.registry.createRun({
        id: unrecorded, modelId: model.id, source, specHash: model.specHash, workflowId: trainingWorkflowId(name, unrecorded),
        idempotencyKey: 'crashed-after-start', requestedBy: 'dave', steps: [],
      });
      const handle = await api.temporal.workflow.start('trainingPipelineWorkflow', {
        taskQueue: taskQueue(api.config, TASK_QUEUES.control),
        workflowId: trainingWorkflowId(name, unrecorded),
        args: [{}],
        typedSearchAttributes: [{ key: SEARCH_ATTRIBUTE_KEYS.model, value: name }],
      });
      const adopted = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', 'crashed-after-start').send({ source });
      expect(adopted.status).toBe(200);
      expect(adopted.body.workflowRunId).toBe(handle.firstExecutionRunId);
      expect(await executionsOf(name, 2)).toHaveLength(2);
    });

    it('refuses an http(s) source whose host is not allowed with 400, before anything starts', async () => {
      const { name } = await modelWithDataset();
      const res = await http.post(`/v1/models/${name}/runs`).send({ source: 'https://evil.example.com/data.csv' });
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/host 'evil.example.com' is not in MLCYCLE_HTTP_ALLOWLIST \(allowed hosts: data.example.org\)/);
      expect(res.body.details).toEqual([expect.objectContaining({ path: 'source' })]);
      const withCredentials = await http.post(`/v1/models/${name}/runs`).send({ source: 'https://user:pw@data.example.org/x.csv' });
      expect(withCredentials.status).toBe(400);
      expect((await http.get(`/v1/models/${name}`)).body.counts.runs).toBe(0);
    });

    it('accepts an allowed host and an s3:// source', async () => {
      const { name } = await modelWithDataset();
      const https = await http.post(`/v1/models/${name}/runs`).send({ source: 'https://data.example.org/penguins.csv' });
      expect(https.status).toBe(202);
      const s3 = await http.post(`/v1/models/${name}/runs`).send({ source: 's3://datasets/penguins.csv' });
      expect(s3.status).toBe(202);
      expect(s3.body.source).toBe('s3://datasets/penguins.csv');
    });

    it('answers 400 when there is no source in the request or the spec, and uses the spec’s source otherwise', async () => {
      const { name } = await modelWithDataset();
      const none = await http.post(`/v1/models/${name}/runs`).send({});
      expect(none.status).toBe(400);
      expect(none.body.message).toMatch(/no data source/);
      const noBody = await http.post(`/v1/models/${name}/runs`);
      expect(noBody.status).toBe(400);

      const withDefault = await modelWithDataset({ data: { source: 's3://datasets/default.csv', format: 'csv' } });
      const started = await http.post(`/v1/models/${withDefault.name}/runs`);
      expect(started.status).toBe(202);
      expect(started.body.source).toBe('s3://datasets/default.csv');
    });

    it('validates the body and the source: unknown fields, foreign or unknown datasets, bad keys', async () => {
      const { name, source } = await modelWithDataset();
      const other = await modelWithDataset();
      const extra = await http.post(`/v1/models/${name}/runs`).send({ source, priority: 'high' });
      expect(extra.status).toBe(400);
      expect(extra.body.details).toEqual([expect.objectContaining({ path: 'priority', message: 'property priority should not exist' })]);
      const notString = await http.post(`/v1/models/${name}/runs`).send({ source: 42 });
      expect(notString.status).toBe(400);
      const foreign = await http.post(`/v1/models/${name}/runs`).send({ source: other.source });
      expect(foreign.status).toBe(400);
      expect(foreign.body.message).toMatch(/does not exist for model/);
      const unknown = await http.post(`/v1/models/${name}/runs`).send({ source: 'dataset:not-an-id' });
      expect(unknown.status).toBe(400);
      const scheme = await http.post(`/v1/models/${name}/runs`).send({ source: 'ftp://host/file.csv' });
      expect(scheme.status).toBe(400);
      expect(scheme.body.message).toMatch(/unsupported source/);
      const badKey = await http.post(`/v1/models/${name}/runs`).set('Idempotency-Key', 'has space').send({ source });
      expect(badKey.status).toBe(400);
      const unknownModel = await http.post('/v1/models/no-such-model/runs').send({ source });
      expect(unknownModel.status).toBe(404);
    });
  });

  describe('GET /v1/runs/{id}', () => {
    it('answers 400 for a malformed id and 404 for an unknown run', async () => {
      const bad = await http.get('/v1/runs/12345');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/not a valid run id/);
      const missing = await http.get(`/v1/runs/${randomUUID()}`);
      expect(missing.status).toBe(404);
      expect(missing.body.message).toMatch(/run .* does not exist/);
    });

    it('validates list limits', async () => {
      const { name } = await modelWithDataset();
      expect((await http.get(`/v1/models/${name}/runs?limit=abc`)).status).toBe(400);
      expect((await http.get(`/v1/models/${name}/runs?limit=2`)).status).toBe(200);
    });
  });

  describe('versions', () => {
    it('shows a registered version with metrics, lineage and champion flag, and streams its artifacts verified', async () => {
      const { name, source, datasetId } = await modelWithDataset();
      const empty = await http.get(`/v1/models/${name}/versions`);
      expect(empty.body).toEqual([]);
      expect((await http.get(`/v1/models/${name}/versions/champion`)).status).toBe(404);

      const run = await http.post(`/v1/models/${name}/runs`).send({ source });
      const model = (await api.registry.findModelByName(name))!;
      const onnx = Buffer.from('not really onnx, but bytes all the same');
      const modelArtifact = await api.store.putBytesContentAddressed(onnx, 'models', '.onnx', 'application/octet-stream');
      const report = await api.store.putJsonContentAddressed({ passed: true, reasons: ['beats baseline'] }, 'reports/evaluation');
      await api.registry.registerVersion(
        {
          modelId: model.id,
          runId: run.body.runId,
          metrics: { balanced_accuracy: 0.91 },
          lineage: {
            datasetId, datasetSha256: 'a'.repeat(64), datasetSource: source, splitSeed: 42, splitMembershipHash: 'b'.repeat(64),
            specHash: model.specHash, trainer: 'gbdt', params: {}, codeVersion: { package: '0.1.0' },
            workflowId: run.body.workflowId, workflowRunId: run.body.workflowRunId, runId: run.body.runId,
          },
          artifacts: [
            { kind: 'model', ...modelArtifact },
            { kind: 'evaluation_report', ...report },
          ],
          promote: true,
        },
        'system:test',
      );

      const version = await http.get(`/v1/models/${name}/versions/1`);
      expect(version.status).toBe(200);
      expect(version.body).toMatchObject({ model: name, version: 1, isChampion: true, metrics: { balanced_accuracy: 0.91 }, runId: run.body.runId });
      expect(version.body.lineage).toMatchObject({ datasetId, trainer: 'gbdt' });
      expect(version.body.artifacts.map((a: { kind: string; href: string }) => a.href)).toEqual([
        `/v1/models/${name}/versions/1/artifacts/model`,
        `/v1/models/${name}/versions/1/artifacts/evaluation_report`,
      ]);
      const champion = await http.get(`/v1/models/${name}/versions/champion`);
      expect(champion.body.version).toBe(1);
      const detail = await http.get(`/v1/models/${name}`);
      expect(detail.body).toMatchObject({ championVersion: 1, champion: { version: 1 }, latestRun: { id: run.body.runId }, counts: { versions: 1, runs: 1, datasets: 1 } });

      const download = await http.get(`/v1/models/${name}/versions/champion/artifacts/model`).buffer(true).parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });
      expect(download.status).toBe(200);
      expect(download.headers['content-type']).toBe('application/octet-stream');
      expect(download.headers['content-disposition']).toBe(`attachment; filename="${name}-v1.onnx"`);
      expect(download.headers['x-content-sha256']).toBe(modelArtifact.sha256);
      expect(download.headers.etag).toBe(`"${modelArtifact.sha256}"`);
      expect(Buffer.compare(download.body as Buffer, onnx)).toBe(0);

      const cached = await http.get(`/v1/models/${name}/versions/1/artifacts/model`).set('If-None-Match', `"${modelArtifact.sha256}"`);
      expect(cached.status).toBe(304);

      const evaluation = await http.get(`/v1/models/${name}/versions/1/artifacts/evaluation_report`);
      expect(evaluation.status).toBe(200);
      expect(evaluation.headers['content-type']).toMatch(/^application\/json/);
      expect(JSON.parse(evaluation.text)).toEqual({ passed: true, reasons: ['beats baseline'] });

      const noProfile = await http.get(`/v1/models/${name}/versions/1/artifacts/profile`);
      expect(noProfile.status).toBe(404);
      expect(noProfile.body.message).toMatch(/has no profile artifact \(it has: model, evaluation_report\)/);
      expect((await http.get(`/v1/models/${name}/versions/1/artifacts/weights`)).status).toBe(400);
      expect((await http.get(`/v1/models/${name}/versions/2`)).status).toBe(404);
      const bad = await http.get(`/v1/models/${name}/versions/latest`);
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/positive integer .* or 'champion'/);
    });
  });
});
