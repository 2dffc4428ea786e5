/**
 * Routing end to end, with Deployment rows written as the rollout workflow writes them: weighted traffic splits,
 * sticky callers, shadow mirroring with agreement counts (responses unchanged), versions unloaded when no longer
 * routed, traffic windows in serving_stats, and convergence reports from two replicas on one registry — including
 * a replica that cannot load a version, and one that leaves. On SQLite and PostgreSQL.
 */
import { bundledDatasetPath } from '../../libs/ml/data/bundled';
import type { FeatureColumn } from '../../libs/ml/data/types';
import type { Model } from '../../libs/registry';
import { ServingReplica } from '../../libs/serving/replica';
import { describeEachDatabase, uniqueName } from './api-app';
import type { ApiTestApp, DbKind } from './api-app';
import { call, csvRecords, eventually, featureRecords, oipInputs, openServingSuite, setDeployment, startReplica, trainVersion, versionModel, weatherSpec } from './serving-support';
import type { ServingSuite } from './serving-support';

const WEATHER_CSV = bundledDatasetPath('weather.csv');

describeEachDatabase('serving: routing', (db: DbKind) => {
  let suite: ServingSuite;
  let model: Model;
  let features: FeatureColumn[];
  let records: Record<string, unknown>[];
  const name = uniqueName('routed');

  /** Waits until this suite's replica routes by `revision` (its own report says so). */
  async function converged(revision: number, api: ApiTestApp = suite.api): Promise<void> {
    const replica = api.app.get(ServingReplica);
    await eventually(`replica ${replica.replicaId} on revision ${revision}`, async () => {
      const status = (await api.registry.listReplicaStatus(model.id)).find((s) => s.replicaId === replica.replicaId);
      return status && status.revision >= revision && status.ready;
    });
  }

  const infer = (headers: Record<string, string> = {}) => call(suite, 'POST', `/v2/models/${name}/infer`, { inputs: oipInputs(records.slice(0, 1), features) }, headers);

  beforeAll(async () => {
    suite = await openServingSuite(db);
    const spec = weatherSpec(name, { name: 'logistic_regression', params: { C: 0.0001 } });
    await trainVersion(suite, spec, WEATHER_CSV);
    ({ model } = await trainVersion(suite, spec, WEATHER_CSV, { name: 'gbdt', params: { max_iter: 30 } }));
    ({ features } = await versionModel(suite, model.id, 2));
    records = featureRecords(csvRecords(WEATHER_CSV).filter((_, i) => i % 41 === 0), features);
  });

  afterAll(async () => {
    await suite?.close();
  });

  it('splits traffic by weight: 50/50 sends about half to each version', async () => {
    const d = await setDeployment(suite, model.id, { routes: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], shadow: null, stage: 'canary' });
    await converged(d.revision);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 300; i++) {
      const res = await infer();
      expect(res.status).toBe(200);
      counts[res.json.model_version] = (counts[res.json.model_version] ?? 0) + 1;
    }
    // Binomial(300, 0.5): 3.5 standard deviations either side of 150.
    expect(counts['1']).toBeGreaterThan(120);
    expect(counts['2']).toBeGreaterThan(120);
    expect(counts['1'] + counts['2']).toBe(300);
  });

  it('pins a caller to one version by the sticky header, for every request', async () => {
    const d = await setDeployment(suite, model.id, { routes: [{ version: 1, weight: 50 }, { version: 2, weight: 50 }], stickyKeyHeader: 'x-customer', stage: 'canary' });
    await converged(d.revision);
    const seen = new Map<string, Set<string>>();
    for (let k = 0; k < 16; k++) {
      for (let i = 0; i < 6; i++) {
        const res = await call(suite, 'POST', `/v1/models/${name}/predict`, { records: records.slice(0, 1) }, { 'x-customer': `customer-${k}` });
        expect(res.status).toBe(200);
        const versions = seen.get(`customer-${k}`) ?? new Set<string>();
        versions.add(String(res.json.version));
        seen.set(`customer-${k}`, versions);
      }
    }
    for (const versions of seen.values()) expect(versions.size).toBe(1);
    const perVersion = new Set([...seen.values()].map((v) => [...v][0]));
    expect(perVersion).toEqual(new Set(['1', '2'])); // 16 customers: both versions get some (p of failure 2^-15)
    // Without the header, routing stays weighted random.
    expect((await infer()).status).toBe(200);
  });

  it('mirrors shadow traffic, counts agreements, and never changes the answer', async () => {
    const since = new Date(Date.now() - 1000);
    const d = await setDeployment(suite, model.id, { routes: [{ version: 2, weight: 100 }], shadow: { version: 1, share: 100 }, stickyKeyHeader: null, stage: 'shadow' });
    await converged(d.revision);
    const replica = suite.api.app.get(ServingReplica);
    const mirroredBefore = sumMetric(replica.renderMetrics(), 'mlcycle_shadow_requests_total', { model: name, version: '1' });
    const explicit = await call(suite, 'POST', `/v2/models/${name}/versions/2/infer`, { id: 'x', inputs: oipInputs(records, features) });
    for (let i = 0; i < 20; i++) {
      const live = await call(suite, 'POST', `/v2/models/${name}/infer`, { id: 'x', inputs: oipInputs(records, features) });
      expect(live.json.model_version).toBe('2');
      expect(live.json.outputs).toEqual(explicit.json.outputs);
    }
    await eventually('20 mirrored requests', async () => sumMetric(replica.renderMetrics(), 'mlcycle_shadow_requests_total', { model: name, version: '1' }) - mirroredBefore >= 20);
    await replica.flushStats();
    const traffic = await suite.api.registry.servingTraffic(model.id, since);
    const shadow = traffic.find((t) => t.version === 1 && t.kind === 'shadow');
    const live = traffic.find((t) => t.version === 2 && t.kind === 'live');
    expect(shadow!.requests).toBeGreaterThanOrEqual(20);
    expect(live!.requests).toBeGreaterThanOrEqual(20);
    // The weak linear model agrees with the trees on some requests and not others; every mirror is counted.
    const agreed = sumMetric(replica.renderMetrics(), 'mlcycle_shadow_requests_total', { model: name, version: '1', outcome: 'agree' });
    const disagreed = sumMetric(replica.renderMetrics(), 'mlcycle_shadow_requests_total', { model: name, version: '1', outcome: 'disagree' });
    expect(agreed + disagreed).toBeGreaterThanOrEqual(20);
    expect(shadow!.agreements).toBeLessThanOrEqual(shadow!.requests);
    expect(shadow!.agreementRate).toBe(shadow!.agreements / shadow!.requests);
    expect(Object.values(shadow!.predictions).reduce((a, b) => a + b, 0)).toBe(shadow!.requests * records.length);
    expect(live!.p50Ms).not.toBeNull();
  });

  it('unloads a version once nothing routes to it', async () => {
    const d = await setDeployment(suite, model.id, { routes: [{ version: 2, weight: 100 }], shadow: null, stage: 'promoted' });
    await converged(d.revision);
    const replica = suite.api.app.get(ServingReplica);
    await eventually('v1 unloaded', async () => {
      const status = (await suite.api.registry.listReplicaStatus(model.id)).find((s) => s.replicaId === replica.replicaId);
      return status && JSON.stringify(status.loadedVersions) === '[2]';
    });
    expect(sumMetric(replica.renderMetrics(), 'mlcycle_serving_model_version_loaded', { model: name, version: '1' })).toBe(0);
    expect((await infer()).json.model_version).toBe('2');
  });

  it('reports convergence across replicas, lags on a version it cannot load, and forgets a replica that leaves', async () => {
    const second = await startReplica(suite);
    try {
      const ids = [suite.api.app.get(ServingReplica).replicaId, second.app.get(ServingReplica).replicaId].sort();
      const d = await setDeployment(suite, model.id, { routes: [{ version: 1, weight: 10 }, { version: 2, weight: 90 }], shadow: null, stage: 'canary' });
      const status = await eventually('both replicas converged', async () => {
        const c = await suite.api.registry.deploymentConvergence(model.id, d.revision, 5000);
        return c.converged && c.liveReplicas.length === 2 ? c : undefined;
      });
      expect(status.liveReplicas.map((r) => r.replicaId).sort()).toEqual(ids);
      expect(status.liveReplicas.every((r) => r.revision === d.revision && r.ready && JSON.stringify(r.loadedVersions) === '[1,2]')).toBe(true);
      expect(status.laggingReplicas).toEqual([]);

      // A version that does not exist: both keep serving the previous routing, report the error, and lag.
      const broken = await setDeployment(suite, model.id, { routes: [{ version: 2, weight: 50 }, { version: 99, weight: 50 }], stage: 'canary' });
      const lagging = await eventually('both replicas lagging', async () => {
        const c = await suite.api.registry.deploymentConvergence(model.id, broken.revision, 5000);
        return c.laggingReplicas.length === 2 && c.laggingReplicas.every((r) => r.error) ? c : undefined;
      });
      expect(lagging.converged).toBe(false);
      expect(lagging.laggingReplicas[0]).toMatchObject({ revision: d.revision, ready: false, error: expect.stringContaining('version 99') });
      const still = await infer();
      expect(['1', '2']).toContain(still.json.model_version);
      expect(await call({ ...suite, api: second }, 'GET', `/v2/models/${name}/ready`)).toMatchObject({ status: 503, json: { name, ready: false } });

      const fixed = await setDeployment(suite, model.id, { routes: [{ version: 2, weight: 100 }], stage: 'promoted' });
      await eventually('converged again', async () => (await suite.api.registry.deploymentConvergence(model.id, fixed.revision, 5000)).converged);
    } finally {
      await second.close();
    }
    // A replica that shuts down withdraws its report at once.
    const after = await suite.api.registry.listReplicaStatus(model.id);
    expect(after.map((r) => r.replicaId)).toEqual([suite.api.app.get(ServingReplica).replicaId]);
    // And a report older than staleAfterMs does not count as live.
    const stale = await suite.api.registry.deploymentConvergence(model.id, 1, 1, new Date(Date.now() + 60_000));
    expect(stale).toMatchObject({ converged: true, liveReplicas: [], laggingReplicas: [] });
  });

  it('routes nothing when a deployment has no routes (a rolled-back first version)', async () => {
    const d = await setDeployment(suite, model.id, { routes: [], shadow: null, stage: 'rolled_back' });
    await converged(d.revision);
    expect(await infer()).toMatchObject({ status: 404, json: { error: expect.stringContaining('takes no traffic') } });
    expect((await call(suite, 'POST', `/v2/models/${name}/versions/2/infer`, { inputs: oipInputs(records.slice(0, 1), features) })).status).toBe(200);
    const back = await setDeployment(suite, model.id, { routes: [{ version: 2, weight: 100 }], stage: 'promoted' });
    await converged(back.revision);
    expect((await infer()).status).toBe(200);
  });
});

function sumMetric(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}
