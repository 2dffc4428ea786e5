/**
 * Approvals over HTTP against the real stack: a rollout started through the API opens an approval request, which
 * reviewers list and decide; decisions go to the workflow as an Update with the caller's identity, and the
 * workflow's rules (reviewer role, four-eyes) come back as 403s, closed requests as 409s. The approved candidate
 * rolls out through the canary to champion; a rejected or expired one never touches routing. SQLite and PostgreSQL.
 */
import { randomUUID } from 'node:crypto';
import request from 'supertest';
import type TestAgent from 'supertest/lib/agent';
import { rolloutWorkflowId } from '../../libs/contracts';
import { describeEachDatabase, uniqueName } from './api-app';
import { AUTHOR, eventually, openRolloutSuite, startTrainingThroughHttp } from './rollout-support';
import type { Candidate, RolloutSuite } from './rollout-support';

describeEachDatabase('approvals API', (db) => {
  let suite: RolloutSuite;
  /** the author of every candidate's run, a data scientist */
  let alice: TestAgent;
  let rita: TestAgent;
  let ravi: TestAgent;

  beforeAll(async () => {
    suite = await openRolloutSuite(db);
    alice = await suite.as('data-scientist', AUTHOR);
    rita = await suite.as('reviewer', 'rita@e2e');
    ravi = await suite.as('reviewer', 'ravi@e2e');
  });
  afterAll(async () => suite?.close());

  /** Starts the candidate's rollout through the API and waits until its approval request is listed. */
  async function pendingApproval(c: Candidate): Promise<{ id: string; workflowId: string }> {
    const started = await alice.post(`/v1/models/${c.name}/versions/2/rollout`);
    expect(started.status).toBe(202);
    const listed = await eventually('the approval request to be listed', async () => {
      const res = await rita.get('/v1/approvals').query({ model: c.name });
      return res.body.length === 1 ? res.body[0] : undefined;
    });
    expect(listed.id).toBe(started.body.approvalId);
    return { id: listed.id, workflowId: started.body.workflowId };
  }

  const decide = (as: TestAgent, id: string, decision: 'approve' | 'reject', comment = '') => as.post(`/v1/approvals/${id}/decision`).send({ decision, comment });

  it('a training run opens the approval request for its new version by itself, and the approved version becomes champion', async () => {
    const name = uniqueName('trained');
    const { version } = await startTrainingThroughHttp(suite.api, name, { approval: { policy: 'always', timeout: '1h' } });
    const listed = await eventually('the approval request of the trained version', async () => {
      const res = await rita.get('/v1/approvals').query({ model: name });
      return res.body.length === 1 ? res.body[0] : undefined;
    });
    expect(listed).toMatchObject({ model: name, version, status: 'pending', requestedBy: AUTHOR });
    expect((await alice.get(`/v1/models/${name}`)).body.champion).toBeNull();
    expect((await decide(rita, listed.id, 'approve', 'trained on the full year')).status).toBe(200);
    await eventually('the approved version to be champion', async () => (await alice.get(`/v1/models/${name}`)).body.champion?.version === version);
    await suite.api.temporal.workflow.getHandle(rolloutWorkflowId(name, version)).result();
  });

  it('lists a pending request with the candidate beside the champion, the report link and the expiry, and shows its live rollout', async () => {
    const c = await suite.modelWithCandidate({ approval: { policy: 'always', requiredApprovals: 1, timeout: '1h' } });
    const { id, workflowId } = await pendingApproval(c);
    expect(workflowId).toBe(rolloutWorkflowId(c.name, 2));

    const list = await rita.get('/v1/approvals').query({ status: 'pending', model: c.name });
    expect(list.status).toBe(200);
    const [item] = list.body;
    expect(item).toMatchObject({
      id,
      model: c.name,
      version: 2,
      status: 'pending',
      requiredApprovals: 1,
      approvals: 0,
      decisions: [],
      requestedBy: AUTHOR,
      workflowId,
      closedAt: null,
      candidate: { version: 2, status: 'registered', score: c.candidateScore, evaluationReport: `/v1/models/${c.name}/versions/2/artifacts/evaluation_report` },
      champion: { version: 1, status: 'champion', score: c.championScore },
      evaluation: { primaryMetric: 'accuracy', candidate: c.candidateScore, championVersion: 1, passed: true },
      links: { self: `/v1/approvals/${id}`, decision: `/v1/approvals/${id}/decision`, evaluationReport: `/v1/models/${c.name}/versions/2/artifacts/evaluation_report` },
    });
    expect(item.reason).toMatch(/always asks for approval/);
    expect(item.candidate.metrics.accuracy).toBe(c.candidateScore);
    expect(item.champion.metrics.accuracy).toBe(c.championScore);
    // Expires after the policy's timeout (1h), counted from when the workflow opened it.
    const expiresIn = new Date(item.expiresAt).getTime() - Date.now();
    expect(expiresIn).toBeGreaterThan(55 * 60_000);
    expect(expiresIn).toBeLessThanOrEqual(60 * 60_000);
    expect(item.links.temporalUi).toContain(encodeURIComponent(workflowId));

    // The report a reviewer reads before deciding is one click away.
    const report = await rita.get(item.links.evaluationReport);
    expect(report.status).toBe(200);
    expect(report.headers['content-type']).toMatch(/json/);

    // Data scientists see the inbox too; other statuses and other models do not show it.
    expect((await alice.get('/v1/approvals').query({ model: c.name })).body.map((a: { id: string }) => a.id)).toEqual([id]);
    expect((await rita.get('/v1/approvals').query({ model: c.name, status: 'approved' })).body).toEqual([]);
    expect((await rita.get('/v1/approvals')).body.map((a: { id: string }) => a.id)).toContain(id);

    const one = await rita.get(`/v1/approvals/${id}`);
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, status: 'pending', live: true, rollout: { workflowId, status: 'RUNNING', live: true } });
    expect(one.body.rollout.state).toMatchObject({ stage: 'awaiting_approval', version: 2, championVersion: 1, approval: { id, status: 'pending', required: true } });

    // Reject to end the rollout (and check the rejection path's visible effects elsewhere).
    expect((await decide(rita, id, 'reject', 'not this week')).status).toBe(200);
  });

  it('refuses the author of the run (four-eyes) and anyone who is not a reviewer, and records nothing', async () => {
    const c = await suite.modelWithCandidate();
    const { id } = await pendingApproval(c);

    // The author holds a reviewer key too: the workflow refuses it, and the API answers with the workflow's reason.
    const self = await decide(await suite.as('reviewer', AUTHOR), id, 'approve', 'looks fine to me');
    expect(self.status).toBe(403);
    expect(self.body).toMatchObject({ statusCode: 403, error: 'Forbidden', requestId: expect.any(String) });
    expect(self.body.message).toMatch(/alice@e2e started the run that produced this version and cannot also approve it \(four-eyes rule\)/);

    // A data scientist's key does not get past the API's own check.
    const scientist = await decide(await suite.as('data-scientist', 'dan@e2e'), id, 'approve');
    expect(scientist.status).toBe(403);
    expect(scientist.body.message).toMatch(/needs the role reviewer or admin/);

    // Admin passes the API's check, but approving is the reviewers' job: the workflow says so.
    const admin = await decide(suite.api.http(), id, 'approve');
    expect(admin.status).toBe(403);
    expect(admin.body.message).toMatch(/bootstrap-admin is not a reviewer/);

    const after = await rita.get(`/v1/approvals/${id}`);
    expect(after.body).toMatchObject({ status: 'pending', decisions: [], approvals: 0, live: true });
    const audit = await suite.api.http().get('/v1/audit').query({ entityType: 'model_version', entityId: `${c.name}@2` });
    expect(audit.body.map((e: { action: string }) => e.action)).not.toContain('approval.approve');

    expect((await decide(rita, id, 'reject', 'cleanup')).status).toBe(200);
  });

  it('approved by a reviewer, the candidate rolls out to champion; the same decision again is 200, a late one 409', async () => {
    const c = await suite.modelWithCandidate();
    const { id, workflowId } = await pendingApproval(c);

    const approved = await decide(rita, id, 'approve', 'metrics and report look good');
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ id, status: 'approved', approvals: 1, live: true });
    expect(approved.body.decisions).toEqual([expect.objectContaining({ reviewer: 'rita@e2e', decision: 'approve', comment: 'metrics and report look good' })]);

    // A retry of the same decision (say, after a lost response) is answered the same way.
    const again = await decide(rita, id, 'approve', 'metrics and report look good');
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ status: 'approved', approvals: 1 });
    expect(again.body.decisions).toHaveLength(1);

    // The request is decided: another reviewer is too late (the workflow still runs the canary).
    const late = await decide(ravi, id, 'reject', 'wait');
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/already approved|is closed \(approved\)/);

    // The rollout walks the canary (50%, 100%) and promotes: the model's champion becomes v2.
    await eventually('v2 to be the champion', async () => (await alice.get(`/v1/models/${c.name}`)).body.champion?.version === 2);
    const deployment = await eventually('the promoted deployment', async () => {
      const res = await alice.get(`/v1/models/${c.name}/deployment`);
      return res.body.stage === 'promoted' && res.body.rollout === null ? res.body : undefined;
    });
    expect(deployment).toMatchObject({ championVersion: 2, source: 'deployment', routes: [{ version: 2, weight: 100 }], shadow: null, rolloutWorkflowId: workflowId });

    // Once the rollout has finished, the request is answered from the registry, with the rollout's final state.
    const closed = await eventually('the closed request', async () => {
      const res = await rita.get(`/v1/approvals/${id}`);
      return res.body.rollout?.status === 'COMPLETED' ? res.body : undefined;
    });
    expect(closed).toMatchObject({ status: 'approved', live: false, closedAt: expect.any(String), rollout: { live: false, state: { outcome: 'promoted', stage: 'promoted' } } });
    expect(closed.decisions).toEqual([expect.objectContaining({ reviewer: 'rita@e2e', decision: 'approve' })]);
    expect((await decide(rita, id, 'approve', 'metrics and report look good')).status).toBe(200);
    const afterwards = await decide(ravi, id, 'approve');
    expect(afterwards.status).toBe(409);
    expect(afterwards.body.message).toMatch(/is closed \(approved\)/);

    expect((await rita.get('/v1/approvals').query({ model: c.name })).body).toEqual([]);
    expect((await rita.get('/v1/approvals').query({ model: c.name, status: 'approved' })).body.map((a: { id: string }) => a.id)).toEqual([id]);

    // The workflow audited the decision under the reviewer's identity; the API audited the call.
    const audit = await suite.api.http().get('/v1/audit').query({ entityType: 'model_version', entityId: `${c.name}@2` });
    const actions = audit.body.map((e: { action: string; actor: string }) => `${e.action} by ${e.actor}`);
    expect(actions).toEqual(expect.arrayContaining(['approval.opened by system:rollout', 'approval.approve by rita@e2e', 'approval.approved by system:rollout', 'version.promoted by system:rollout']));
    const calls = await suite.api.http().get('/v1/audit').query({ entityType: 'approval', entityId: id });
    expect(calls.body.map((e: { action: string; actor: string }) => `${e.action} by ${e.actor}`)).toContain('http.POST /v1/approvals/{id}/decision by rita@e2e');
  });

  it('rejected by a reviewer, the candidate is rejected and never touches routing', async () => {
    const c = await suite.modelWithCandidate();
    const { id } = await pendingApproval(c);
    const rejected = await decide(rita, id, 'reject', 'the evaluation report shows a regression on rainy days');
    expect(rejected.status).toBe(200);
    expect(rejected.body).toMatchObject({ status: 'rejected', approvals: 0 });

    await eventually('v2 to be rejected', async () => (await alice.get(`/v1/models/${c.name}/versions/2`)).body.status === 'rejected');
    const model = await alice.get(`/v1/models/${c.name}`);
    expect(model.body.champion.version).toBe(1);
    const deployment = await alice.get(`/v1/models/${c.name}/deployment`);
    expect(deployment.body).toMatchObject({ source: 'champion', revision: 0, routes: [{ version: 1, weight: 100 }], rollout: null });
    const closed = await eventually('the closed request', async () => {
      const res = await rita.get(`/v1/approvals/${id}`);
      return res.body.rollout?.status === 'COMPLETED' ? res.body : undefined;
    });
    expect(closed).toMatchObject({ status: 'rejected', rollout: { state: { outcome: 'rejected' } } });
    expect(closed.rollout.state.reason).toMatch(/rejected by rita@e2e/);
    // A rejected version is not rolled out again.
    const retry = await alice.post(`/v1/models/${c.name}/versions/2/rollout`);
    expect(retry.status).toBe(409);
    expect(retry.body.message).toMatch(/was rejected/);
  });

  it('expires when nobody decides within the timeout, and then refuses decisions', async () => {
    const c = await suite.modelWithCandidate({ approval: { policy: 'always', timeout: '2s' } });
    const { id } = await pendingApproval(c);
    const expired = await eventually('the request to expire', async () => {
      const res = await rita.get(`/v1/approvals/${id}`);
      return res.body.status === 'expired' && res.body.rollout?.status === 'COMPLETED' ? res.body : undefined;
    });
    expect(expired).toMatchObject({ closedAt: expect.any(String), rollout: { state: { outcome: 'rejected', approval: { status: 'expired' } } } });
    expect((await alice.get(`/v1/models/${c.name}/versions/2`)).body.status).toBe('rejected');
    expect((await rita.get('/v1/approvals').query({ model: c.name, status: 'expired' })).body.map((a: { id: string }) => a.id)).toEqual([id]);
    const late = await decide(rita, id, 'approve');
    expect(late.status).toBe(409);
    expect(late.body.message).toMatch(/is closed \(expired\)/);
  });

  it('answers 404 for unknown requests, 400 for malformed input and 401 without a key', async () => {
    const unknown = randomUUID();
    const get = await rita.get(`/v1/approvals/${unknown}`);
    expect(get.status).toBe(404);
    expect(get.body).toMatchObject({ statusCode: 404, error: 'Not Found', message: `approval request ${unknown} does not exist` });
    expect((await decide(rita, unknown, 'approve')).status).toBe(404);

    const malformed = await rita.get('/v1/approvals/not-an-id');
    expect(malformed.status).toBe(400);
    expect(malformed.body.message).toMatch(/not a valid approval id/);
    const badDecision = await rita.post(`/v1/approvals/${unknown}/decision`).send({ decision: 'maybe' });
    expect(badDecision.status).toBe(400);
    expect(badDecision.body.details).toEqual([expect.objectContaining({ path: 'decision', message: "decision must be 'approve' or 'reject'" })]);
    const extra = await rita.post(`/v1/approvals/${unknown}/decision`).send({ decision: 'approve', reviewer: 'someone-else' });
    expect(extra.status).toBe(400);
    expect(extra.body.details).toEqual([expect.objectContaining({ path: 'reviewer' })]);
    expect((await rita.get('/v1/approvals').query({ status: 'bogus' })).status).toBe(400);
    expect((await rita.get('/v1/approvals').query({ model: 'no-such-model' })).status).toBe(404);

    const anonymous = await request(suite.api.url).get('/v1/approvals');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toMatch(/^Bearer/);
    expect((await request(suite.api.url).post(`/v1/approvals/${unknown}/decision`).send({ decision: 'approve' })).status).toBe(401);
    expect((await (await suite.as('service', 'svc@e2e')).get('/v1/approvals')).status).toBe(403);

    // The operations document who may call them.
    const doc = await request(suite.api.url).get('/docs-json');
    expect(doc.body.paths['/v1/approvals/{id}/decision'].post['x-mlcycle-roles']).toEqual(['reviewer', 'admin']);
    expect(Object.keys(doc.body.paths['/v1/approvals/{id}/decision'].post.responses)).toEqual(expect.arrayContaining(['200', '400', '401', '403', '404', '409', '503']));
  });
});
