/**
 * The model lifecycle over HTTP on the real stack: POST /lifecycle starts it (idempotent), the first training
 * waits for a reviewer (awaiting_approval, visible in GET /v1/models/{name}), the approved version serves; then
 * a retrain request and announced new data each run one more cycle through the same gates, pause holds them, and
 * bad input, wrong roles and a model without a lifecycle get clear 4xx answers. SQLite and PostgreSQL.
 */
import * as fs from 'node:fs';
import type TestAgent from 'supertest/lib/agent';
import { lifecycleWorkflowId } from '../../libs/contracts';
import type { LifecycleState } from '../../libs/contracts';
import { describeEachDatabase, uniqueName } from './api-app';
import { AUTHOR, eventually, openRolloutSuite, rolloutSpec, WEATHER_CSV } from './rollout-support';
import type { RolloutSuite } from './rollout-support';

describeEachDatabase('model lifecycle API', (db) => {
  let suite: RolloutSuite;
  let alice: TestAgent;
  let rita: TestAgent;

  beforeAll(async () => {
    suite = await openRolloutSuite(db);
    alice = await suite.as('data-scientist', AUTHOR);
    rita = await suite.as('reviewer', 'rita@e2e');
  });
  afterAll(async () => {
    for (const name of names) await suite?.api.temporal.workflow.getHandle(lifecycleWorkflowId(name)).terminate('e2e cleanup').catch(() => undefined);
    await suite?.close();
  });

  const names: string[] = [];

  async function lifecycleWhen(name: string, what: string, ok: (s: LifecycleState) => boolean): Promise<LifecycleState> {
    let last: unknown;
    try {
      return await eventually(
        what,
        async () => {
          const res = await alice.get(`/v1/models/${name}`);
          expect(res.status).toBe(200);
          last = res.body.lifecycle;
          const state = res.body.lifecycle?.state as LifecycleState | null;
          return state && ok(state) ? state : undefined;
        },
        60_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last lifecycle: ${JSON.stringify(last)}`);
    }
  }

  async function uploadWeather(name: string): Promise<string> {
    const upload = await alice.post(`/v1/models/${name}/datasets?format=csv`).set('Content-Type', 'text/csv').send(fs.readFileSync(WEATHER_CSV, 'utf8'));
    expect([200, 201]).toContain(upload.status); // 200: the same bytes were uploaded before (one snapshot)
    return upload.body.source;
  }

  it('runs the whole loop: first training, approval by a reviewer, serving; a retrain and new data each make one more cycle', async () => {
    const name = uniqueName('life');
    names.push(name);
    expect((await alice.post('/v1/models').send(rolloutSpec(name, { approval: { policy: 'always' } }))).status).toBe(201);
    expect((await alice.get(`/v1/models/${name}`)).body.lifecycle).toBeNull();
    const source = await uploadWeather(name);

    const started = await alice.post(`/v1/models/${name}/lifecycle`).send({ source });
    expect(started.status).toBe(202);
    expect(started.body).toMatchObject({ workflowId: lifecycleWorkflowId(name), status: 'RUNNING' });
    expect(started.body.links.temporalUi).toContain(encodeURIComponent(lifecycleWorkflowId(name)));
    expect((await alice.post(`/v1/models/${name}/lifecycle`).send({})).status).toBe(200); // idempotent

    // The first version waits for a reviewer; the author of the lifecycle (and so of the run) cannot approve it.
    const waiting = await lifecycleWhen(name, 'the first version to await approval', (s) => s.stage === 'awaiting_approval');
    expect(waiting).toMatchObject({ cycle: 1, candidateVersion: 1, championVersion: null });
    const approval = await eventually('the approval request', async () => (await rita.get('/v1/approvals').query({ model: name })).body[0]);
    expect((await alice.post(`/v1/approvals/${approval.id}/decision`).send({ decision: 'approve', comment: 'mine' })).status).toBe(403);
    expect((await rita.post(`/v1/approvals/${approval.id}/decision`).send({ decision: 'approve', comment: 'fine' })).status).toBe(200);
    const serving = await lifecycleWhen(name, 'v1 to serve, monitored', (s) => s.stage === 'serving' && s.championVersion === 1 && s.monitoringWorkflowId !== null);
    expect(serving.history).toEqual([expect.objectContaining({ cycle: 1, outcome: 'promoted', version: 1 })]);
    expect(serving.monitoringWorkflowId).toBe(`monitor/${name}`);

    // Retrain: 400 without a reason, 403 for a reviewer, 202 for a data scientist.
    expect((await alice.post(`/v1/models/${name}/retrain`).send({})).status).toBe(400);
    expect((await rita.post(`/v1/models/${name}/retrain`).send({ reason: 'x' })).status).toBe(403);
    const retrain = await alice.post(`/v1/models/${name}/retrain`).send({ reason: 'quarterly refresh' });
    expect(retrain.status).toBe(202);
    expect(retrain.body).toMatchObject({ action: 'retrain', workflowId: lifecycleWorkflowId(name), requestedBy: AUTHOR });
    // The same data trains the same model: the evaluation gate stops it (it does not beat the champion).
    const second = await lifecycleWhen(name, 'the retraining to end', (s) => s.cycle === 2 && s.stage === 'serving');
    expect(second).toMatchObject({ championVersion: 1, pendingTriggers: [] });
    expect(second.history[1]).toMatchObject({ outcome: 'rejected', trigger: { kind: 'manual', reason: 'quarterly refresh', by: AUTHOR } });
    expect(second.history[1].reason).toMatch(/does not beat champion v1/);

    // New data: a bad source is refused before anything is signalled. With a stronger trainer in the spec, the
    // next cycle's candidate beats the champion and goes to a reviewer again.
    const bad = await alice.post(`/v1/models/${name}/data`).send({ source: 'ftp://nowhere/file.csv' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/unsupported source/);
    const stronger = { ...rolloutSpec(name, { approval: { policy: 'always' } }), trainer: { name: 'gbdt', params: { max_iter: 60 } } };
    expect((await alice.put(`/v1/models/${name}/spec`).send(stronger)).status).toBe(200);
    expect((await alice.post(`/v1/models/${name}/data`).send({ source: await uploadWeather(name), reason: 'new labels' })).status).toBe(202);
    const third = await lifecycleWhen(name, 'the new-data retraining to await approval', (s) => s.cycle === 3 && s.stage === 'awaiting_approval');
    expect(third.candidateVersion).toBe(2);
    const request = await eventually('its approval request', async () => (await rita.get('/v1/approvals').query({ model: name, status: 'pending' })).body[0]);
    expect(request.version).toBe(2);
    expect((await rita.post(`/v1/approvals/${request.id}/decision`).send({ decision: 'approve', comment: 'trees win' })).status).toBe(200);
    const promoted = await lifecycleWhen(name, 'v2 to serve', (s) => s.cycle === 3 && s.stage === 'serving' && s.championVersion === 2);
    expect(promoted.history.map((c) => [c.cycle, c.trigger?.kind, c.outcome])).toEqual([
      [1, 'manual', 'promoted'],
      [2, 'manual', 'rejected'],
      [3, 'new_data', 'promoted'],
    ]);

    const audit = (await suite.api.http().get('/v1/audit').query({ entityType: 'model', entityId: name, limit: 200 })).body as { action: string; actor: string }[];
    expect(audit.map((e) => `${e.action} by ${e.actor}`)).toEqual(
      expect.arrayContaining([
        `http.POST /v1/models/{name}/lifecycle by ${AUTHOR}`,
        `http.POST /v1/models/{name}/retrain by ${AUTHOR}`,
        `http.POST /v1/models/{name}/data by ${AUTHOR}`,
        `lifecycle.retrain by ${AUTHOR}`,
        'lifecycle.cycle_promoted by system:lifecycle',
        'lifecycle.cycle_rejected by system:lifecycle',
      ]),
    );
  }, 300_000);

  it('pause holds a retrain request until resume; a model without a lifecycle answers 404 and 409', async () => {
    const name = uniqueName('held');
    names.push(name);
    expect((await alice.post('/v1/models').send(rolloutSpec(name, { approval: { policy: 'never' } }))).status).toBe(201);
    expect((await alice.get(`/v1/models/${name}/lifecycle`)).status).toBe(404);
    const noLifecycle = await alice.post(`/v1/models/${name}/retrain`).send({ reason: 'x' });
    expect(noLifecycle.status).toBe(409);
    expect(noLifecycle.body.message).toMatch(/has no running lifecycle: start it with POST/);
    // No champion and no data anywhere: the start is refused with what to do.
    const noData = await alice.post(`/v1/models/${name}/lifecycle`).send({});
    expect(noData.status).toBe(400);
    expect(noData.body.message).toMatch(/no data source/);

    expect((await alice.post(`/v1/models/${name}/lifecycle`).send({ source: await uploadWeather(name) })).status).toBe(202);
    await lifecycleWhen(name, 'v1 to serve', (s) => s.stage === 'serving' && s.championVersion === 1);
    expect((await alice.post(`/v1/models/${name}/lifecycle/pause`).send({ reason: 'freeze' })).status).toBe(202);
    expect((await alice.post(`/v1/models/${name}/retrain`).send({ reason: 'after the freeze' })).status).toBe(202);
    const held = await lifecycleWhen(name, 'the request held', (s) => s.paused && s.pendingTriggers.length === 1);
    expect(held).toMatchObject({ stage: 'serving', cycle: 1 });
    expect((await alice.post(`/v1/models/${name}/lifecycle/resume`)).status).toBe(202);
    const resumed = await lifecycleWhen(name, 'the held retraining to finish', (s) => s.cycle === 2 && s.stage === 'serving' && !s.paused);
    expect(resumed.history[1]).toMatchObject({ trigger: { kind: 'manual', reason: 'after the freeze' } });
  });
});
