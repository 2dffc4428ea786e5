/**
 * rolloutWorkflow on the real dev server and a real registry: the approval gate (four-eyes, roles, N approvals,
 * idempotent repeats, closed requests, timeout), the staged rollout to promotion, and compensation on a
 * guardrail breach or a rollback request. Serving replicas are not part of this suite: traffic windows are
 * written to serving_stats as replicas write them, which is what the guardrails read.
 */
import { randomUUID } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import {
  approvalDecisionUpdate,
  pauseRolloutSignal,
  resumeRolloutSignal,
  rollbackRolloutSignal,
  ROLLOUT_FAILURES,
  rolloutStateQuery,
  rolloutWorkflowId,
} from '../../libs/contracts';
import type { Actor, RolloutInput, RolloutState } from '../../libs/contracts';
import { parseModelSpec, specHash } from '../../libs/ml/spec';
import type { ModelSpecInput } from '../../libs/ml/spec';
import { ApprovalRequest, AuditEvent, Deployment, ServingStats } from '../../libs/registry';
import type { Model } from '../../libs/registry';
import { recordHistoryIfAsked } from '../replay/record';
import { waitUntil } from '../support';
import { openPipelineSuite } from './pipeline-harness';
import type { PipelineHarness, PipelineSuite } from './pipeline-harness';

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let taskQueue: string;
let suite: PipelineSuite;

beforeAll(async () => {
  suite = await openPipelineSuite('rollout');
  ({ env, h, taskQueue } = suite);
});
afterAll(async () => suite?.close());

const scientist: Actor = { id: 'alice', roles: ['data-scientist'] };
const reviewer: Actor = { id: 'rita', roles: ['reviewer'] };
const secondReviewer: Actor = { id: 'ravi', roles: ['reviewer'] };
const operator: Actor = { id: 'olga', roles: ['admin'] };

const FAST = { bakeTime: '1s', minRequests: 0 };

/** A model with a champion v1 and a registered candidate v2. */
async function modelWithCandidate(policy: Partial<ModelSpecInput> = {}): Promise<{ model: Model; spec: ReturnType<typeof parseModelSpec> }> {
  const name = `ro-${randomUUID().slice(0, 8)}`;
  const spec = parseModelSpec({
    name,
    task: 'binary_classification',
    target: 'y',
    trainer: { name: 'logistic_regression' },
    evaluation: { primaryMetric: 'accuracy' },
    rollout: { strategy: ['shadow', 'canary'], shadow: FAST, canary: { steps: [50, 100], ...FAST } },
    ...policy,
  });
  const model = await h.registry.createModel({ name, owner: scientist.id, spec, specHash: specHash(spec) });
  for (const version of [1, 2]) {
    const runId = randomUUID();
    await h.registry.createRun({ id: runId, modelId: model.id, source: 'dataset:x', specHash: 'h', workflowId: `train/${name}/${runId}`, requestedBy: scientist.id, steps: [] });
    await h.registry.registerVersion(
      {
        modelId: model.id,
        runId,
        metrics: { accuracy: 0.8 + version / 100 },
        artifacts: [],
        promote: version === 1,
        lineage: {
          datasetId: 'd', datasetSha256: 'a'.repeat(64), datasetSource: 'dataset:d', splitSeed: 1, splitMembershipHash: 'b'.repeat(64),
          specHash: 'h', trainer: 'logistic_regression', params: {}, codeVersion: { package: 'mlcycle@test' }, workflowId: 'w', workflowRunId: 'r', runId,
        },
      },
      scientist.id,
    );
  }
  return { model, spec };
}

async function startRollout(model: Model, spec: ReturnType<typeof parseModelSpec>, extra: Partial<RolloutInput> = {}) {
  const input: RolloutInput = {
    modelId: model.id,
    modelName: model.name,
    version: 2,
    requestedBy: scientist.id,
    primaryMetric: 'accuracy',
    candidateScore: 0.82,
    championVersion: 1,
    championScore: 0.81,
    policy: { approval: spec.approval, rollout: spec.rollout },
    approvalId: randomUUID(),
    checkInterval: '200ms',
    convergenceTimeout: '10s',
    ...extra,
  };
  const handle = await env.client.workflow.start('rolloutWorkflow', { taskQueue, workflowId: rolloutWorkflowId(model.name, 2), args: [input] });
  return { handle, input };
}

async function stageOf(handle: { query: (q: typeof rolloutStateQuery) => Promise<RolloutState> }, stage: string) {
  await waitUntil(`rollout stage ${stage}`, async () => (await handle.query(rolloutStateQuery)).stage === stage, { timeoutMs: 30_000, intervalMs: 100 });
}

/** The workflow's result, or, if it is stuck, the last workflow-task failure from its history as the error. */
async function resultWithin(handle: Awaited<ReturnType<typeof startRollout>>['handle'], ms: number): Promise<RolloutState> {
  let timer: NodeJS.Timeout | undefined;
  const stuck = new Promise<never>((_, reject) => {
    timer = setTimeout(async () => {
      const history = await handle.fetchHistory();
      const failures = history.events!.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes!.failure?.message);
      reject(new Error(`no result after ${ms} ms; last workflow task failure: ${failures.slice(-1)[0] ?? 'none'}`));
    }, ms);
  });
  try {
    return await Promise.race([handle.result() as Promise<RolloutState>, stuck]);
  } finally {
    clearTimeout(timer);
  }
}

function updateFailureType(err: unknown): string | undefined {
  expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
  return ((err as WorkflowUpdateFailedError).cause as ApplicationFailure).type ?? undefined;
}

/** The approval request's row: the stage turns to awaiting_approval as the activity that writes it is scheduled. */
async function approvalRow(id: string): Promise<ApprovalRequest> {
  let row: ApprovalRequest | null = null;
  await waitUntil('the approval request row', async () => (row = await h.dataSource.getRepository(ApprovalRequest).findOneBy({ id })) !== null, { timeoutMs: 30_000, intervalMs: 100 });
  return row!;
}

async function deployment(model: Model): Promise<Deployment | null> {
  return h.dataSource.getRepository(Deployment).findOneBy({ modelId: model.id });
}

test('approved by a reviewer, the candidate goes through shadow and canary steps and becomes champion', async () => {
  const { model, spec } = await modelWithCandidate();
  const { handle, input } = await startRollout(model, spec);
  await stageOf(handle, 'awaiting_approval');
  const pending = await approvalRow(input.approvalId);
  expect(pending).toMatchObject({ status: 'pending', version: 2, requestedBy: 'alice' });

  const afterDecision = await handle.executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: input.approvalId, reviewer, decision: 'approve', comment: 'metrics look good' }] });
  expect(afterDecision.approval.status).toBe('approved');

  const final = await handle.result();
  expect(final.outcome).toBe('promoted');
  recordHistoryIfAsked('rolloutWorkflow', handle.workflowId);
  expect((await h.registry.findModelById(model.id))?.championVersion).toBe(2);
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 2, weight: 100 }], shadow: null, stage: 'promoted' });
  const approval = await approvalRow(input.approvalId);
  expect(approval.status).toBe('approved');
  expect(approval.decisions).toEqual([expect.objectContaining({ reviewer: 'rita', decision: 'approve', comment: 'metrics look good' })]);

  // Every routing change is on record, in order: shadow, canary 50%, canary 100%, promotion.
  const changes = await h.dataSource.getRepository(AuditEvent).find({ where: { action: 'deployment.changed', entityId: model.id }, order: { id: 'ASC' } });
  expect(changes.map((c) => (c.details as { stage: string }).stage)).toEqual(['shadow', 'canary', 'canary', 'promoted']);
  expect(changes.map((c) => (c.details as { revision: number }).revision)).toEqual([1, 2, 3, 4]);
  const audit = await h.registry.listAudit({ entityType: 'model_version', entityId: `${model.name}@2` });
  expect(audit.map((a) => a.action)).toEqual(expect.arrayContaining(['approval.opened', 'approval.approve', 'approval.approved', 'version.promoted']));
});

test('four-eyes: the person who started the run cannot approve it, and a non-reviewer cannot decide', async () => {
  const { model, spec } = await modelWithCandidate();
  const { handle, input } = await startRollout(model, spec);
  await stageOf(handle, 'awaiting_approval');
  const self = await handle
    .executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: input.approvalId, reviewer: { id: 'alice', roles: ['reviewer', 'data-scientist'] }, decision: 'approve', comment: 'mine' }] })
    .catch((e: unknown) => e);
  expect(updateFailureType(self)).toBe(ROLLOUT_FAILURES.forbidden);
  const notReviewer = await handle.executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: input.approvalId, reviewer: { id: 'dan', roles: ['data-scientist'] }, decision: 'approve', comment: '' }] }).catch((e: unknown) => e);
  expect(updateFailureType(notReviewer)).toBe(ROLLOUT_FAILURES.forbidden);
  // Refused updates leave no trace in the workflow's state.
  expect((await handle.query(rolloutStateQuery)).approval.decisions).toEqual([]);
  await handle.executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: input.approvalId, reviewer, decision: 'reject', comment: 'no' }] });
  expect((await handle.result()).outcome).toBe('rejected');
});

test('two approvals required: a repeated decision is idempotent, a reject closes it, a late decision is refused as closed', async () => {
  const { model, spec } = await modelWithCandidate({ approval: { policy: 'always', requiredApprovals: 2 } });
  const { handle, input } = await startRollout(model, spec);
  await stageOf(handle, 'awaiting_approval');
  const decide = (who: Actor, decision: 'approve' | 'reject') =>
    handle.executeUpdate(approvalDecisionUpdate, { args: [{ approvalId: input.approvalId, reviewer: who, decision, comment: '' }] });

  expect((await decide(reviewer, 'approve')).approval.status).toBe('pending');
  const repeated = await decide(reviewer, 'approve');
  expect(repeated.approval.decisions).toHaveLength(1);
  expect(repeated.approval.status).toBe('pending');
  await waitUntil('the partial decision to be persisted', async () => (await approvalRow(input.approvalId)).decisions.length === 1);

  expect((await decide(secondReviewer, 'reject')).approval.status).toBe('rejected');
  const late = await decide({ id: 'rosa', roles: ['reviewer'] }, 'approve').catch((e: unknown) => e);
  expect(updateFailureType(late)).toBe(ROLLOUT_FAILURES.approvalClosed);

  const final = await handle.result();
  expect(final.outcome).toBe('rejected');
  expect((await h.registry.findModelById(model.id))?.championVersion).toBe(1);
  expect((await h.registry.findVersion(model.id, 2))?.status).toBe('rejected');
  expect(await deployment(model)).toBeNull(); // a rejected candidate never touched routing
});

test('an approval request that nobody decides expires and the candidate is rejected', async () => {
  const { model, spec } = await modelWithCandidate({ approval: { policy: 'always', timeout: '2s' } });
  const { handle, input } = await startRollout(model, spec);
  const final = await handle.result();
  expect(final.outcome).toBe('rejected');
  expect(final.approval.status).toBe('expired');
  expect((await approvalRow(input.approvalId)).status).toBe('expired');
});

test('approval policy unless_better skips the gate for a candidate that beats the champion by the margin', async () => {
  const { model, spec } = await modelWithCandidate({ approval: { policy: 'unless_better', margin: 0.005 } });
  const { handle } = await startRollout(model, spec, { candidateScore: 0.9, championScore: 0.8 });
  const final = await handle.result();
  expect(final.approval.status).toBe('not_required');
  expect(final.outcome).toBe('promoted');
});

test('a guardrail breach during the canary rolls traffic and the alias back to the champion', async () => {
  const { model, spec } = await modelWithCandidate({
    approval: { policy: 'never' },
    rollout: { strategy: ['canary'], canary: { steps: [25, 100], bakeTime: '30s', minRequests: 0 } },
  });
  const { handle } = await startRollout(model, spec);
  await stageOf(handle, 'canary');
  // Wait until the first canary bake is reading traffic, then write what a replica would flush.
  await waitUntil('the canary bake', async () => (await handle.query(rolloutStateQuery)).lastReading?.stage === 'canary');
  // What a replica flushes when the candidate fails half its requests.
  await h.dataSource.getRepository(ServingStats).save({
    modelId: model.id, version: 2, replicaId: 'replica-a', kind: 'live', windowStart: new Date(),
    requests: 40, errors: 20, latencyBuckets: { '5': 40 }, predictions: { yes: 20 }, agreements: 0,
  });
  const final = await handle.result();
  expect(`${final.outcome} ${JSON.stringify(final.lastReading)}`).toMatch(/^rolled_back/);
  expect(final.reason).toMatch(/error rate 50\.00% is above/);
  expect((await h.registry.findModelById(model.id))?.championVersion).toBe(1);
  expect((await h.registry.findVersion(model.id, 2))?.status).toBe('rolled_back');
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 1, weight: 100 }], shadow: null, stage: 'rolled_back' });
});

test('an operator can pause and resume, and a rollback request during shadow compensates', async () => {
  const { model, spec } = await modelWithCandidate({ approval: { policy: 'never' }, rollout: { strategy: ['shadow', 'canary'], shadow: { bakeTime: '1h', minRequests: 0 } } });
  const { handle } = await startRollout(model, spec);
  await stageOf(handle, 'shadow');
  await waitUntil('the shadow routing', async () => (await deployment(model))?.stage === 'shadow');
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 1, weight: 100 }], shadow: { version: 2, share: 100 } });
  await handle.signal(pauseRolloutSignal, { by: operator });
  await waitUntil('paused', async () => (await handle.query(rolloutStateQuery)).paused);
  await handle.signal(resumeRolloutSignal, { by: operator });
  await waitUntil('resumed', async () => !(await handle.query(rolloutStateQuery)).paused);
  // A signal from someone without the role is ignored.
  await handle.signal(rollbackRolloutSignal, { by: { id: 'svc', roles: ['service'] }, reason: 'nope' });
  expect((await handle.query(rolloutStateQuery)).stage).toBe('shadow');
  await handle.signal(rollbackRolloutSignal, { by: operator, reason: 'customer complaints' });
  const final = await resultWithin(handle, 20_000);
  expect(final.outcome).toBe('rolled_back');
  expect(final.reason).toMatch(/rollback requested by olga: customer complaints/);
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 1, weight: 100 }], shadow: null });
  const events = await h.registry.listAudit({ entityType: 'model_version', entityId: `${model.name}@2` });
  expect(events.find((e) => e.action === 'version.rolled_back')?.actor).toBe('olga');
});

test('blue/green switches at once, keeps the old version warm, and promotes after the keep-warm period', async () => {
  const { model, spec } = await modelWithCandidate({ approval: { policy: 'never' }, rollout: { strategy: ['blue_green'], blueGreen: { keepWarm: '1s' } } });
  const { handle } = await startRollout(model, spec);
  await stageOf(handle, 'blue_green');
  await waitUntil('the blue/green routing', async () => (await deployment(model))?.stage === 'blue_green');
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 2, weight: 100 }, { version: 1, weight: 0 }] });
  // The switch is the promotion: the alias moves right after the routing change, while the old version stays warm.
  await waitUntil('the alias to move', async () => (await h.registry.findModelById(model.id))?.championVersion === 2);
  expect((await handle.result()).outcome).toBe('promoted');
  expect(await deployment(model)).toMatchObject({ routes: [{ version: 2, weight: 100 }] });
});
