/**
 * The registry against real databases: embedded SQLite always, PostgreSQL when MLCYCLE_TEST_PG_URL points at a
 * server (npm test provides one). Each case checks a guarantee the pipeline relies on under activity retries.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { parseModelSpec, specHash } from '../ml/spec';
import { openRegistry, REGISTRY_MIGRATIONS } from './data-source';
import { RegistryConflictError, RegistryService } from './registry.service';
import type { Lineage } from './entities';

const spec = parseModelSpec({
  name: 'registry-test',
  task: 'binary_classification',
  target: 'label',
  trainer: { name: 'logistic_regression' },
  evaluation: { primaryMetric: 'accuracy' },
});

type Backend = { name: string; open: () => Promise<{ ds: DataSource; cleanup: () => Promise<void> }> };

const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-registry-'));
      const ds = await openRegistry({ type: 'sqlite', path: path.join(dir, 'registry.sqlite'), logging: false });
      return { ds, cleanup: async () => { await ds.destroy(); fs.rmSync(dir, { recursive: true, force: true }); } };
    },
  },
];
const pgUrl = process.env.MLCYCLE_TEST_PG_URL;
if (pgUrl) {
  backends.push({
    name: 'postgres',
    open: async () => {
      const dbName = `mlcycle_registry_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
      const admin = new Client({ connectionString: pgUrl });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${dbName}`);
      await admin.end();
      const url = new URL(pgUrl);
      url.pathname = `/${dbName}`;
      const ds = await openRegistry({ type: 'postgres', url: url.toString(), logging: false });
      return {
        ds,
        cleanup: async () => {
          await ds.destroy();
          const c = new Client({ connectionString: pgUrl });
          await c.connect();
          await c.query(`DROP DATABASE IF EXISTS ${dbName}`);
          await c.end();
        },
      };
    },
  });
} else {
  test.skip('PostgreSQL registry suite: MLCYCLE_TEST_PG_URL is not set (npm test sets it)', () => undefined);
}

function lineage(runId: string): Lineage {
  return {
    datasetId: 'd',
    datasetSha256: 'a'.repeat(64),
    datasetSource: 'dataset:d',
    splitSeed: 42,
    splitMembershipHash: 'b'.repeat(64),
    specHash: specHash(spec),
    trainer: 'logistic_regression',
    params: {},
    codeVersion: { package: 'mlcycle@test' },
    workflowId: `train/registry-test/${runId}`,
    workflowRunId: 'wf-run',
    runId,
  };
}

describe.each(backends)('registry on $name', (backend) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let registry: RegistryService;

  beforeAll(async () => {
    ({ ds, cleanup } = await backend.open());
    registry = new RegistryService(ds);
  });
  afterAll(async () => cleanup());

  async function newModel(name = `m-${randomUUID().slice(0, 8)}`) {
    return registry.createModel({ name, owner: 'alice', spec: { ...spec, name }, specHash: specHash(spec) });
  }

  async function newRun(modelId: string, idempotencyKey?: string) {
    const id = randomUUID();
    return registry.createRun({ id, modelId, source: 'dataset:x', specHash: 'h', workflowId: `train/x/${id}`, requestedBy: 'alice', steps: [], idempotencyKey });
  }

  test('migrations are applied once and opening again is a no-op', async () => {
    expect(await ds.showMigrations()).toBe(false);
    await ds.runMigrations();
    expect((await ds.query('SELECT COUNT(*) AS n FROM migrations'))[0].n.toString()).toBe(String(REGISTRY_MIGRATIONS.length));
  });

  test('a duplicate model name is a conflict, not a second row', async () => {
    const model = await newModel();
    await expect(newModel(model.name)).rejects.toBeInstanceOf(RegistryConflictError);
    expect((await registry.listModels()).filter((m) => m.name === model.name)).toHaveLength(1);
    expect((await registry.findModelByName(model.name))?.spec.target).toBe('label');
  });

  test('the same bytes ingested twice are one dataset snapshot', async () => {
    const model = await newModel();
    const input = { modelId: model.id, sha256: 'c'.repeat(64), source: 's3://b/k', format: 'csv', objectKey: 'datasets/x', sizeBytes: 5_000_000_000 };
    const first = await registry.upsertDataset(input);
    const second = await registry.upsertDataset({ ...input, source: 'dataset:other' });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.dataset.id).toBe(first.dataset.id);
    expect(second.dataset.sizeBytes).toBe(5_000_000_000); // bigint survives the round trip as a number
  });

  test('an idempotency key returns the run created first', async () => {
    const model = await newModel();
    const a = await newRun(model.id, 'key-1');
    const b = await newRun(model.id, 'key-1');
    const c = await newRun(model.id);
    expect(b.created).toBe(false);
    expect(b.run.id).toBe(a.run.id);
    expect(c.run.id).not.toBe(a.run.id);
  });

  test('registering a version twice for one run (a retried activity) yields one version', async () => {
    const model = await newModel();
    const { run } = await newRun(model.id);
    const input = { modelId: model.id, runId: run.id, metrics: { accuracy: 0.9 }, lineage: lineage(run.id), artifacts: [], promote: true };
    const [v1, again] = [await registry.registerVersion(input, 'alice'), await registry.registerVersion(input, 'alice')];
    expect(again.id).toBe(v1.id);
    expect(v1.version).toBe(1);
    expect((await registry.listVersions(model.id)).length).toBe(1);
    expect((await registry.findChampion(model.id))?.version).toBe(1);
    expect((await registry.findRun(run.id))?.version).toBe(1);
  });

  test('concurrent registrations for different runs get distinct consecutive numbers', async () => {
    const model = await newModel();
    const runs = await Promise.all([1, 2, 3, 4].map(() => newRun(model.id)));
    const versions = await Promise.all(
      runs.map(({ run }) =>
        registry.registerVersion({ modelId: model.id, runId: run.id, metrics: {}, lineage: lineage(run.id), artifacts: [], promote: false }, 'bob'),
      ),
    );
    expect(versions.map((v) => v.version).sort()).toEqual([1, 2, 3, 4]);
    expect(await registry.findChampion(model.id)).toBeNull();
  });

  test('the audit log is append-only: the database refuses updates and deletes', async () => {
    await registry.appendAudit({ actor: 'alice', action: 'test.event', entityType: 'test', entityId: 'x', dedupeKey: `k-${backend.name}` });
    await registry.appendAudit({ actor: 'alice', action: 'test.event', entityType: 'test', entityId: 'x', dedupeKey: `k-${backend.name}` });
    expect(await registry.listAudit({ entityType: 'test', entityId: 'x' })).toHaveLength(1);
    await expect(ds.query(`UPDATE audit_events SET actor = 'mallory'`)).rejects.toThrow(/append-only/);
    await expect(ds.query('DELETE FROM audit_events')).rejects.toThrow(/append-only/);
  });

  test('API keys: stored by hash, a repeated hash conflicts, revocation is idempotent, both audited', async () => {
    const keyHash = randomUUID().replace(/-/g, '').padEnd(64, '0');
    const key = await registry.createApiKey({ identity: 'alice', roles: ['data-scientist', 'reviewer'], keyHash, prefix: 'mlc_abcdefgh' }, 'root');
    expect(key).toMatchObject({ identity: 'alice', roles: ['data-scientist', 'reviewer'], createdBy: 'root', revokedAt: null });
    expect((await registry.findApiKeyByHash(keyHash))?.id).toBe(key.id);
    expect((await registry.listApiKeys()).map((k) => k.id)).toContain(key.id);
    await expect(registry.createApiKey({ identity: 'mallory', roles: ['admin'], keyHash, prefix: 'mlc_abcdefgh' }, 'root')).rejects.toBeInstanceOf(RegistryConflictError);

    const revoked = await registry.revokeApiKey(key.id, 'root');
    expect(revoked?.revokedAt).toBeInstanceOf(Date);
    expect((await registry.revokeApiKey(key.id, 'someone-else'))?.revokedAt?.getTime()).toBe(revoked?.revokedAt?.getTime());
    expect((await registry.findApiKeyByHash(keyHash))?.revokedAt).not.toBeNull();
    expect(await registry.revokeApiKey(randomUUID(), 'root')).toBeNull();
    const events = await registry.listAudit({ entityType: 'api_key', entityId: key.id });
    expect(events.map((e) => `${e.actor} ${e.action}`)).toEqual(['root api_key.revoked', 'root api_key.created']);
  });
  test('monitoring: a report is rewritten in place, feedback is first-answer-wins, alerts land once, deliveries count attempts', async () => {
    const model = await newModel();
    const report = {
      id: randomUUID(),
      modelId: model.id,
      windowStart: new Date('2026-01-02T10:00:00Z'),
      windowEnd: new Date('2026-01-02T11:00:00Z'),
      championVersion: 1,
      samples: 10,
      status: 'insufficient_data' as const,
      datasetDrift: null,
      driftedColumns: [],
      summary: { samples: 10 },
      artifactKey: 'monitoring/reports/x.json',
    };
    await registry.saveMonitoringReport(report);
    await registry.saveMonitoringReport({ ...report, samples: 200, status: 'drift', datasetDrift: true, driftedColumns: ['a'] });
    const reports = await registry.listMonitoringReports(model.id);
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ samples: 200, status: 'drift', driftedColumns: ['a'] });
    expect(Boolean(reports[0].datasetDrift)).toBe(true);
    // Another row for the same window under another id breaks the unique (model, window) index.
    await expect(registry.saveMonitoringReport({ ...report, id: randomUUID() })).rejects.toThrow();

    const first = await registry.recordFeedback(model.id, [{ requestId: 'r1', label: 'a' }, { requestId: 'r2', label: 'b' }, { requestId: 'r1', label: 'a' }], 'svc');
    expect(first).toEqual({ accepted: 2, duplicates: 1, conflicts: [] });
    const again = await registry.recordFeedback(model.id, [{ requestId: 'r1', label: 'a' }, { requestId: 'r2', label: 'c' }, { requestId: 'r3', value: 1.5 }], 'svc');
    expect(again).toEqual({ accepted: 1, duplicates: 1, conflicts: [{ requestId: 'r2', existing: { label: 'b', value: null } }] });
    const stored = await registry.findFeedback(model.id, ['r1', 'r2', 'r3', 'nope']);
    expect(stored.map((f) => [f.requestId, f.label, f.value]).sort()).toEqual([['r1', 'a', null], ['r2', 'b', null], ['r3', null, 1.5]]);

    const alert = { id: randomUUID(), modelId: model.id, modelName: model.name, reportId: report.id, kind: 'drift' as const, reason: '2 of 3 features drifted' };
    expect((await registry.raiseAlert(alert)).created).toBe(true);
    expect((await registry.raiseAlert(alert)).created).toBe(false);
    expect(await registry.listAlerts(model.id)).toHaveLength(1);
    expect((await registry.listAudit({ entityType: 'model', entityId: model.name })).filter((e) => e.action === 'monitoring.alert')).toHaveLength(1);

    await registry.recordWebhookAttempt({ alertId: alert.id, url: 'http://127.0.0.1:1/hook', status: 500, error: 'answered 500', delivered: false });
    const delivered = await registry.recordWebhookAttempt({ alertId: alert.id, url: 'http://127.0.0.1:1/hook', status: 204, error: null, delivered: true });
    expect(delivered).toMatchObject({ attempts: 2, lastStatus: 204, lastError: null });
    expect(delivered.deliveredAt).toBeInstanceOf(Date);
    expect(await registry.listWebhookDeliveries([alert.id])).toHaveLength(1);
  });
});
