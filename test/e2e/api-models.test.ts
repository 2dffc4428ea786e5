/** /v1/models and /v1/models/{name}/datasets over HTTP, against real MinIO and Temporal, on SQLite and PostgreSQL. */
import type TestAgent from 'supertest/lib/agent';
import { stringify as toYaml } from 'yaml';

import { describeEachDatabase, SMALL_CSV, startApiApp, uniqueName, validSpec } from './api-app';
import type { ApiTestApp } from './api-app';

describeEachDatabase('models and datasets API', (db) => {
  let api: ApiTestApp;
  /** a data scientist's key: what registers models and uploads data */
  let http: TestAgent;
  let scientistKey: string;
  /** for the raw fetch() calls */
  const auth = (): Record<string, string> => ({ authorization: `Bearer ${scientistKey}` });

  beforeAll(async () => {
    api = await startApiApp(db);
    scientistKey = await api.keyFor('data-scientist', 'scientist@e2e');
    http = api.http(scientistKey);
  });
  afterAll(async () => {
    await api?.close();
  });

  async function createModel(name: string, patch: Record<string, unknown> = {}): Promise<void> {
    const res = await http.post('/v1/models').send(validSpec(name, patch));
    expect(res.status).toBe(201);
  }

  describe('POST /v1/models', () => {
    it('registers a model from a JSON spec, owned by the caller, with defaults filled in', async () => {
      const name = uniqueName('json');
      const res = await (await api.as('data-scientist', 'alice')).post('/v1/models').send(validSpec(name));
      expect(res.status).toBe(201);
      expect(res.headers.location).toBe(`/v1/models/${name}`);
      expect(res.body).toMatchObject({ name, owner: 'alice', task: 'multiclass_classification', championVersion: null });
      expect(res.body.specHash).toMatch(/^[0-9a-f]{64}$/);
      expect(res.body.spec.split).toEqual({ train: 0.7, validation: 0.15, test: 0.15, seed: 42, stratify: true });

      const audit = await api.http().get('/v1/audit').query({ entityType: 'model', entityId: name });
      expect(audit.status).toBe(200);
      expect(audit.body).toEqual([
        expect.objectContaining({ actor: 'alice', action: 'http.POST /v1/models', entityId: name }),
        expect.objectContaining({ actor: 'alice', action: 'model.created', entityId: name }),
      ]);
    });

    it('registers a model from a YAML spec', async () => {
      const name = uniqueName('yaml');
      const res = await http.post('/v1/models').set('Content-Type', 'application/yaml').send(toYaml(validSpec(name)));
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ name, owner: 'scientist@e2e' });

      const text = await http.post('/v1/models').set('Content-Type', 'text/yaml').send(toYaml(validSpec(uniqueName('yaml'))));
      expect(text.status).toBe(201);
    });

    it('rejects an invalid spec with 400 and every problem with its field path', async () => {
      const res = await http
        .post('/v1/models')
        .set('X-Request-Id', 'req-invalid-spec')
        .send(validSpec(uniqueName('bad'), { task: 'regression', split: { train: 0.9, validation: 0.2, test: 0.1 } }));
      expect(res.status).toBe(400);
      expect(res.headers['x-request-id']).toBe('req-invalid-spec');
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request', requestId: 'req-invalid-spec' });
      expect(res.body.message).toMatch(/the model spec is invalid/);
      const paths = (res.body.details as { path: string }[]).map((d) => d.path);
      expect(paths).toEqual(expect.arrayContaining(['evaluation.primaryMetric', 'split']));
    });

    it('reports a missing field by path and unknown fields', async () => {
      const spec = validSpec(uniqueName('bad'));
      delete spec.target;
      const res = await http.post('/v1/models').send({ ...spec, colour: 'blue' });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'target' })]));
      expect(JSON.stringify(res.body.details)).toMatch(/colour/);
    });

    it('rejects malformed YAML and JSON, and an empty body, with 400', async () => {
      const yaml = await http.post('/v1/models').set('Content-Type', 'application/yaml').send('name: [unclosed');
      expect(yaml.status).toBe(400);
      expect(yaml.body.message).toMatch(/not valid JSON or YAML/);

      const json = await http.post('/v1/models').set('Content-Type', 'application/json').send('{"name": ');
      expect(json.status).toBe(400);
      expect(json.body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/not valid JSON/) });
      expect(json.body.requestId).toEqual(expect.any(String));

      const empty = await http.post('/v1/models');
      expect(empty.status).toBe(400);
      expect(empty.body.message).toMatch(/no body/);
    });

    it('answers 415 for a spec in another media type', async () => {
      const res = await http.post('/v1/models').set('Content-Type', 'text/plain').send('name: x');
      expect(res.status).toBe(415);
      expect(res.body.message).toMatch(/application\/json or application\/yaml/);
    });

    it('refuses a duplicate name with 409', async () => {
      const name = uniqueName('dup');
      await createModel(name);
      const res = await http.post('/v1/models').send(validSpec(name));
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ statusCode: 409, error: 'Conflict', message: `a model named '${name}' already exists` });
    });
  });

  describe('GET /v1/models', () => {
    it('lists models and shows one with champion, latest run and counts', async () => {
      const name = uniqueName('get');
      await createModel(name);
      const list = await http.get('/v1/models');
      expect(list.status).toBe(200);
      expect(list.body.map((m: { name: string }) => m.name)).toContain(name);

      const one = await http.get(`/v1/models/${name}`);
      expect(one.status).toBe(200);
      expect(one.body).toMatchObject({ name, champion: null, latestRun: null, counts: { versions: 0, runs: 0, datasets: 0 } });
      expect(one.body.spec.target).toBe('species');
    });

    it('answers 404 naming an unknown model, and 400 for a malformed name', async () => {
      const missing = await http.get('/v1/models/no-such-model');
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: expect.stringContaining("model 'no-such-model' does not exist") });

      const bad = await http.get('/v1/models/Not_A_Name');
      expect(bad.status).toBe(400);
      expect(bad.body.message).toMatch(/is not a model name/);
    });

    it('answers unknown routes with the same error shape', async () => {
      const res = await http.get('/v1/nothing-here');
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ statusCode: 404, error: 'Not Found', requestId: expect.any(String) });
    });
  });

  describe('PUT /v1/models/{name}/spec', () => {
    it('replaces the spec, and refuses a different name or an invalid spec', async () => {
      const name = uniqueName('put');
      await createModel(name);
      const before = await http.get(`/v1/models/${name}`);

      const updated = await (await api.as('data-scientist', 'bob'))
        .put(`/v1/models/${name}/spec`)
        .send(validSpec(name, { trainer: { name: 'logistic_regression' } }));
      expect(updated.status).toBe(200);
      expect(updated.body.spec.trainer.name).toBe('logistic_regression');
      expect(updated.body.specHash).not.toBe(before.body.specHash);

      const renamed = await http.put(`/v1/models/${name}/spec`).send(validSpec(uniqueName('other')));
      expect(renamed.status).toBe(400);
      expect(renamed.body.details).toEqual([expect.objectContaining({ path: 'name' })]);

      const invalid = await http.put(`/v1/models/${name}/spec`).send(validSpec(name, { task: 'clustering' }));
      expect(invalid.status).toBe(400);
      expect(invalid.body.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'task' })]));

      const audit = await api.http().get('/v1/audit').query({ entityType: 'model', entityId: name });
      expect(audit.body.slice(0, 2)).toEqual([
        expect.objectContaining({ action: 'http.PUT /v1/models/{name}/spec', actor: 'bob' }),
        expect.objectContaining({ action: 'model.spec_updated', actor: 'bob' }),
      ]);

      const unknown = await http.put('/v1/models/no-such-model/spec').send(validSpec('no-such-model'));
      expect(unknown.status).toBe(404);
    });
  });

  describe('datasets', () => {
    it('stores a CSV upload (201) and finds the same bytes again (200, same id)', async () => {
      const name = uniqueName('csv');
      await createModel(name);
      const first = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(SMALL_CSV);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ sha256: expect.stringMatching(/^[0-9a-f]{64}$/), sizeBytes: Buffer.byteLength(SMALL_CSV), format: 'csv', created: true });
      expect(first.body.source).toBe(`dataset:${first.body.id}`);
      expect(await api.listObjects('datasets/')).toContain(`datasets/sha256/${first.body.sha256}.csv`);

      const again = await http.post(`/v1/models/${name}/datasets?format=csv`).set('Content-Type', 'application/octet-stream').send(Buffer.from(SMALL_CSV));
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: first.body.id, created: false });

      const detail = await http.get(`/v1/datasets/${first.body.id}`);
      expect(detail.status).toBe(200);
      expect(detail.body).toMatchObject({ id: first.body.id, validationStatus: 'pending', rowCount: null, validationReport: null, profile: null, origin: 'upload' });

      const list = await http.get(`/v1/models/${name}/datasets`);
      expect(list.body.map((d: { id: string }) => d.id)).toEqual([first.body.id]);
    });

    it('accepts multipart/form-data with a `file` field and JSON Lines', async () => {
      const name = uniqueName('multipart');
      await createModel(name);
      const jsonl = '{"species":"adelie","bill_length":39.1}\n{"species":"gentoo","bill_length":46.1}\n';
      const res = await http.post(`/v1/models/${name}/datasets`).attach('file', Buffer.from(jsonl), { filename: 'penguins.jsonl', contentType: 'application/octet-stream' });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ format: 'jsonl', sizeBytes: Buffer.byteLength(jsonl) });
      const detail = await http.get(`/v1/datasets/${res.body.id}`);
      expect(detail.body.origin).toBe('upload (penguins.jsonl)');

      const noFile = await http.post(`/v1/models/${name}/datasets`).field('other', 'x');
      expect(noFile.status).toBe(400);
      expect(noFile.body.message).toMatch(/no `file` field/);
    });

    it('refuses an empty upload with 400 and stores nothing', async () => {
      const name = uniqueName('empty');
      await createModel(name);
      const before = await api.listObjects('datasets/');
      const res = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send('');
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/empty/);
      const chunked = await fetch(`${api.url}/v1/models/${name}/datasets`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', ...auth() },
        body: new ReadableStream({ start: (c) => c.close() }),
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(400);
      expect(await api.listObjects('datasets/')).toEqual(before);
    });

    it('refuses an upload over the limit with 413 and stores nothing, with or without Content-Length', async () => {
      const name = uniqueName('big');
      await createModel(name);
      const before = await api.listObjects('datasets/');
      const big = Buffer.alloc(api.config.uploadMaxBytes + 1, 'a,b\n');

      const declared = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(big);
      expect(declared.status).toBe(413);
      expect(declared.body).toMatchObject({ statusCode: 413, error: 'Payload Too Large', message: expect.stringMatching(/MLCYCLE_UPLOAD_MAX_BYTES/) });

      // Chunked: no length up front, so the limit is enforced while streaming.
      const chunk = Buffer.alloc(16 * 1024, 'x,y\n');
      let sent = 0;
      const streamed = await fetch(`${api.url}/v1/models/${name}/datasets`, {
        method: 'POST',
        headers: { 'content-type': 'text/csv', ...auth() },
        body: new ReadableStream({
          pull(controller) {
            if (sent > api.config.uploadMaxBytes * 2) controller.close();
            else {
              sent += chunk.length;
              controller.enqueue(chunk);
            }
          },
        }),
        duplex: 'half',
      } as RequestInit);
      expect(streamed.status).toBe(413);
      expect(((await streamed.json()) as { statusCode: number }).statusCode).toBe(413);

      const multipart = await http.post(`/v1/models/${name}/datasets`).attach('file', big, { filename: 'big.csv', contentType: 'text/csv' });
      expect(multipart.status).toBe(413);

      expect(await api.listObjects('datasets/')).toEqual(before);
      expect((await http.get(`/v1/models/${name}`)).body.counts.datasets).toBe(0);
    });

    it('answers 415 for an unknown media type or octet-stream without ?format=, and 400 for a bad format', async () => {
      const name = uniqueName('types');
      await createModel(name);
      const xml = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'application/xml').send('<a/>');
      expect(xml.status).toBe(415);
      const octet = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'application/octet-stream').send(Buffer.from('a,b\n'));
      expect(octet.status).toBe(415);
      expect(octet.body.message).toMatch(/\?format=/);
      const badFormat = await http.post(`/v1/models/${name}/datasets?format=xlsx`).set('Content-Type', 'application/octet-stream').send(Buffer.from('a'));
      expect(badFormat.status).toBe(400);
      expect(badFormat.body.details).toEqual([expect.objectContaining({ path: 'format' })]);
      // The upload route is never touched by the JSON parser: a JSON body is refused by media type, not parsed.
      const json = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'application/json').send('{"a": 1}');
      expect(json.status).toBe(415);
      const contradiction = await http.post(`/v1/models/${name}/datasets?format=parquet`).set('Content-Type', 'text/csv').send('a,b\n');
      expect(contradiction.status).toBe(400);
    });

    it('answers 404 for an unknown model or dataset and 400 for a malformed dataset id', async () => {
      const upload = await http.post('/v1/models/no-such-model/datasets').set('Content-Type', 'text/csv').send(SMALL_CSV);
      expect(upload.status).toBe(404);
      const unknown = await http.get('/v1/datasets/5b0e7c9a-2f1d-4c3b-8a9e-0d1c2b3a4f5e');
      expect(unknown.status).toBe(404);
      expect(unknown.body.message).toMatch(/dataset 5b0e7c9a-2f1d-4c3b-8a9e-0d1c2b3a4f5e does not exist/);
      const malformed = await http.get('/v1/datasets/not-a-uuid');
      expect(malformed.status).toBe(400);
      expect(malformed.body.message).toMatch(/not a valid dataset id/);
    });

    it('returns the stored validation report and profile once a run has written them', async () => {
      const name = uniqueName('reports');
      await createModel(name);
      const up = await http.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(SMALL_CSV);
      const report = await api.store.putJsonContentAddressed({ status: 'passed', issues: [] }, 'reports/validation');
      const profile = await api.store.putJsonContentAddressed({ columns: { species: { distinct: 3 } } }, 'profiles');
      await api.registry.updateDataset(up.body.id, {
        validationStatus: 'passed',
        rowCount: 3,
        validationReportKey: report.key,
        profileKey: profile.key,
      });
      const detail = await http.get(`/v1/datasets/${up.body.id}`);
      expect(detail.body).toMatchObject({
        validationStatus: 'passed',
        rowCount: 3,
        validationReport: { status: 'passed', issues: [] },
        profile: { columns: { species: { distinct: 3 } } },
      });
    });
  });
});
