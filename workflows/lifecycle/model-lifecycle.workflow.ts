/**
 * modelLifecycleWorkflow: the model's whole life as one long-running workflow (`model/<name>`), "MLOps level 4":
 *
 *   TRAINING → AWAITING_APPROVAL → ROLLING_OUT → SERVING ──(trigger)──▶ TRAINING …
 *
 * One run of this workflow is one cycle: serve (with monitoring as a child) until a trigger arrives, then train
 * (the training pipeline as a child), then roll the new version out (the rollout as a child: approval gate, staged
 * deploy, guardrails) — and continue as new, carrying only the small state in LifecycleCarry. A model without a
 * champion trains at once.
 *
 * Triggers: retrain (manual, by a data scientist), new data (with its source), a schedule, and the monitor's
 * findings (drift, prediction drift, a quality drop). They coalesce: whatever arrives before a retraining starts is
 * answered by that one retraining, automatic triggers during a retraining are folded into it, and automatic
 * triggers within the cooldown after a retraining started are recorded as suppressed, not acted on — a burst of
 * alerts causes exactly one retraining and a flapping monitor none.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  CancellationScope,
  ChildWorkflowCancellationType,
  condition,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type * as activities from '../../activities/lifecycle/lifecycle.activities';
import type * as retrainingData from '../../activities/lifecycle/retraining-data';
import {
  actorHasRole,
  AUTOMATIC_TRIGGERS,
  durationMs,
  lifecycleStateQuery,
  monitoringReportSignal,
  monitoringWorkflowId,
  newDataSignal,
  NON_RETRYABLE_FAILURES,
  pauseLifecycleSignal,
  resumeLifecycleSignal,
  retrainSignal,
  rolloutStageSignal,
  rolloutWorkflowId,
  scheduledRetrainSignal,
  SEARCH_ATTRIBUTE_KEYS,
  trainingWorkflowId,
} from '../../libs/contracts';
import type {
  CycleRecord,
  LifecycleCarry,
  LifecycleInput,
  LifecycleStage,
  LifecycleState,
  RetrainTrigger,
  RolloutState,
  TrainingPipelineResult,
} from '../../libs/contracts';
import { monitoringWorkflow } from '../monitoring/monitoring.workflow';
import { rolloutWorkflow } from '../rollout/rollout.workflow';
import { trainingPipelineWorkflow } from '../training/training-pipeline.workflow';

type LifecycleActivities = ReturnType<typeof activities.createLifecycleActivities> & ReturnType<typeof retrainingData.createRetrainingDataActivities>;

/** Reads the logs and the base data and writes one CSV: minutes at most. */
const dataPrep = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m', maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
});

const act = proxyActivities<LifecycleActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 30, nonRetryableErrorTypes: NON_RETRYABLE_FAILURES },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
});

/** Kept in the query and carried across runs: enough to explain recent decisions, bounded in size. */
const HISTORY_KEPT = 20;
const SUPPRESSED_KEPT = 10;
const PENDING_KEPT = 20;
/** Who a retraining's run belongs to when no person asked for it: any reviewer may approve it (four-eyes). */
const SYSTEM_AUTHOR = 'system:lifecycle';

export async function modelLifecycleWorkflow(input: LifecycleInput): Promise<void> {
  const carry: LifecycleCarry = input.carry ?? { cycle: 0, paused: false, pending: [], suppressed: [], history: [] };
  const view = {
    stage: 'idle' as LifecycleStage,
    championVersion: null as number | null,
    candidateVersion: null as number | null,
    trainingWorkflowId: null as string | null,
    rolloutWorkflowId: null as string | null,
    monitoringWorkflowId: null as string | null,
  };
  let cooldownMs = input.cooldown ? durationMs(input.cooldown) : 0;
  /** a retraining is under way (training or rolling out): automatic triggers fold into it */
  let retraining = false;
  let retrainOnNewData = true;

  const now = (): string => new Date().toISOString();
  const cooldownUntil = (): number | null => (carry.lastRetrainAt ? Date.parse(carry.lastRetrainAt) + cooldownMs : null);
  const setStage = (stage: LifecycleStage): void => {
    view.stage = stage;
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
      { key: SEARCH_ATTRIBUTE_KEYS.status, value: carry.paused ? `${stage} (paused)` : stage },
      { key: SEARCH_ATTRIBUTE_KEYS.step, value: 'lifecycle' },
    ]);
  };

  function addTrigger(trigger: RetrainTrigger): void {
    const automatic = AUTOMATIC_TRIGGERS.includes(trigger.kind);
    const until = cooldownUntil();
    if (automatic && (retraining || (until !== null && new Date().getTime() < until))) {
      const why = retraining ? 'a retraining is already under way' : `cooling down until ${new Date(until!).toISOString()}`;
      carry.suppressed = [...carry.suppressed, { ...trigger, reason: `${trigger.reason} (not acted on: ${why})` }].slice(-SUPPRESSED_KEPT);
      return;
    }
    // The same automatic finding again before the retraining starts adds nothing: it is one reason, not two.
    if (automatic && carry.pending.some((p) => p.kind === trigger.kind)) return;
    carry.pending = [...carry.pending, trigger].slice(-PENDING_KEPT);
  }

  setHandler(retrainSignal, ({ actor, reason }) => {
    // Temporal does not authenticate senders: the API binds the caller, and the rule is checked here again.
    if (!actorHasRole(actor, 'data-scientist')) return;
    addTrigger({ kind: 'manual', reason: reason || 'retraining requested', by: actor.id, at: now() });
  });
  setHandler(newDataSignal, ({ actor, source, reason }) => {
    if (!actorHasRole(actor, 'data-scientist', 'service')) return;
    // monitoring.retrainOn.newData false: the data becomes what the next retraining trains on, and starts none.
    if (!retrainOnNewData) {
      carry.lastSource = source;
      return;
    }
    addTrigger({ kind: 'new_data', reason: reason || `new data: ${source}`, by: actor.id, at: now(), source });
  });
  setHandler(pauseLifecycleSignal, ({ actor }) => {
    if (actorHasRole(actor, 'data-scientist')) carry.paused = true;
    setStage(view.stage);
  });
  setHandler(resumeLifecycleSignal, ({ actor }) => {
    if (actorHasRole(actor, 'data-scientist')) carry.paused = false;
    setStage(view.stage);
  });
  setHandler(scheduledRetrainSignal, ({ cron }) => {
    addTrigger({ kind: 'schedule', reason: `scheduled retraining (${cron})`, by: 'schedule', at: now() });
  });
  setHandler(monitoringReportSignal, ({ summary }) => {
    carry.lastMonitoring = summary;
    if (summary.retrain) {
      addTrigger({ kind: summary.retrain.kind, reason: summary.retrain.reason, by: 'monitor', at: now(), reportId: summary.reportId, windowStart: summary.windowStart });
    }
  });
  setHandler(rolloutStageSignal, ({ version, stage }) => {
    if (version !== view.candidateVersion || !retraining) return;
    if (stage === 'awaiting_approval') setStage('awaiting_approval');
    else if (['shadow', 'canary', 'blue_green', 'rolling_back'].includes(stage)) setStage('rolling_out');
  });
  setHandler(lifecycleStateQuery, (): LifecycleState => {
    const until = cooldownUntil();
    return {
      modelName: input.modelName,
      stage: view.stage,
      paused: carry.paused,
      cycle: carry.cycle,
      championVersion: view.championVersion,
      candidateVersion: view.candidateVersion,
      trainingWorkflowId: view.trainingWorkflowId,
      rolloutWorkflowId: view.rolloutWorkflowId,
      monitoringWorkflowId: view.monitoringWorkflowId,
      lastMonitoring: carry.lastMonitoring ?? null,
      pendingTriggers: carry.pending,
      suppressedTriggers: carry.suppressed,
      cooldownUntil: until !== null && new Date().getTime() < until ? new Date(until).toISOString() : null,
      history: carry.history,
    };
  });

  const context = await act.lifecycleContext({ modelId: input.modelId });
  cooldownMs = durationMs(input.cooldown ?? context.monitoring.cooldown);
  retrainOnNewData = context.monitoring.retrainOn.newData;
  view.championVersion = context.championVersion;
  const cron = context.monitoring.schedule ?? null;
  if ((carry.scheduleCron ?? null) !== cron) {
    await act.syncRetrainSchedule({ modelName: input.modelName, cron });
    carry.scheduleCron = cron;
  }
  if (view.championVersion === null && carry.pending.length === 0) {
    addTrigger({ kind: 'manual', reason: 'first training: the model has no champion yet', by: input.startedBy, at: now(), ...(input.source ? { source: input.source } : {}) });
  }

  // SERVING: monitor until something calls for a retraining (and the lifecycle is not paused).
  if (view.championVersion !== null) {
    setStage('serving');
    await serveUntilTriggered();
  } else {
    setStage('training');
    await condition(() => !carry.paused);
  }

  // TRAINING → AWAITING_APPROVAL → ROLLING_OUT: one retraining answers every trigger that is pending now.
  const triggers = carry.pending;
  carry.pending = [];
  const newSource = [...triggers].reverse().find((t) => t.source)?.source;
  const base = newSource ?? carry.lastSource ?? context.latestSource ?? undefined;
  const startedAt = now();
  carry.cycle++;
  const record = (outcome: CycleRecord['outcome'], extra: Partial<CycleRecord> = {}): void => {
    carry.history = [...carry.history, { cycle: carry.cycle, trigger: triggers[0] ?? null, outcome, startedAt, finishedAt: now(), ...extra }].slice(-HISTORY_KEPT);
  };
  retraining = true;
  // The cooldown guards a serving model against retraining storms; a first training is not a retraining.
  if (view.championVersion !== null) carry.lastRetrainAt = startedAt;
  if (!base) {
    record('failed', { reason: 'no data to train on: send new data (POST /v1/models/{name}/data) or set data.source in the spec' });
  } else {
    // What the model was trained on stays the base of later retrainings; an assembled set never becomes one.
    carry.lastSource = base;
    await retrain(base, !newSource && view.championVersion !== null, triggers, record);
  }
  retraining = false;
  view.candidateVersion = null;
  const ended = carry.history[carry.history.length - 1];
  await act.recordLifecycleEvent({
    modelName: input.modelName,
    action: `lifecycle.cycle_${ended.outcome}`,
    actor: SYSTEM_AUTHOR,
    details: { ...ended, triggers },
    dedupeKey: `lifecycle.cycle:${workflowInfo().workflowId}:${ended.cycle}`,
  });

  // Signals that arrived meanwhile are in `carry`; let their handlers finish before the history is cut.
  await condition(allHandlersFinished);
  await continueAsNew<typeof modelLifecycleWorkflow>({ ...input, source: undefined, carry });

  async function serveUntilTriggered(): Promise<void> {
    const monitorId = monitoringWorkflowId(input.modelName);
    const scope = new CancellationScope();
    const monitoring = scope.run(async () => {
      const monitor = await startChild(monitoringWorkflow, {
        workflowId: monitorId,
        args: [{ modelId: input.modelId, modelName: input.modelName, lifecycleWorkflowId: workflowInfo().workflowId, window: input.monitoringWindow ?? context.monitoring.window }],
        // The next cycle starts a monitor under the same ID: this one must have ended first.
        cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
      });
      view.monitoringWorkflowId = monitorId;
      await monitor.result();
    });
    // A monitor that fails shows in its own history; serving goes on without it until the next cycle starts one.
    const monitorEnded = monitoring.catch((err: unknown) => {
      if (!isCancellation(err)) view.monitoringWorkflowId = null;
    });
    await condition(() => carry.pending.length > 0 && !carry.paused);
    scope.cancel();
    await monitorEnded;
    view.monitoringWorkflowId = null;
  }

  async function retrain(
    base: string,
    withFeedback: boolean,
    answered: RetrainTrigger[],
    record: (outcome: CycleRecord['outcome'], extra?: Partial<CycleRecord>) => void,
  ): Promise<void> {
    setStage('training');
    // The spec in force now, not when this run started serving: it may have been edited meanwhile.
    const current = await act.lifecycleContext({ modelId: input.modelId });
    const runId = uuid4();
    const evidenceFrom = answered.find((t) => t.windowStart)?.windowStart;
    // Without new data, a served model retrains on what production taught it: the labelled traffic, with or without
    // the base data (monitoring.retrainData).
    const source = withFeedback
      ? (
          await dataPrep.assembleRetrainingData({
            modelId: input.modelId,
            modelName: input.modelName,
            baseSource: base,
            runId,
            includeBase: current.monitoring.retrainData === 'base_plus_feedback',
            // The monitor's evidence starts a regime: train on the traffic from that window on, not on what came before.
            ...(evidenceFrom ? { since: evidenceFrom } : {}),
          })
        ).source
      : base;
    const requestedBy = answered.find((t) => t.kind === 'manual' || t.kind === 'new_data')?.by ?? SYSTEM_AUTHOR;
    await act.openLifecycleRun({ runId, modelId: input.modelId, modelName: input.modelName, specHash: current.specHash, source, requestedBy, triggers: answered });
    const trainingId = trainingWorkflowId(input.modelName, runId);
    view.trainingWorkflowId = trainingId;
    let trained: TrainingPipelineResult;
    try {
      trained = await executeChild(trainingPipelineWorkflow, {
        workflowId: trainingId,
        args: [{ runId, modelId: input.modelId, modelName: input.modelName, spec: current.spec, specHash: current.specHash, source, requestedBy, rolloutBy: 'caller' }],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
          { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'running' },
        ],
      });
    } catch (err) {
      record('failed', { runId, reason: errorMessage(err) });
      return;
    } finally {
      view.trainingWorkflowId = null;
    }
    if (!trained.rollout || trained.version === undefined) {
      record(trained.status === 'rejected' ? 'rejected' : 'not_registered', { runId, reason: trained.evaluation?.reasons.join('; ') });
      return;
    }
    view.candidateVersion = trained.version;
    const rolloutId = rolloutWorkflowId(input.modelName, trained.version);
    view.rolloutWorkflowId = rolloutId;
    setStage('rolling_out');
    let outcome: RolloutState;
    try {
      outcome = await executeChild(rolloutWorkflow, {
        workflowId: rolloutId,
        args: [{ ...trained.rollout, notifyWorkflowId: workflowInfo().workflowId }],
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
          { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'pending' },
        ],
      });
    } catch (err) {
      record('failed', { runId, version: trained.version, reason: errorMessage(err) });
      return;
    } finally {
      view.rolloutWorkflowId = null;
    }
    if (outcome.outcome === 'promoted') view.championVersion = trained.version;
    record(outcome.outcome ?? 'failed', { runId, version: trained.version, reason: outcome.reason });
  }
}

function errorMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  // Child and activity failures wrap the real reason; the innermost message is the one worth showing.
  while (e?.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}
