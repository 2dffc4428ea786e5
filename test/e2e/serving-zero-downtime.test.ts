/**
 * Serving while the lifecycle changes what is served, on the real stack (API with its serving replica, worker,
 * Temporal, MinIO, registry), under steady loopback traffic from concurrent callers:
 * - zero downtime: a full rollout (shadow, then canary 25 → 50 → 100) and its promotion, then a second candidate's
 *   canary rolled back by an operator. No request fails, and every answer comes from a version that the registry
 *   routed to while that request was in flight;
 * - automatic rollback: a candidate trained on data whose labels were swapped (an ETL bug) disagrees with the
 *   champion on the mirrored traffic, and the shadow stage's guardrail sends it back without a person.
 * SQLite and PostgreSQL.
 */
import * as fs from 'node:fs';
import { rolloutWorkflowId } from '../../libs/contracts';
import { describeEachDatabase, uniqueName } from './api-app';
import { AUTHOR, eventually, openRolloutSuite, startTrainingThroughHttp, WEATHER_CSV } from './rollout-support';
import type { RolloutSuite } from './rollout-support';
import { csvRecords, featureRecords, oipInputs } from './serving-support';
import { startSteadyLoad, versionsMeantToServe, watchRouting } from './steady-load';
import type { LoadSample } from './steady-load';

/** The replica reconciles every 200 ms (openRolloutSuite); a second more covers a slow registry read on CI. */
const APPLY_LAG_MS = 1_200;
const LOAD_BOUNDS = { concurrency: 4, maxRequests: 200_000, maxMs: 180_000 };

const STAGED = {
  approval: { policy: 'never' },
  rollout: {
    strategy: ['shadow', 'canary'],
    shadow: { share: 1, bakeTime: '2s', minRequests: 10 },
    canary: { steps: [25, 50, 100], bakeTime: '2s', minRequests: 10 },
  },
};

function summary(samples: LoadSample[]): { requests: number; failed: number; byVersion: Record<number, number> } {
  const byVersion: Record<number, number> = {};
  for (const s of samples) if (s.version !== undefined) byVersion[s.version] = (byVersion[s.version] ?? 0) + 1;
  return { requests: samples.length, failed: samples.filter((s) => s.status !== 200).length, byVersion };
}

describeEachDatabase('serving under rollouts', (db) => {
  let suite: RolloutSuite;

  beforeAll(async () => {
    suite = await openRolloutSuite(db);
  });
  afterAll(async () => suite?.close());

  /** A row both classes of the weather data could come from, as an OIP request. */
  function inferBody(rows = 1): unknown {
    return { inputs: oipInputs(featureRecords(csvRecords(WEATHER_CSV).filter((_, i) => i % 97 === 0).slice(0, rows), suite.features), suite.features) };
  }

  async function deployment(name: string): Promise<{ stage: string; converged: boolean; championVersion: number | null; routes: { version: number; weight: number }[]; rollout: { state: { stage: string; step?: { weight: number } } | null } | null }> {
    const res = await suite.api.http().get(`/v1/models/${name}/deployment`);
    expect(res.status).toBe(200);
    return res.body;
  }

  /** A model is callable once this replica has loaded its champion (OIP readiness, as a load balancer checks it). */
  async function ready(name: string, key: string): Promise<void> {
    await eventually(`${name} ready`, async () => (await fetch(`${suite.api.url}/v2/models/${name}/ready`, { headers: { authorization: `Bearer ${key}` } })).status === 200);
  }

  it('steady traffic through a full rollout, its promotion and a rollback: no request fails, each answer from a version meant to serve', async () => {
    const c = await suite.modelWithCandidate(STAGED);
    const v3 = await suite.addVersion(c.name, c.candidateScore);
    const operator = await suite.as('data-scientist', 'olga@e2e');
    const key = await suite.api.keyFor('service', 'load@e2e');
    await ready(c.name, key);

    const watch = watchRouting(suite.api.registry, c.modelId);
    const load = startSteadyLoad({ url: `${suite.api.url}/v2/models/${c.name}/infer`, key, body: inferBody(), ...LOAD_BOUNDS });
    let samples: LoadSample[] = [];
    let routings: Awaited<ReturnType<typeof watch.stop>> = [];
    try {
      await eventually('traffic on the champion', async () => load.count() >= 50);

      // 1. v2: shadow, canary 25 → 50 → 100, promoted.
      expect((await operator.post(`/v1/models/${c.name}/versions/2/rollout`)).status).toBe(202);
      const promoted = await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(c.name, 2)).result();
      expect(promoted).toMatchObject({ outcome: 'promoted' });
      await eventually('v2 served alone, converged', async () => {
        const d = await deployment(c.name);
        return d.championVersion === 2 && d.converged && d.routes.length === 1 && d.routes[0].version === 2;
      });

      // 2. v3: into its canary, held there, and rolled back by an operator.
      expect((await operator.post(`/v1/models/${c.name}/versions/${v3}/rollout`)).status).toBe(202);
      await eventually('v3 in its canary, converged', async () => {
        const d = await deployment(c.name);
        return d.stage === 'canary' && d.converged && (d.rollout?.state?.step?.weight ?? 0) >= 25;
      });
      const before = load.count();
      await eventually('v3 answering part of the traffic', async () => load.count() >= before + 100);
      expect((await operator.post(`/v1/models/${c.name}/rollout/pause`).send({ reason: 'holding for the rollback' })).status).toBe(202);
      expect((await operator.post(`/v1/models/${c.name}/rollback`).send({ reason: 'zero-downtime drill' })).status).toBe(202);
      const rolledBack = await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(c.name, v3)).result();
      expect(rolledBack).toMatchObject({ outcome: 'rolled_back' });
      await eventually('v2 served alone again, converged', async () => {
        const d = await deployment(c.name);
        return d.championVersion === 2 && d.converged && d.routes.length === 1 && d.routes[0].version === 2;
      });
      const [countAfter, timeAfter] = [load.count(), Date.now()];
      await eventually('traffic after the rollback settled', async () => load.count() >= countAfter + 100 && Date.now() > timeAfter + APPLY_LAG_MS + 1_000);
    } finally {
      samples = await load.stop();
      routings = await watch.stop();
    }

    const counts = summary(samples);
    // The figures the closing note quotes; printed so a CI log shows them too.
    process.stdout.write(`zero-downtime (${db}): ${JSON.stringify({ ...counts, revisions: routings.map((r) => `${r.revision}:${r.versions.join('+')}`) })}\n`);
    expect(samples.filter((s) => s.status !== 200).slice(0, 5)).toEqual([]);
    // Traffic really moved: the champion, the promoted candidate and the rolled-back one all answered.
    expect(Object.keys(counts.byVersion).map(Number).sort()).toEqual([1, 2, v3]);
    const misrouted = samples.filter((s) => !versionsMeantToServe(routings, s, APPLY_LAG_MS).has(s.version!));
    expect(misrouted.slice(0, 5)).toEqual([]);
    // After the rollback converged, only the champion answers.
    const lastRouting = routings.at(-1)!;
    expect(lastRouting.versions).toEqual([2]);
    const settled = samples.filter((s) => s.sentAt > lastRouting.seenAt + APPLY_LAG_MS);
    expect(settled.length).toBeGreaterThan(0);
    expect(new Set(settled.map((s) => s.version))).toEqual(new Set([2]));
    // The shadow stage's mirrored answers were discarded: the first answers from v2 came once the canary routed to it.
    const firstFromV2 = samples.find((s) => s.version === 2)!;
    const canaryOfV2 = routings.find((r) => r.versions.includes(2))!;
    expect(firstFromV2.receivedAt).toBeGreaterThanOrEqual(canaryOfV2.after);
  });

  it('a candidate trained on swapped labels is rolled back by the shadow guardrail while traffic flows', async () => {
    const name = uniqueName('swapped');
    const policy = { approval: { policy: 'never' }, rollout: { strategy: ['shadow', 'canary'], shadow: { share: 1, bakeTime: '1m', minRequests: 20 }, canary: { steps: [100], bakeTime: '1s' } } };
    const champion = await startTrainingThroughHttp(suite.api, name, policy);
    const http = await suite.as('data-scientist', AUTHOR);
    await eventually(`v${champion.version} champion`, async () => (await http.get(`/v1/models/${name}`)).body.champion?.version === champion.version);

    const key = await suite.api.keyFor('service', 'load@e2e');
    await ready(name, key);
    const load = startSteadyLoad({ url: `${suite.api.url}/v2/models/${name}/infer`, key, body: inferBody(), ...LOAD_BOUNDS });
    let samples: LoadSample[] = [];
    let candidate = 0;
    try {
      // The same weather, with Seattle and New York swapped: a model that is sure of itself and always wrong.
      const swapped = fs
        .readFileSync(WEATHER_CSV, 'utf8')
        .split('\n')
        .map((line) => (line.startsWith('Seattle,') ? `New York,${line.slice(8)}` : line.startsWith('New York,') ? `Seattle,${line.slice(9)}` : line))
        .join('\n');
      const upload = await http.post(`/v1/models/${name}/datasets?format=csv`).set('Content-Type', 'text/csv').send(swapped);
      expect(upload.status).toBe(201);
      const run = await http.post(`/v1/models/${name}/runs`).send({ source: upload.body.source });
      expect(run.status).toBe(202);
      candidate = (
        await eventually('the swapped-label candidate registered', async () => {
          const body = (await http.get(`/v1/runs/${run.body.runId}`)).body;
          expect(['failed', 'rejected']).not.toContain(body.status);
          return body.version ? body : undefined;
        })
      ).version;
      // Its training run started the rollout (approval policy never); the guardrail ends it.
      const outcome = await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(name, candidate)).result();
      expect(outcome).toMatchObject({ outcome: 'rolled_back', stage: 'rolled_back' });
      expect(outcome.reason).toMatch(/agrees with the champion on \d+(\.\d)?% of mirrored requests, below 80\.0%/);
    } finally {
      samples = await load.stop();
    }
    const d = await deployment(name);
    expect(d).toMatchObject({ championVersion: champion.version, routes: [{ version: champion.version, weight: 100 }] });
    expect((await http.get(`/v1/models/${name}/versions/${candidate}`)).body.status).toBe('rolled_back');
    // It never answered a caller: shadow answers are discarded, and nobody saw a failure meanwhile.
    expect(summary(samples)).toMatchObject({ failed: 0, byVersion: { [champion.version]: samples.length } });
  });
});
