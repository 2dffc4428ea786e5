/**
 * The registry's serving section against real databases (SQLite always, PostgreSQL when MLCYCLE_TEST_PG_URL is
 * set, as npm test does): replica reports and convergence, traffic windows and their time filter, pruning.
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client } from 'pg';
import type { DataSource } from 'typeorm';
import { parseModelSpec, specHash } from '../ml/spec';
import { Deployment, openRegistry, REPLICA_HEARTBEAT_MODEL_ID, RegistryService } from '../registry';
import { emptyLatencyBuckets } from './stats';
import type { StatsWindow } from './stats';

type Backend = { name: string; open: () => Promise<{ ds: DataSource; cleanup: () => Promise<void> }> };

const backends: Backend[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mlcycle-serving-registry-'));
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
      const dbName = `mlcycle_serving_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
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
  test.skip('PostgreSQL serving-registry suite: MLCYCLE_TEST_PG_URL is not set (npm test sets it)', () => undefined);
}

function window(modelId: string, version: number, kind: 'live' | 'shadow', windowStart: Date, requests: number, extra: Partial<StatsWindow> = {}): StatsWindow {
  const latencyBuckets = emptyLatencyBuckets();
  latencyBuckets['5'] = requests;
  return { modelId, version, kind, windowStart, requests, errors: 0, latencyBuckets, predictions: { sun: requests }, agreements: 0, ...extra };
}

describe.each(backends)('serving registry on $name', (backend) => {
  let ds: DataSource;
  let cleanup: () => Promise<void>;
  let registry: RegistryService;
  let modelId: string;

  beforeAll(async () => {
    ({ ds, cleanup } = await backend.open());
    registry = new RegistryService(ds);
    const spec = parseModelSpec({ name: 'serving-test', task: 'binary_classification', target: 'y', trainer: { name: 'gbdt' }, evaluation: { primaryMetric: 'accuracy' } });
    modelId = (await registry.createModel({ name: 'serving-test', owner: 'o', spec, specHash: specHash(spec) })).id;
  });

  afterAll(async () => {
    await cleanup?.();
  });

  it('lists model heads and deployments', async () => {
    expect(await registry.listModelHeads()).toEqual([{ id: modelId, name: 'serving-test', championVersion: null }]);
    await registry.write((tx) =>
      tx.getRepository(Deployment).save({ modelId, revision: 3, routes: [{ version: 1, weight: 100 }], shadow: null, stage: 'promoted', rolloutWorkflowId: null, stickyKeyHeader: null }),
    );
    expect(await registry.listDeployments()).toMatchObject([{ modelId, revision: 3, routes: [{ version: 1, weight: 100 }] }]);
    expect((await registry.findDeployment(modelId))?.stage).toBe('promoted');
  });

  it('converges when every live replica is at the revision and ready; heartbeats reveal replicas that lag', async () => {
    const t0 = new Date();
    await registry.reportReplicaStatus('r1', [
      { modelId: REPLICA_HEARTBEAT_MODEL_ID, revision: 0, loadedVersions: [], ready: true, error: null },
      { modelId, revision: 3, loadedVersions: [1], ready: true, error: null },
    ], t0);
    // r2 is alive but has not picked the model up yet.
    await registry.reportReplicaStatus('r2', [{ modelId: REPLICA_HEARTBEAT_MODEL_ID, revision: 0, loadedVersions: [], ready: true, error: null }], t0);
    let c = await registry.deploymentConvergence(modelId, 3, 5000, t0);
    expect(c.converged).toBe(false);
    expect(c.liveReplicas.map((r) => r.replicaId)).toEqual(['r1', 'r2']);
    expect(c.laggingReplicas).toMatchObject([{ replicaId: 'r2', revision: -1, ready: false, error: 'has not picked up this model yet' }]);

    // Reports are upserts: r2 catches up, r1 moves on to a later revision (still converged for 3).
    await registry.reportReplicaStatus('r2', [{ modelId: REPLICA_HEARTBEAT_MODEL_ID, revision: 0, loadedVersions: [], ready: true, error: null }, { modelId, revision: 3, loadedVersions: [1], ready: true, error: null }], t0);
    await registry.reportReplicaStatus('r1', [{ modelId: REPLICA_HEARTBEAT_MODEL_ID, revision: 0, loadedVersions: [], ready: true, error: null }, { modelId, revision: 4, loadedVersions: [1, 2], ready: true, error: null }], t0);
    c = await registry.deploymentConvergence(modelId, 3, 5000, t0);
    expect(c).toMatchObject({ converged: true, laggingReplicas: [] });
    expect(c.liveReplicas.find((r) => r.replicaId === 'r1')).toMatchObject({ revision: 4, loadedVersions: [1, 2] });
    expect((await registry.deploymentConvergence(modelId, 4, 5000, t0)).laggingReplicas.map((r) => r.replicaId)).toEqual(['r2']);

    // Not ready at the revision: lagging, with its error.
    await registry.reportReplicaStatus('r2', [{ modelId, revision: 3, loadedVersions: [1], ready: false, error: 'version 2: artifact missing' }], t0);
    expect((await registry.deploymentConvergence(modelId, 3, 5000, t0)).laggingReplicas).toMatchObject([{ replicaId: 'r2', error: 'version 2: artifact missing' }]);

    // Silent replicas drop out; none left counts as converged.
    const later = new Date(t0.getTime() + 60_000);
    expect(await registry.deploymentConvergence(modelId, 3, 5000, later)).toMatchObject({ converged: true, liveReplicas: [], laggingReplicas: [] });

    // A replica that leaves withdraws all its rows, heartbeat included.
    await registry.removeReplicaStatus('r2');
    expect((await registry.listReplicaStatus(modelId)).map((r) => r.replicaId)).toEqual(['r1']);
    expect((await registry.deploymentConvergence(modelId, 3, 5000, t0)).liveReplicas.map((r) => r.replicaId)).toEqual(['r1']);
  });

  it('sums traffic windows since a time, per version and kind, and prunes old ones', async () => {
    const base = Date.now();
    const at = (s: number) => new Date(base + s * 1000);
    await registry.recordServingStats('r1', [window(modelId, 1, 'live', at(-120), 100), window(modelId, 1, 'live', at(-2), 10), window(modelId, 2, 'shadow', at(-2), 8, { agreements: 6, errors: 1 })]);
    await registry.recordServingStats('r2', [window(modelId, 1, 'live', at(-1), 5)]);
    const traffic = await registry.servingTraffic(modelId, at(-60));
    expect(traffic).toMatchObject([
      { version: 1, kind: 'live', requests: 15, errors: 0, replicas: 2, predictions: { sun: 15 } },
      { version: 2, kind: 'shadow', requests: 8, errors: 1, errorRate: 0.125, agreements: 6, agreementRate: 0.75, replicas: 1 },
    ]);
    expect(traffic[0].p99Ms).toBeGreaterThan(2);
    expect(traffic[0].p99Ms).toBeLessThanOrEqual(5);
    expect((await registry.servingTraffic(modelId, at(-300), at(-60)))[0]).toMatchObject({ version: 1, requests: 100 });
    expect(await registry.pruneServingHistory(at(-60))).toBeGreaterThanOrEqual(1);
    expect((await registry.servingTraffic(modelId, at(-300)))[0].requests).toBe(15);
  });
});
