/**
 * modelLifecycleWorkflow on the real dev server, worker and registry: the first training and rollout of a model
 * with no champion, the query's view of the whole state, continue-as-new per cycle, retraining triggers that
 * coalesce (a burst of requests is one retraining; automatic triggers in the cooldown are suppressed), roles
 * re-checked in the workflow, and pause/resume holding a retraining back.
 */
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import {
  lifecycleStateQuery,
  lifecycleWorkflowId,
  monitoringReportSignal,
  monitoringWorkflowId,
  newDataSignal,
  pauseLifecycleSignal,
  resumeLifecycleSignal,
  retrainScheduleId,
  retrainSignal,
} from '../../libs/contracts';
import type { Actor, LifecycleState, MonitoringSummary } from '../../libs/contracts';
import type { Model } from '../../libs/registry';
import { recordHistoryIfAsked } from '../replay/record';
import { waitUntil } from '../support';
import { openPipelineSuite, putSource, registerModel, seattleWeatherCsv, spec } from './pipeline-harness';
import type { PipelineHarness, PipelineSuite } from './pipeline-harness';

let env: TestWorkflowEnvironment;
let h: PipelineHarness;
let taskQueue: string;
let suite: PipelineSuite;

beforeAll(async () => {
  suite = await openPipelineSuite('lifecycle');
  ({ env, h, taskQueue } = suite);
});
afterAll(async () => {
  for (const handle of started) await handle.terminate('test cleanup').catch(() => undefined);
  await suite?.close();
});

const alice: Actor = { id: 'alice', roles: ['data-scientist'] };
const rita: Actor = { id: 'rita', roles: ['reviewer'] };
const started: WorkflowHandle[] = [];

/** A served model: its lifecycle trained v1 and promoted it. Monitoring windows are long: no window closes here. */
async function servedModel(monitoring: Record<string, unknown> = {}): Promise<{ model: Model; handle: WorkflowHandleWithFirstExecutionRunId; source: string }> {
  const model = await registerModel(
    h,
    spec({
      rollout: { strategy: ['canary'], canary: { steps: [100], bakeTime: '1s', minRequests: 0 } },
      monitoring: { window: '1h', cooldown: '1h', ...monitoring },
    }),
  );
  const source = await putSource(h, seattleWeatherCsv());
  const handle = await env.client.workflow.start('modelLifecycleWorkflow', {
    taskQueue,
    workflowId: lifecycleWorkflowId(model.name),
    args: [{ modelId: model.id, modelName: model.name, startedBy: alice.id, source }],
  });
  started.push(handle);
  // The stage turns to serving a workflow task before the monitor child has started: wait for both.
  await stateWhen(handle, 'v1 served with its monitor', (s) => s.stage === 'serving' && s.championVersion === 1 && s.monitoringWorkflowId !== null);
  return { model, handle, source };
}

async function stateWhen(handle: WorkflowHandle, what: string, ok: (s: LifecycleState) => boolean, timeoutMs = 90_000): Promise<LifecycleState> {
  let last: LifecycleState | undefined;
  await waitUntil(
    `${what}; last state: ${JSON.stringify(last ?? null)}`,
    async () => {
      last = await handle.query(lifecycleStateQuery).catch(() => undefined);
      return Boolean(last && ok(last));
    },
    { timeoutMs, intervalMs: 200 },
  );
  return last!;
}

function driftReport(reportId: string): MonitoringSummary {
  return {
    reportId,
    modelName: 'x',
    windowStart: '2026-01-01T00:00:00.000Z',
    windowEnd: '2026-01-01T01:00:00.000Z',
    championVersion: 1,
    samples: 500,
    status: 'drift',
    datasetDrift: true,
    driftedColumns: ['temp_max', 'temp_min', 'precipitation'],
    driftShare: 0.75,
    predictionDrift: false,
    alerts: ['dataset drift: 3 of 4 columns'],
    retrain: { kind: 'drift', reason: 'dataset drift: 3 of 4 columns drifted' },
  };
}

test('a model without a champion trains at once, rolls out, and serves with its monitor running; one run per cycle', async () => {
  const { model, handle } = await servedModel();
  const state = await handle.query(lifecycleStateQuery);
  expect(state).toMatchObject({
    modelName: model.name,
    stage: 'serving',
    paused: false,
    cycle: 1,
    championVersion: 1,
    candidateVersion: null,
    trainingWorkflowId: null,
    rolloutWorkflowId: null,
    monitoringWorkflowId: monitoringWorkflowId(model.name),
    pendingTriggers: [],
  });
  expect(state.history).toEqual([
    expect.objectContaining({ cycle: 1, outcome: 'promoted', version: 1, trigger: expect.objectContaining({ kind: 'manual', by: 'alice' }) }),
  ]);
  // The cycle ended with continue-as-new: this run is not the first, and the monitor is its child.
  const description = await handle.describe();
  expect(description.runId).not.toBe(handle.firstExecutionRunId);
  expect((await env.client.workflow.getHandle(monitoringWorkflowId(model.name)).describe()).status.name).toBe('RUNNING');
  const runs = await h.registry.listRuns(model.id);
  expect(runs).toHaveLength(1);
  expect(runs[0]).toMatchObject({ status: 'succeeded', version: 1, requestedBy: 'alice' });
  expect((await h.registry.findChampion(model.id))?.version).toBe(1);
  const audit = await h.registry.listAudit({ entityType: 'model', entityId: model.name });
  expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['lifecycle.retrain', 'lifecycle.cycle_promoted']));
});

test('a burst of retrain requests and a drift report make exactly one retraining; drift in the cooldown is suppressed', async () => {
  const { model, handle } = await servedModel();
  const servingRun = (await handle.describe()).runId;
  for (let i = 0; i < 3; i++) await handle.signal(retrainSignal, { actor: alice, reason: `request ${i}` });
  await handle.signal(monitoringReportSignal, { summary: driftReport('r-1') });
  const after = await stateWhen(handle, 'the retraining to finish', (s) => s.cycle === 2 && s.stage === 'serving');
  // One retraining answered all four; the data did not change, so it may or may not beat the champion.
  expect(after.history).toHaveLength(2);
  expect(after.history[1]).toMatchObject({ cycle: 2, trigger: { kind: 'manual', by: 'alice', reason: 'request 0' } });
  expect(['promoted', 'rejected', 'not_registered']).toContain(after.history[1].outcome);
  expect(await h.registry.listRuns(model.id)).toHaveLength(2);
  expect(after.cooldownUntil).not.toBeNull();
  // The run that served, took the triggers, trained, rolled out and continued as new: a whole cycle.
  recordHistoryIfAsked('modelLifecycleWorkflow', handle.workflowId, servingRun);

  // The monitor reports drift again within the cooldown: recorded, not acted on.
  await handle.signal(monitoringReportSignal, { summary: driftReport('r-2') });
  const cooled = await stateWhen(handle, 'the drift report to be suppressed', (s) => s.suppressedTriggers.some((t) => t.reportId === 'r-2'));
  expect(cooled).toMatchObject({ stage: 'serving', cycle: 2, pendingTriggers: [], lastMonitoring: expect.objectContaining({ reportId: 'r-2' }) });
  expect(cooled.suppressedTriggers.find((t) => t.reportId === 'r-2')!.reason).toMatch(/not acted on: cooling down until/);
  expect(await h.registry.listRuns(model.id)).toHaveLength(2);
});

test('only data scientists can ask for a retraining, and a paused lifecycle holds it until resumed', async () => {
  const { model, handle, source } = await servedModel();
  // Temporal does not authenticate: the workflow itself ignores a reviewer's request.
  await handle.signal(retrainSignal, { actor: rita, reason: 'not mine to ask' });
  await handle.signal(pauseLifecycleSignal, { actor: alice, reason: 'holiday freeze' });
  await handle.signal(newDataSignal, { actor: alice, source, reason: 'the same file, again' });
  const paused = await stateWhen(handle, 'paused with the new data pending', (s) => s.paused && s.pendingTriggers.length === 1);
  expect(paused).toMatchObject({ stage: 'serving', cycle: 1 });
  expect(paused.pendingTriggers).toEqual([expect.objectContaining({ kind: 'new_data', by: 'alice', source })]);
  expect((await handle.describe()).searchAttributes.MlcycleStatus).toEqual(['serving (paused)']);
  expect(await h.registry.listRuns(model.id)).toHaveLength(1);

  await handle.signal(resumeLifecycleSignal, { actor: alice });
  const resumed = await stateWhen(handle, 'the held retraining to run', (s) => s.cycle === 2 && s.stage === 'serving' && !s.paused);
  expect(resumed.history[1]).toMatchObject({ trigger: { kind: 'new_data', source } });
  const runs = await h.registry.listRuns(model.id);
  expect(runs.map((r) => r.requestedBy)).toEqual(['alice', 'alice']);
});

test('monitoring.schedule becomes a Temporal Schedule whose tick retrains through the lifecycle', async () => {
  const { model, handle } = await servedModel({ schedule: '0 3 * * 1' });
  const schedule = env.client.schedule.getHandle(retrainScheduleId(model.name));
  const described = await schedule.describe();
  expect(described.spec.calendars?.length ?? 0).toBeGreaterThan(0); // the cron, as Temporal stores it
  expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'scheduledRetrainWorkflow' });
  // An operator's "trigger now" in the UI does what Monday 03:00 would.
  await schedule.trigger();
  const after = await stateWhen(handle, 'the scheduled retraining to finish', (s) => s.cycle === 2 && s.stage === 'serving');
  expect(after.history[1]).toMatchObject({ trigger: { kind: 'schedule', by: 'schedule', reason: 'scheduled retraining (0 3 * * 1)' } });
  expect((await h.registry.listRuns(model.id))[0].requestedBy).toBe('system:lifecycle');
  await schedule.delete();
});
