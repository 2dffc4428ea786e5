/**
 * What every route shares: health checks, OpenAPI docs, request IDs and callers, and the error shape when a
 * dependency fails (an unexpected error is a 500 that says "internal error" and the request ID, never a stack).
 */
import request from 'supertest';
import { DataSource } from 'typeorm';

import { startTemporalDevServer } from '../support';
import type { TemporalDevServer } from '../support';
import { describeEachDatabase, startApiApp, uniqueName, validSpec } from './api-app';
import type { ApiTestApp } from './api-app';

describeEachDatabase('API platform', (db) => {
  let api: ApiTestApp;

  beforeAll(async () => {
    api = await startApiApp(db);
  });
  afterAll(async () => {
    await api?.close();
  });

  it('is live, and ready when the database, MinIO and Temporal all answer', async () => {
    const live = await request(api.url).get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok' });

    const ready = await request(api.url).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.checks).toEqual([
      { name: 'database', status: 'up', latencyMs: expect.any(Number) },
      { name: 'storage', status: 'up', latencyMs: expect.any(Number) },
      { name: 'temporal', status: 'up', latencyMs: expect.any(Number) },
    ]);
  });

  it('serves the OpenAPI document at /docs-json and the UI at /docs', async () => {
    const doc = await request(api.url).get('/docs-json');
    expect(doc.status).toBe(200);
    expect(doc.body.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.body.paths)).toEqual(
      expect.arrayContaining([
        '/v1/models',
        '/v1/models/{name}',
        '/v1/models/{name}/spec',
        '/v1/models/{name}/datasets',
        '/v1/datasets/{id}',
        '/v1/models/{name}/runs',
        '/v1/runs/{id}',
        '/v1/models/{name}/versions',
        '/v1/models/{name}/versions/{version}',
        '/v1/models/{name}/versions/{version}/artifacts/{kind}',
        '/v1/audit',
        '/health/live',
        '/health/ready',
      ]),
    );
    expect(doc.body.components.schemas.ErrorResponse).toBeDefined();
    const ui = await request(api.url).get('/docs/');
    expect(ui.status).toBe(200);
    expect(ui.text).toMatch(/swagger/i);
  });

  it('echoes X-Request-Id, makes one up when absent, and records the caller from the API key, never X-Mlcycle-Actor', async () => {
    const given = await request(api.url).get('/health/live').set('X-Request-Id', 'trace-123');
    expect(given.headers['x-request-id']).toBe('trace-123');
    const made = await request(api.url).get('/health/live');
    expect(made.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);

    const name = uniqueName('actor');
    const scheduler = await api.as('data-scientist', 'svc:scheduler');
    const created = await scheduler.post('/v1/models').set('X-Mlcycle-Actor', 'mallory').send(validSpec(name));
    expect(created.body.owner).toBe('svc:scheduler');
    const unauthenticated = await request(api.url).post('/v1/models').set('X-Mlcycle-Actor', 'svc:scheduler').send(validSpec(uniqueName('anon')));
    expect(unauthenticated.status).toBe(401);
  });

  it('validates query parameters of the audit log', async () => {
    expect((await api.http().get('/v1/audit?limit=0')).status).toBe(400);
    const unknown = await api.http().get('/v1/audit?colour=blue');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/property colour should not exist/);
    expect((await api.http().get('/v1/audit?limit=5')).status).toBe(200);
  });
});

describe('API when Temporal goes away', () => {
  let temporal: TemporalDevServer;
  let api: ApiTestApp;

  beforeAll(async () => {
    temporal = await startTemporalDevServer();
    api = await startApiApp('sqlite', { MLCYCLE_TEMPORAL_ADDRESS: temporal.address });
  });
  afterAll(async () => {
    await api?.close();
    await temporal?.stop();
  });

  it('answers 503 for a run start, keeps the run for a retry with the same Idempotency-Key, and is not ready', async () => {
    const name = uniqueName('down');
    expect((await api.http().post('/v1/models').send(validSpec(name))).status).toBe(201);
    await temporal.stop();

    const started = Date.now();
    const keyed = await api.http().post(`/v1/models/${name}/runs`).set('Idempotency-Key', 'k1').send({ source: 's3://data/x.csv' });
    expect(keyed.status).toBe(503);
    expect(keyed.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', message: expect.stringMatching(/Temporal is unavailable/) });
    expect(Date.now() - started).toBeLessThan(10_000);

    const unkeyed = await api.http().post(`/v1/models/${name}/runs`).send({ source: 's3://data/y.csv' });
    expect(unkeyed.status).toBe(503);

    // The keyed run waits for its retry; the other cannot be resumed by anyone, so it is closed as failed.
    const runs = (await api.http().get(`/v1/models/${name}/runs`)).body as { source: string; status: string; links: { self: string } }[];
    expect(runs.find((r) => r.source === 's3://data/x.csv')?.status).toBe('queued');
    expect(runs.find((r) => r.source === 's3://data/y.csv')?.status).toBe('failed');
    const failed = await api.http().get(runs.find((r) => r.source === 's3://data/y.csv')!.links.self);
    expect(failed.body.error).toMatch(/the workflow could not be started/);

    const ready = await request(api.url).get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.message).toMatch(/not ready: temporal/);
  });
});

describe('API when its dependencies fail', () => {
  let api: ApiTestApp;

  beforeAll(async () => {
    api = await startApiApp('sqlite');
  });
  afterAll(async () => {
    await api?.close();
  });

  it('reports 503 with every check when storage and the database are gone, and 500 "internal error" for an unexpected failure', async () => {
    await api.store.client.removeBucket(api.store.bucket);
    await api.app.get(DataSource).destroy();

    const ready = await request(api.url).get('/health/ready').set('X-Request-Id', 'probe-1');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ statusCode: 503, error: 'Service Unavailable', requestId: 'probe-1' });
    expect(ready.body.message).toMatch(/not ready: database .*; storage/);
    expect(ready.body.details).toEqual([
      expect.objectContaining({ name: 'database', status: 'down' }),
      expect.objectContaining({ name: 'storage', status: 'down', error: expect.stringMatching(/does not exist/) }),
      expect.objectContaining({ name: 'temporal', status: 'up' }),
    ]);

    // The bootstrap key needs no database: the request reaches the service, which fails.
    const failed = await api.http().get('/v1/models').set('X-Request-Id', 'boom-1');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ statusCode: 500, error: 'Internal Server Error', message: 'internal error', requestId: 'boom-1' });
  });
});
