/**
 * Authentication and roles over HTTP, on SQLite and PostgreSQL: API keys (stored hashed) with an identity and
 * roles, the bootstrap admin key from MLCYCLE_ADMIN_KEY, key management for admins, 401/403 in the API's error
 * shape, and the key's identity as owner, requestedBy and audit actor of everything done with it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import request from 'supertest';
import { DataSource } from 'typeorm';

import { API_KEY_CACHE_TTL_MS } from '../../api/common/auth/api-key.verifier';
import { appEnvForTests, waitUntil } from '../support';
import { describeEachDatabase, SMALL_CSV, startApiApp, uniqueName, validSpec } from './api-app';
import type { ApiTestApp } from './api-app';

const sha256 = (s: string): string => createHash('sha256').update(s).digest('hex');

describeEachDatabase('authentication and roles', (db) => {
  let api: ApiTestApp;
  const models: string[] = [];

  beforeAll(async () => {
    api = await startApiApp(db);
  });
  afterAll(async () => {
    if (!api) return;
    for (const name of models) {
      for await (const wf of api.temporal.workflow.list({ query: `MlcycleModel = '${name}' AND ExecutionStatus = 'Running'` })) {
        await api.temporal.workflow.getHandle(wf.workflowId, wf.runId).terminate('api e2e cleanup').catch(() => undefined);
      }
    }
    await api.close();
  });

  describe('401 without a valid key', () => {
    it('answers a call without a key with 401, WWW-Authenticate: Bearer and the error shape', async () => {
      const res = await request(api.url).get('/v1/models').set('X-Request-Id', 'no-key-1');
      expect(res.status).toBe(401);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="mlcycle"$/);
      expect(res.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: expect.stringMatching(/GET \/v1\/models needs an API key: send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'/),
        requestId: 'no-key-1',
      });
      // Mutations too, and before anything is written.
      const name = uniqueName('nokey');
      expect((await request(api.url).post('/v1/models').send(validSpec(name))).status).toBe(401);
      expect(await api.registry.findModelByName(name)).toBeNull();
      const upload = await request(api.url).post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(SMALL_CSV);
      expect(upload.status).toBe(401);
    });

    it('answers an unknown, malformed or foreign-scheme key with 401 invalid_token', async () => {
      const attempts = [
        request(api.url).get('/v1/models').set('Authorization', 'Bearer mlc_this-key-was-never-issued-0000000000000'),
        request(api.url).get('/v1/models').set('X-Api-Key', 'mlc_this-key-was-never-issued-0000000000000'),
        request(api.url).get('/v1/models').set('Authorization', 'Basic YWRtaW46YWRtaW4='),
        request(api.url).get('/v1/models').set('Authorization', `Bearer ${api.adminKey}x`),
        // Two different keys: which one was meant? Neither.
        request(api.url).get('/v1/models').set('Authorization', `Bearer ${api.adminKey}`).set('X-Api-Key', 'mlc_other'),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toBe('Bearer realm="mlcycle", error="invalid_token"');
        expect(res.body).toMatchObject({ statusCode: 401, error: 'Unauthorized', message: expect.stringMatching(/API key is not valid/), requestId: expect.any(String) });
      }
    });

    it('keeps health probes and the API docs public', async () => {
      expect((await request(api.url).get('/health/live')).status).toBe(200);
      expect((await request(api.url).get('/health/ready')).status).toBe(200);
      expect((await request(api.url).get('/docs/')).status).toBe(200);
      const doc = await request(api.url).get('/docs-json');
      expect(doc.status).toBe(200);
      expect(doc.body.components.securitySchemes).toMatchObject({
        bearer: { type: 'http', scheme: 'bearer' },
        'x-api-key': { type: 'apiKey', in: 'header', name: 'X-Api-Key' },
      });
      expect(doc.body.paths['/health/live'].get.security).toEqual([{}]);
      expect(doc.body.paths['/v1/models'].post['x-mlcycle-roles']).toEqual(['data-scientist', 'admin']);
      expect(doc.body.paths['/v1/models'].post.responses).toHaveProperty('403');
      expect(doc.body.paths['/v1/audit'].get['x-mlcycle-roles']).toEqual(['reviewer', 'admin']);
      expect(doc.body.paths['/v1/api-keys'].post['x-mlcycle-roles']).toEqual(['admin']);
    });
  });

  describe('the bootstrap admin key', () => {
    it('works as Bearer and as X-Api-Key, with the identity bootstrap-admin', async () => {
      const name = uniqueName('boot');
      const created = await request(api.url).post('/v1/models').set('X-Api-Key', api.adminKey).send(validSpec(name));
      expect(created.status).toBe(201);
      expect(created.body.owner).toBe('bootstrap-admin');
      expect((await request(api.url).get('/v1/audit').set('Authorization', `Bearer ${api.adminKey}`)).status).toBe(200);
    });

    it('is not stored anywhere', async () => {
      const ds = api.app.get(DataSource);
      const rows = (await ds.query('SELECT * FROM api_keys')) as Record<string, unknown>[];
      expect(rows.some((r) => r.keyHash === sha256(api.adminKey))).toBe(false);
    });
  });

  describe('key management', () => {
    it('creates a key (shown once), lists it without secrets, and revokes it; all audited with the admin', async () => {
      const created = await api.http().post('/v1/api-keys').send({ identity: 'dora@example.com', roles: ['data-scientist', 'reviewer'] });
      expect(created.status).toBe(201);
      const { key, id } = created.body;
      expect(key).toMatch(/^mlc_[A-Za-z0-9_-]{43}$/);
      expect(created.body).toMatchObject({
        id: expect.any(String),
        identity: 'dora@example.com',
        roles: ['data-scientist', 'reviewer'],
        prefix: key.slice(0, 12),
        createdBy: 'bootstrap-admin',
        revokedAt: null,
      });

      const list = await api.http().get('/v1/api-keys');
      expect(list.status).toBe(200);
      const listed = list.body.find((k: { id: string }) => k.id === id);
      expect(listed).toEqual({
        id, identity: 'dora@example.com', roles: ['data-scientist', 'reviewer'], prefix: key.slice(0, 12),
        createdBy: 'bootstrap-admin', createdAt: expect.any(String), revokedAt: null,
      });
      expect(JSON.stringify(list.body)).not.toContain(key);
      expect(JSON.stringify(list.body)).not.toContain(sha256(key));

      const dora = api.http(key);
      expect((await dora.get('/v1/models')).status).toBe(200);

      const revoked = await api.http().delete(`/v1/api-keys/${id}`);
      expect(revoked.status).toBe(200);
      expect(revoked.body).toMatchObject({ id, revokedAt: expect.any(String) });
      // Revoked here: refused at once on this replica, whatever was cached.
      expect((await dora.get('/v1/models')).status).toBe(401);
      const again = await api.http().delete(`/v1/api-keys/${id}`);
      expect(again.status).toBe(200);
      expect(again.body.revokedAt).toBe(revoked.body.revokedAt);

      const audit = await api.http().get('/v1/audit').query({ entityType: 'api_key', entityId: id });
      expect(audit.body.map((e: { action: string; actor: string }) => `${e.actor} ${e.action}`)).toEqual([
        'bootstrap-admin http.DELETE /v1/api-keys/{id}',
        'bootstrap-admin http.DELETE /v1/api-keys/{id}',
        'bootstrap-admin api_key.revoked',
        'bootstrap-admin http.POST /v1/api-keys',
        'bootstrap-admin api_key.created',
      ]);
      expect(audit.body.find((e: { action: string }) => e.action === 'api_key.created').details).toEqual({
        identity: 'dora@example.com', roles: ['data-scientist', 'reviewer'], prefix: key.slice(0, 12),
      });
    });

    it('never stores the key itself: the database holds its sha256 only', async () => {
      const created = await api.http().post('/v1/api-keys').send({ identity: 'erin', roles: ['service'] });
      const { key, id } = created.body as { key: string; id: string };
      const ds = api.app.get(DataSource);
      const rows = (await ds.query('SELECT * FROM api_keys')) as Record<string, unknown>[];
      const mine = rows.find((r) => r.id === id)!;
      expect(mine.keyHash).toBe(sha256(key));
      expect(JSON.stringify(rows)).not.toContain(key);
      expect(JSON.stringify(rows)).not.toContain(key.slice(12)); // not even the secret part, split up
      const audit = (await ds.query('SELECT * FROM audit_events')) as Record<string, unknown>[];
      expect(JSON.stringify(audit)).not.toContain(key);
    });

    it('validates the request: identity, known roles, no reserved identities', async () => {
      const cases: [Record<string, unknown>, RegExp][] = [
        [{ identity: 'x', roles: ['superuser'] }, /each role must be one of: admin, data-scientist, reviewer, service/],
        [{ identity: 'x', roles: [] }, /roles must name at least one role/],
        [{ identity: 'x', roles: ['reviewer', 'reviewer'] }, /roles must not repeat/],
        [{ roles: ['reviewer'] }, /identity must be a string/],
        [{ identity: ' padded ', roles: ['reviewer'] }, /identity must be 1-200 printable ASCII/],
        [{ identity: 'bootstrap-admin', roles: ['admin'] }, /reserved/],
        [{ identity: 'system:training-pipeline', roles: ['admin'] }, /reserved/],
        [{ identity: 'x', roles: ['reviewer'], key: 'mlc_my-own-choice' }, /property key should not exist/],
      ];
      for (const [body, message] of cases) {
        const res = await api.http().post('/v1/api-keys').send(body);
        expect({ body, status: res.status }).toEqual({ body, status: 400 });
        expect(res.body.message).toMatch(message);
      }
      expect((await api.http().delete('/v1/api-keys/not-a-uuid')).status).toBe(400);
      expect((await api.http().delete('/v1/api-keys/5b0e7c9a-2f1d-4c3b-8a9e-0d1c2b3a4f5e')).status).toBe(404);
    });

    it('is for admins only', async () => {
      const target = (await api.http().post('/v1/api-keys').send({ identity: 'frank', roles: ['reviewer'] })).body.id as string;
      for (const role of ['data-scientist', 'reviewer', 'service'] as const) {
        const client = await api.as(role, `not-an-admin-${role}`);
        const attempts = await Promise.all([
          client.post('/v1/api-keys').send({ identity: 'escalate', roles: ['admin'] }),
          client.get('/v1/api-keys'),
          client.delete(`/v1/api-keys/${target}`),
        ]);
        for (const res of attempts) {
          expect(res.status).toBe(403);
          expect(res.body).toMatchObject({ statusCode: 403, error: 'Forbidden', message: expect.stringMatching(/needs the role admin; the key of 'not-an-admin-/) });
        }
      }
      const stillThere = (await api.http().get('/v1/api-keys')).body.find((k: { id: string }) => k.id === target);
      expect(stillThere.revokedAt).toBeNull();
      expect((await api.http().get('/v1/api-keys')).body.some((k: { identity: string }) => k.identity === 'escalate')).toBe(false);

      const admin = await api.as('admin', 'grace');
      const minted = await admin.post('/v1/api-keys').send({ identity: 'heidi', roles: ['reviewer'] });
      expect(minted.status).toBe(201);
      expect(minted.body.createdBy).toBe('grace');
    });
  });

  describe('roles', () => {
    it('answers 403 naming the roles a route needs', async () => {
      const service = await api.as('service', 'svc:inference');
      const name = uniqueName('svc');
      const create = await service.post('/v1/models').send(validSpec(name));
      expect(create.status).toBe(403);
      expect(create.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: "POST /v1/models needs the role data-scientist or admin; the key of 'svc:inference' has service",
        requestId: expect.any(String),
      });
      expect(create.headers['www-authenticate']).toBeUndefined();
      expect(await api.registry.findModelByName(name)).toBeNull();
      expect((await service.get('/v1/models')).status).toBe(403);

      const scientist = await api.as('data-scientist', 'ivan');
      const audit = await scientist.get('/v1/audit');
      expect(audit.status).toBe(403);
      expect(audit.body.message).toBe("GET /v1/audit needs the role reviewer or admin; the key of 'ivan' has data-scientist");

      const reviewer = await api.as('reviewer', 'judy');
      expect((await reviewer.get('/v1/audit')).status).toBe(200);
      expect((await reviewer.get('/v1/models')).status).toBe(200);
      const reviewerCreates = await reviewer.post('/v1/models').send(validSpec(uniqueName('rev')));
      expect(reviewerCreates.status).toBe(403);
      expect(reviewerCreates.body.message).toMatch(/needs the role data-scientist or admin/);
    });

    it('gives a key with several roles the union of them', async () => {
      const both = await api.as(['data-scientist', 'reviewer'], 'ken');
      const name = uniqueName('union');
      expect((await both.post('/v1/models').send(validSpec(name))).status).toBe(201);
      expect((await both.get('/v1/audit').query({ entityType: 'model', entityId: name })).status).toBe(200);
    });
  });

  describe('the identity in the record', () => {
    it('is the owner, the requestedBy and the audit actor of everything done with the key', async () => {
      const lena = await api.as('data-scientist', 'lena@example.com');
      const name = uniqueName('ident');
      models.push(name);
      const created = await lena.post('/v1/models').send(validSpec(name));
      expect(created.body.owner).toBe('lena@example.com');
      const upload = await lena.post(`/v1/models/${name}/datasets`).set('Content-Type', 'text/csv').send(SMALL_CSV);
      expect(upload.status).toBe(201);
      const run = await lena.post(`/v1/models/${name}/runs`).set('X-Request-Id', 'lena-run-1').send({ source: upload.body.source });
      expect(run.status).toBe(202);
      expect((await lena.get(`/v1/runs/${run.body.runId}`)).body.requestedBy).toBe('lena@example.com');

      const events = (await api.http().get('/v1/audit').query({ entityType: 'model', entityId: name })).body as {
        actor: string; action: string; entityType: string; entityId: string; details: Record<string, unknown>;
      }[];
      expect(events.map((e) => [e.actor, e.action])).toEqual([
        ['lena@example.com', 'http.POST /v1/models/{name}/runs'],
        ['lena@example.com', 'http.POST /v1/models/{name}/datasets'],
        ['lena@example.com', 'http.POST /v1/models'],
        ['lena@example.com', 'model.created'],
      ]);
      expect(events[0].details).toEqual({ requestId: 'lena-run-1', status: 202, path: `/v1/models/${name}/runs`, via: 'api-key' });
      expect(events[1].details).toMatchObject({ status: 201 });
      const requested = (await api.http().get('/v1/audit').query({ entityType: 'run', entityId: run.body.runId })).body;
      expect(requested).toEqual([expect.objectContaining({ actor: 'lena@example.com', action: 'run.requested' })]);
    });

    it('audits only calls that succeeded and only mutations', async () => {
      const mia = await api.as('data-scientist', 'mia');
      const name = uniqueName('failed');
      expect((await mia.post('/v1/models').send(validSpec(name, { task: 'clustering' }))).status).toBe(400);
      expect((await mia.get('/v1/models')).status).toBe(200);
      const all = (await api.http().get('/v1/audit').query({ limit: 1000 })).body as { actor: string; action: string }[];
      expect(all.filter((e) => e.actor === 'mia')).toEqual([]);
    });
  });

  describe('revocation by another replica', () => {
    it(`is seen here within the cache TTL (${API_KEY_CACHE_TTL_MS} ms)`, async () => {
      const created = await api.http().post('/v1/api-keys').send({ identity: 'nina', roles: ['reviewer'] });
      const nina = api.http(created.body.key);
      const cachedAt = Date.now();
      expect((await nina.get('/v1/models')).status).toBe(200); // now cached as valid
      // Revoke through the registry, as another API replica would: this process is not told.
      await api.registry.revokeApiKey(created.body.id, 'replica-2-admin');
      await waitUntil('the revoked key is refused', async () => (await nina.get('/v1/models')).status === 401, {
        timeoutMs: API_KEY_CACHE_TTL_MS + 2_000,
        intervalMs: 100,
      });
      // Refused no later than one TTL after the answer was cached (plus the time a request takes).
      expect(Date.now() - cachedAt).toBeLessThan(API_KEY_CACHE_TTL_MS + 1_500);
    });
  });
});

describe('MLCYCLE_ADMIN_KEY validation', () => {
  it('stops the app when the key is too short, naming the variable and not echoing the value', async () => {
    await expect(startApiApp('sqlite', { MLCYCLE_ADMIN_KEY: 'short-secret' })).rejects.toThrow(
      /MLCYCLE_ADMIN_KEY \(value hidden, 12 characters\): must be at least 24 characters/,
    );
  });

  it('stops the compiled API process with exit code 1 and the message', () => {
    const main = path.join(__dirname, '..', '..', 'dist', 'api', 'main.js');
    expect(fs.existsSync(main)).toBe(true); // npm test compiles dist/ before jest runs
    const run = spawnSync(process.execPath, [main], {
      env: { ...process.env, ...appEnvForTests({ MLCYCLE_ADMIN_KEY: 'short-secret', MLCYCLE_API_PORT: '1' }) },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/MLCYCLE_ADMIN_KEY \(value hidden, 12 characters\): must be at least 24 characters/);
    expect(run.stderr).not.toContain('short-secret');
  });
});
