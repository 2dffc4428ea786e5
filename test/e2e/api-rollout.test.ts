/**
 * Rollouts over HTTP against the real stack: starting one for a registered version (idempotent, bound to the run's
 * author for four-eyes), the live deployment with this process's serving replica and the traffic it logs, and
 * pause, resume and rollback forwarded to the rollout in progress as signals carrying the caller's identity. A
 * rollback during a long canary sends traffic and the champion alias back. SQLite and PostgreSQL.
 */
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { rolloutWorkflowId, TASK_QUEUES } from '../../libs/contracts';
import { taskQueue } from '../../libs/config';
import { ApprovalRequest, ModelVersion } from '../../libs/registry';
import { describeEachDatabase } from './api-app';
import { AUTHOR, eventually, openRolloutSuite, WEATHER_CSV } from './rollout-support';
import type { Candidate, RolloutSuite } from './rollout-support';
import { csvRecords, featureRecords } from './serving-support';

/** A canary that would bake for an hour at 50%: long enough to act on it. */
const LONG_CANARY = { approval: { policy: 'never' }, rollout: { canary: { steps: [50, 100], bakeTime: '1h', minRequests: 0 } } };

describeEachDatabase('rollout and deployment API', (db) => {
  let suite: RolloutSuite;
  /** another data scientist (not the author): starts and steers rollouts */
  let olga: TestAgent;
  let rita: TestAgent;

  beforeAll(async () => {
    suite = await openRolloutSuite(db);
    olga = await suite.as('data-scientist', 'olga@e2e');
    rita = await suite.as('reviewer', 'rita@e2e');
  });
  afterAll(async () => suite?.close());

  async function deploymentWhen(c: Candidate, what: string, ok: (d: DeploymentBody) => boolean): Promise<DeploymentBody> {
    return eventually(what, async () => {
      const res = await olga.get(`/v1/models/${c.name}/deployment`);
      expect(res.status).toBe(200);
      return ok(res.body) ? (res.body as DeploymentBody) : undefined;
    });
  }

  /** Starts a rollout that needs no approval and waits until the canary's first step serves (50/50, converged). */
  async function inCanary(): Promise<Candidate> {
    const c = await suite.modelWithCandidate(LONG_CANARY);
    expect((await olga.post(`/v1/models/${c.name}/versions/2/rollout`)).status).toBe(202);
    await deploymentWhen(c, 'the first canary step to be served', (d) => d.stage === 'canary' && d.converged && d.rollout?.state?.stage === 'canary');
    return c;
  }

  it('starts the rollout of a registered version (202), returns the same one when repeated (200), and binds four-eyes to the run’s author', async () => {
    const c = await suite.modelWithCandidate();
    const started = await olga.post(`/v1/models/${c.name}/versions/2/rollout`);
    expect(started.status).toBe(202);
    const workflowId = rolloutWorkflowId(c.name, 2);
    expect(started.body).toMatchObject({ workflowId, model: c.name, version: 2, created: true, status: 'RUNNING', requestedBy: AUTHOR, approvalId: expect.any(String) });
    expect(started.body.links).toEqual({
      temporalUi: `${suite.api.config.temporal.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}`,
      deployment: `/v1/models/${c.name}/deployment`,
      approval: `/v1/approvals/${started.body.approvalId}`,
    });
    expect(started.headers.location).toBe(`/v1/models/${c.name}/deployment`);
    const description = await suite.api.temporal.workflow.getHandle(workflowId).describe();
    expect(description).toMatchObject({ type: 'rolloutWorkflow', runId: started.body.workflowRunId, status: { name: 'RUNNING' } });
    expect(description.taskQueue).toBe(taskQueue(suite.api.config, TASK_QUEUES.control));

    const again = await olga.post(`/v1/models/${c.name}/versions/2/rollout`);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ workflowId, workflowRunId: started.body.workflowRunId, created: false, approvalId: started.body.approvalId });

    // Olga started it, but Alice trained it: the approval request excludes Alice, and Olga may approve nothing at all.
    const approval = await eventually('the approval request', () =>
      suite.api.registry.dataSource.getRepository(ApprovalRequest).findOneBy({ id: started.body.approvalId }),
    );
    expect(approval).toMatchObject({ version: 2, requestedBy: AUTHOR, workflowId, status: 'pending' });
    const view = await rita.get(`/v1/approvals/${approval.id}`);
    expect(view.body.rollout.state).toMatchObject({ stage: 'awaiting_approval', championVersion: 1 });

    // Nothing is routed while it awaits approval: rolling back is not the way to stop it, rejecting is.
    const deployment = await olga.get(`/v1/models/${c.name}/deployment`);
    expect(deployment.body).toMatchObject({ source: 'champion', revision: 0, rollout: { workflowId, status: 'RUNNING', live: true, state: { stage: 'awaiting_approval' } } });
    const rollback = await olga.post(`/v1/models/${c.name}/rollback`).send({ reason: 'changed my mind' });
    expect(rollback.status).toBe(409);
    expect(rollback.body.message).toMatch(new RegExp(`awaiting approval.*POST /v1/approvals/${approval.id}/decision`));

    // Who may start one, and which versions can be rolled out.
    expect((await rita.post(`/v1/models/${c.name}/versions/2/rollout`)).status).toBe(403);
    expect((await request(suite.api.url).post(`/v1/models/${c.name}/versions/2/rollout`)).status).toBe(401);
    const champion = await olga.post(`/v1/models/${c.name}/versions/1/rollout`);
    expect(champion.status).toBe(409);
    expect(champion.body.message).toMatch(/already the champion/);
    expect((await olga.post(`/v1/models/${c.name}/versions/9/rollout`)).status).toBe(404);
    expect((await olga.post('/v1/models/no-such-model/versions/2/rollout')).status).toBe(404);
    expect((await olga.post(`/v1/models/${c.name}/versions/champion/rollout`)).status).toBe(400);
    // One rollout per model at a time: another registered version waits until this one has finished.
    const v3 = await suite.addVersion(c.name, c.candidateScore);
    const concurrent = await olga.post(`/v1/models/${c.name}/versions/${v3}/rollout`);
    expect(concurrent.status).toBe(409);
    expect(concurrent.body.message).toMatch(new RegExp(`${workflowId} is in progress for '${c.name}'; one rollout per model at a time`));
    await suite.api.registry.write((tx) => tx.getRepository(ModelVersion).update({ modelId: c.modelId, version: v3 }, { status: 'rolled_back' }));
    const rolledBack = await olga.post(`/v1/models/${c.name}/versions/${v3}/rollout`);
    expect(rolledBack.status).toBe(409);
    expect(rolledBack.body.message).toMatch(/was rolled back and cannot be rolled out again/);

    // The call is audited under the caller's identity.
    const audit = await suite.api.http().get('/v1/audit').query({ entityType: 'model_version', entityId: `${c.name}@2` });
    expect(audit.body.map((e: { action: string; actor: string }) => `${e.action} by ${e.actor}`)).toContain('http.POST /v1/models/{name}/versions/{version}/rollout by olga@e2e');

    expect((await rita.post(`/v1/approvals/${approval.id}/decision`).send({ decision: 'reject' })).status).toBe(200);
  });

  it('shows the deployment: the champion at revision 0 before any rollout, with this process’s replica converged', async () => {
    const c = await suite.modelWithCandidate();
    const d = await deploymentWhen(c, 'the replica to serve the champion', (b) => b.converged);
    expect(d).toMatchObject({
      model: c.name,
      championVersion: 1,
      source: 'champion',
      revision: 0,
      stage: 'idle',
      routes: [{ version: 1, weight: 100 }],
      shadow: null,
      rolloutWorkflowId: null,
      rollout: null,
      traffic: { window: '5m', versions: [] },
    });
    expect(d.replicas).toEqual([expect.objectContaining({ revision: 0, ready: true, state: 'converged', loadedVersions: expect.arrayContaining([1]) })]);

    expect((await rita.get(`/v1/models/${c.name}/deployment`)).status).toBe(200);
    expect((await olga.get(`/v1/models/${c.name}/deployment`).query({ window: '30s' })).body.traffic.window).toBe('30s');
    expect((await olga.get(`/v1/models/${c.name}/deployment`).query({ window: 'forever' })).status).toBe(400);
    expect((await olga.get(`/v1/models/${c.name}/deployment`).query({ window: '48h' })).status).toBe(400);
    expect((await (await suite.as('service', 'svc@e2e')).get(`/v1/models/${c.name}/deployment`)).status).toBe(403);
    expect((await olga.get('/v1/models/no-such-model/deployment')).status).toBe(404);

    // Nothing in progress: nothing to pause or roll back.
    const pause = await olga.post(`/v1/models/${c.name}/rollout/pause`).send({});
    expect(pause.status).toBe(409);
    expect(pause.body.message).toMatch(/no rollout of .* in progress to pause/);
    const rollback = await olga.post(`/v1/models/${c.name}/rollback`).send({ reason: 'just in case' });
    expect(rollback.status).toBe(409);
    expect(rollback.body.message).toMatch(/no rollout of .* in progress to roll back/);
  });

  it('pauses and resumes the rollout in progress, visibly in the deployment', async () => {
    const c = await inCanary();
    const d = await deploymentWhen(c, 'the canary', () => true);
    expect(d).toMatchObject({ source: 'deployment', stage: 'canary', routes: [{ version: 2, weight: 50 }, { version: 1, weight: 50 }], rolloutWorkflowId: rolloutWorkflowId(c.name, 2) });
    expect(d.rollout).toMatchObject({ status: 'RUNNING', live: true, state: { stage: 'canary', paused: false, step: { index: 0, weight: 50 } } });
    expect(d.replicas).toEqual([expect.objectContaining({ revision: d.revision, ready: true, state: 'converged', loadedVersions: expect.arrayContaining([1, 2]) })]);

    // Reviewers may roll back but not steer.
    expect((await rita.post(`/v1/models/${c.name}/rollout/pause`).send({})).status).toBe(403);

    const paused = await olga.post(`/v1/models/${c.name}/rollout/pause`).send({ reason: 'traffic peak' });
    expect(paused.status).toBe(202);
    expect(paused.body).toMatchObject({ action: 'pause', workflowId: rolloutWorkflowId(c.name, 2), requestedBy: 'olga@e2e' });
    await deploymentWhen(c, 'the rollout to show paused', (b) => b.rollout?.state?.paused === true);

    const resumed = await olga.post(`/v1/models/${c.name}/rollout/resume`);
    expect(resumed.status).toBe(202);
    expect(resumed.body).toMatchObject({ action: 'resume', requestedBy: 'olga@e2e' });
    const after = await deploymentWhen(c, 'the rollout to show resumed', (b) => b.rollout?.state?.paused === false);
    expect(after.rollout?.state?.stage).toBe('canary');

    expect((await olga.post(`/v1/models/${c.name}/rollout/pause`).send({ reason: 42 })).status).toBe(400);
    const audit = await suite.api.http().get('/v1/audit').query({ entityType: 'model', entityId: c.name });
    expect(audit.body.map((e: { action: string; actor: string }) => `${e.action} by ${e.actor}`)).toEqual(
      expect.arrayContaining(['http.POST /v1/models/{name}/rollout/pause by olga@e2e', 'http.POST /v1/models/{name}/rollout/resume by olga@e2e']),
    );
  });

  it('rolls back a long canary on request: traffic, routing and the champion alias return to the champion', async () => {
    const c = await inCanary();

    // Real traffic through this process's replica, split by the canary's weights, shows up per version.
    const service = await suite.as('service', 'svc@e2e');
    // One row over and over: both versions (the same model) answer it alike, so prediction divergence stays nil.
    const [row] = featureRecords(csvRecords(WEATHER_CSV, 1), suite.features);
    for (let i = 0; i < 30; i++) {
      const res = await service.post(`/v1/models/${c.name}/predict`).send({ records: [row] });
      expect(res.status).toBe(200);
    }
    const withTraffic = await deploymentWhen(c, 'traffic for both versions', (b) => {
      const live = b.traffic.versions.filter((t) => t.kind === 'live');
      return live.reduce((s, t) => s + t.requests, 0) === 30 && live.every((t) => t.requests > 0) && live.length === 2;
    });
    expect(withTraffic.traffic.versions.map((t) => [t.version, t.errors])).toEqual([[1, 0], [2, 0]]);

    expect((await olga.post(`/v1/models/${c.name}/rollback`).send({})).status).toBe(400);
    const rollback = await rita.post(`/v1/models/${c.name}/rollback`).send({ reason: 'customers report odd answers' });
    expect(rollback.status).toBe(202);
    expect(rollback.body).toMatchObject({ action: 'rollback', workflowId: rolloutWorkflowId(c.name, 2), requestedBy: 'rita@e2e' });

    const back = await deploymentWhen(c, 'the rollback to complete', (b) => b.stage === 'rolled_back' && b.rollout === null);
    expect(back).toMatchObject({ championVersion: 1, routes: [{ version: 1, weight: 100 }], shadow: null });
    await deploymentWhen(c, 'the replica to converge on the rollback', (b) => b.converged);
    expect((await olga.get(`/v1/models/${c.name}`)).body.champion.version).toBe(1);
    expect((await olga.get(`/v1/models/${c.name}/versions/2`)).body.status).toBe('rolled_back');
    const final = await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(c.name, 2)).result();
    expect(final).toMatchObject({ outcome: 'rolled_back', stage: 'rolled_back' });
    expect(final.reason).toMatch(/rollback requested by rita@e2e: customers report odd answers/);
    const audit = await suite.api.http().get('/v1/audit').query({ entityType: 'model_version', entityId: `${c.name}@2` });
    expect(audit.body.find((e: { action: string }) => e.action === 'version.rolled_back')).toMatchObject({ actor: 'rita@e2e' });

    // Nothing is in progress any more; rolling back a promoted version is future work, and the answer says so.
    const again = await rita.post(`/v1/models/${c.name}/rollback`).send({ reason: 'once more' });
    expect(again.status).toBe(409);
    expect(again.body.message).toMatch(/no rollout of .* in progress to roll back \(the last one, rollout\/.*\/v2, has finished: stage rolled_back\)/);
    expect(again.body.message).toMatch(/not supported yet \(future work\)/);
    // …and a rolled-back version is not rolled out again.
    expect((await olga.post(`/v1/models/${c.name}/versions/2/rollout`)).status).toBe(409);
  });
});

interface DeploymentBody {
  model: string;
  championVersion: number | null;
  source: string;
  revision: number;
  stage: string;
  routes: { version: number; weight: number }[];
  shadow: unknown;
  rolloutWorkflowId: string | null;
  converged: boolean;
  replicas: { replicaId: string; revision: number; ready: boolean; state: string; loadedVersions: number[] }[];
  traffic: { window: string; versions: { version: number; kind: string; requests: number; errors: number }[] };
  rollout: { workflowId: string; status: string; live: boolean; state: { stage: string; paused: boolean } | null } | null;
}
