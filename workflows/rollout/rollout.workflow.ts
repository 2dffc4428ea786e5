/**
 * rolloutWorkflow: approval gate → shadow → canary steps (or a blue/green switch) → promote, with guardrails read
 * from live traffic at every step. A breach, a failed step, or a rollback request runs compensation: traffic goes
 * back to the champion, the champion alias is restored, and the candidate is marked rolled back. Compensation runs
 * in a non-cancellable scope with activities that retry until they succeed, so it completes across crashes of
 * the worker or the API.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type * as activities from '../../activities/rollout/rollout.activities';
import {
  actorHasRole,
  approvalDecisionUpdate,
  durationMs,
  pauseRolloutSignal,
  resumeRolloutSignal,
  rollbackRolloutSignal,
  ROLLOUT_FAILURES,
  rolloutStageSignal,
  rolloutStateQuery,
  SEARCH_ATTRIBUTE_KEYS,
} from '../../libs/contracts';
import type { Actor, RolloutInput, RolloutStage, RolloutState } from '../../libs/contracts';

type RolloutActivities = ReturnType<typeof activities.createRolloutActivities>;

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '20s' };
// Registry reads and writes take milliseconds; a short timeout means a lost worker is noticed quickly.
const act = proxyActivities<RolloutActivities>({ startToCloseTimeout: '10s', retry: { ...retry, maximumAttempts: 10 } });
/** Compensation must finish: no maximum attempts means retry until it succeeds. */
const compensating = proxyActivities<RolloutActivities>({ startToCloseTimeout: '15s', retry });

/** Workflow time: deterministic under replay (the SDK's clock), unlike a wall clock. */
const now = (): number => new Date().getTime();

/** Raised inside the workflow to leave the stages and compensate; never leaves the workflow. */
class RolloutStopped extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'RolloutStopped';
  }
}

export async function rolloutWorkflow(input: RolloutInput): Promise<RolloutState> {
  const { policy } = input;
  const workflowId = workflowInfo().workflowId;
  const checkIntervalMs = durationMs(input.checkInterval ?? '2s');
  const convergenceTimeoutMs = durationMs(input.convergenceTimeout ?? '2m');
  const hasChampion = input.championVersion !== undefined && input.championVersion !== input.version;
  const champion = hasChampion ? input.championVersion : undefined;
  const converge = proxyActivities<RolloutActivities>({
    startToCloseTimeout: convergenceTimeoutMs + 30_000,
    heartbeatTimeout: '10s',
    retry: { ...retry, maximumAttempts: 3, nonRetryableErrorTypes: ['ConvergenceTimeout'] },
  });

  const approvalRequired = needsApproval(input);
  const state: RolloutState = {
    modelName: input.modelName,
    version: input.version,
    championVersion: champion,
    stage: 'pending',
    paused: false,
    approval: {
      id: input.approvalId,
      required: approvalRequired.required,
      status: approvalRequired.required ? 'pending' : 'not_required',
      requiredApprovals: policy.approval.requiredApprovals,
      decisions: [],
      reason: approvalRequired.reason,
    },
  };
  let decisionsDirty = false;
  let rollbackRequest: { by: Actor; reason: string } | undefined;
  let changeSeq = 0;

  setHandler(rolloutStateQuery, () => state);
  setHandler(
    approvalDecisionUpdate,
    (decision) => {
      if (state.approval.decisions.some((d) => d.reviewer === decision.reviewer.id)) return state; // idempotent repeat
      state.approval.decisions.push({ reviewer: decision.reviewer.id, decision: decision.decision, comment: decision.comment, at: new Date().toISOString() });
      if (decision.decision === 'reject') state.approval.status = 'rejected';
      else if (state.approval.decisions.filter((d) => d.decision === 'approve').length >= policy.approval.requiredApprovals) {
        state.approval.status = 'approved';
      }
      decisionsDirty = true;
      return state;
    },
    {
      // Temporal does not authenticate callers: the rule is checked here, on the identity the API bound in.
      validator: (decision) => {
        if (decision.approvalId !== state.approval.id) {
          throw ApplicationFailure.create({ type: ROLLOUT_FAILURES.unknownApproval, message: `approval ${decision.approvalId} does not belong to this rollout` });
        }
        if (!decision.reviewer.roles.includes('reviewer')) {
          throw ApplicationFailure.create({ type: ROLLOUT_FAILURES.forbidden, message: `${decision.reviewer.id} is not a reviewer` });
        }
        if (decision.reviewer.id === input.requestedBy) {
          throw ApplicationFailure.create({
            type: ROLLOUT_FAILURES.forbidden,
            message: `${decision.reviewer.id} started the run that produced this version and cannot also approve it (four-eyes rule)`,
          });
        }
        const earlier = state.approval.decisions.find((d) => d.reviewer === decision.reviewer.id);
        if (earlier && earlier.decision === decision.decision) return; // the same decision again is accepted as a no-op
        if (earlier) {
          throw ApplicationFailure.create({ type: ROLLOUT_FAILURES.approvalClosed, message: `${decision.reviewer.id} already decided '${earlier.decision}'` });
        }
        if (state.approval.status !== 'pending' && state.approval.status !== 'escalated') {
          throw ApplicationFailure.create({ type: ROLLOUT_FAILURES.approvalClosed, message: `the approval request is already ${state.approval.status}` });
        }
      },
    },
  );
  setHandler(pauseRolloutSignal, ({ by }) => {
    if (actorHasRole(by, 'admin', 'data-scientist')) state.paused = true;
  });
  setHandler(resumeRolloutSignal, ({ by }) => {
    if (actorHasRole(by, 'admin', 'data-scientist')) state.paused = false;
  });
  setHandler(rollbackRolloutSignal, (request) => {
    if (actorHasRole(request.by, 'admin', 'data-scientist', 'reviewer')) rollbackRequest ??= request;
  });

  const setStage = (stage: RolloutStage): void => {
    state.stage = stage;
    if (input.notifyWorkflowId) {
      // Best effort: the lifecycle learns the outcome from this workflow's result anyway; a lost stage note only
      // leaves its view a step behind.
      getExternalWorkflowHandle(input.notifyWorkflowId)
        .signal(rolloutStageSignal, { version: input.version, stage })
        .catch(() => undefined);
    }
    upsertSearchAttributes([
      { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
      { key: SEARCH_ATTRIBUTE_KEYS.status, value: stage },
      { key: SEARCH_ATTRIBUTE_KEYS.step, value: 'rollout' },
    ]);
  };

  /** Records intent and applies a routing change, then waits until every live replica serves it. */
  async function route(routes: { version: number; weight: number }[], shadow: { version: number; share: number } | null, stage: RolloutState['stage'], reason: string, via = act) {
    const change = await via.applyRouting({
      modelId: input.modelId,
      routes,
      shadow,
      stage: stage === 'awaiting_approval' || stage === 'pending' || stage === 'rejected' ? 'idle' : stage,
      rolloutWorkflowId: workflowId,
      stickyKeyHeader: policy.rollout.stickyKeyHeader ?? null,
      changeKey: `${workflowId}:${workflowInfo().runId}:${++changeSeq}`,
      actor: 'system:rollout',
      reason,
    });
    state.deploymentRevision = change.revision;
    await converge.waitForConvergence({ modelId: input.modelId, revision: change.revision, timeoutMs: convergenceTimeoutMs });
  }

  async function pauseGate(): Promise<void> {
    if (state.paused) await condition(() => !state.paused || rollbackRequest !== undefined);
    if (rollbackRequest) throw new RolloutStopped(`rollback requested by ${rollbackRequest.by.id}: ${rollbackRequest.reason}`);
  }

  /** Holds a stage for its bake time and request count, reading guardrails every check interval. */
  async function bake(stage: RolloutStage, bakeTime: string, minRequests: number): Promise<void> {
    const since = new Date().toISOString();
    const started = now();
    for (;;) {
      await pauseGate();
      const reading = await act.readGuardrails({ modelId: input.modelId, since, stage, candidate: input.version, champion, guardrails: policy.rollout.guardrails });
      state.lastReading = reading;
      if (reading.breaches.length > 0) throw new RolloutStopped(`guardrail breached during ${stage}: ${reading.breaches.join('; ')}`);
      if (!state.paused && now() - started >= durationMs(bakeTime) && reading.candidate.requests >= minRequests) return;
      await condition(() => rollbackRequest !== undefined, checkIntervalMs);
    }
  }

  setStage('pending');

  // ---- approval gate
  if (approvalRequired.required) {
    setStage('awaiting_approval');
    const timeoutMs = durationMs(policy.approval.timeout);
    await act.openApproval({
      approvalId: input.approvalId,
      modelId: input.modelId,
      modelName: input.modelName,
      version: input.version,
      requiredApprovals: policy.approval.requiredApprovals,
      requestedBy: input.requestedBy,
      workflowId,
      reason: approvalRequired.reason,
      expiresAt: new Date(now() + timeoutMs).toISOString(),
    });
    const decided = (): boolean => state.approval.status === 'approved' || state.approval.status === 'rejected';
    let deadline = now() + timeoutMs;
    while (!decided()) {
      const remaining = deadline - now();
      const woke = await condition(() => decisionsDirty || decided(), Math.max(1, remaining));
      if (decisionsDirty) {
        decisionsDirty = false;
        await act.saveApproval({ approvalId: input.approvalId, modelName: input.modelName, version: input.version, status: 'pending', decisions: state.approval.decisions });
      }
      if (!woke && !decided()) {
        if (policy.approval.onTimeout === 'escalate' && state.approval.status !== 'escalated') {
          // One more timeout period, flagged for operators, before the request expires.
          state.approval.status = 'escalated';
          await act.recordRolloutEvent({
            actor: 'system:rollout',
            action: 'approval.escalated',
            modelName: input.modelName,
            version: input.version,
            details: { approvalId: input.approvalId },
            dedupeKey: `approval.escalated:${input.approvalId}`,
          });
          deadline = now() + timeoutMs;
          continue;
        }
        state.approval.status = 'expired';
        break;
      }
    }
    const final = state.approval.status === 'approved' ? 'approved' : state.approval.status === 'rejected' ? 'rejected' : 'expired';
    await act.saveApproval({ approvalId: input.approvalId, modelName: input.modelName, version: input.version, status: final, decisions: state.approval.decisions });
    if (final !== 'approved') {
      const reason = final === 'rejected' ? `rejected by ${state.approval.decisions.find((d) => d.decision === 'reject')?.reviewer}` : 'the approval request expired';
      await act.markRejected({ modelId: input.modelId, modelName: input.modelName, version: input.version, reason });
      state.outcome = 'rejected';
      state.reason = reason;
      setStage('rejected');
      return state;
    }
  }

  // ---- stages
  let promoted = false;
  try {
    if (!champion) {
      // Nothing to compare with or fall back to: switch all traffic to the first version.
      await pauseGate();
      await route([{ version: input.version, weight: 100 }], null, 'promoted', 'first version of the model');
    } else if (policy.rollout.strategy.includes('blue_green')) {
      setStage('blue_green');
      await pauseGate();
      // Weight 0 keeps the old version loaded (warm) on every replica, for an instant switch back.
      await route([{ version: input.version, weight: 100 }, { version: champion, weight: 0 }], null, 'blue_green', 'blue/green switch');
      await act.promote({ modelId: input.modelId, modelName: input.modelName, version: input.version, previousChampion: champion, actor: 'system:rollout' });
      promoted = true;
      await bake('blue_green', policy.rollout.blueGreen.keepWarm, 0);
    } else {
      for (const strategy of policy.rollout.strategy) {
        if (strategy === 'shadow') {
          setStage('shadow');
          await pauseGate();
          await route([{ version: champion, weight: 100 }], { version: input.version, share: policy.rollout.shadow.share }, 'shadow', 'shadow traffic to the candidate');
          await bake('shadow', policy.rollout.shadow.bakeTime, policy.rollout.shadow.minRequests);
        } else if (strategy === 'canary') {
          setStage('canary');
          for (const [index, weight] of policy.rollout.canary.steps.entries()) {
            await pauseGate();
            state.step = { index, weight };
            const routes = weight >= 100 ? [{ version: input.version, weight: 100 }] : [{ version: input.version, weight }, { version: champion, weight: 100 - weight }];
            await route(routes, null, 'canary', `canary step ${index + 1}: ${weight}%`);
            await bake('canary', policy.rollout.canary.bakeTime, policy.rollout.canary.minRequests);
          }
        }
      }
    }
    await pauseGate();
    await route([{ version: input.version, weight: 100 }], null, 'promoted', 'promotion');
    if (!promoted) {
      await act.promote({ modelId: input.modelId, modelName: input.modelName, version: input.version, previousChampion: champion, actor: 'system:rollout' });
    }
    state.outcome = 'promoted';
    setStage('promoted');
    return state;
  } catch (err) {
    const reason = err instanceof RolloutStopped ? err.reason : `a rollout step failed: ${(err as Error).message}`;
    state.reason = reason;
    setStage('rolling_back');
    // Compensation must complete even if this workflow is cancelled or a worker dies half-way.
    await CancellationScope.nonCancellable(async () => {
      const routes = champion !== undefined ? [{ version: champion, weight: 100 }] : [];
      await route(routes, null, 'rolled_back', `rollback: ${reason}`, compensating).catch(async () => {
        // Replicas that cannot converge must not block restoring the alias; the routing row is already written.
      });
      await compensating.markRolledBack({
        modelId: input.modelId,
        modelName: input.modelName,
        version: input.version,
        restoreChampion: champion,
        reason,
        actor: rollbackRequest ? rollbackRequest.by.id : 'system:rollout',
      });
    });
    state.outcome = 'rolled_back';
    setStage('rolled_back');
    return state;
  }
}

/** The approval policy applied to this candidate: always, never, or only when it does not beat the champion. */
function needsApproval(input: RolloutInput): { required: boolean; reason: string } {
  const { policy: p } = input.policy.approval;
  if (p === 'never') return { required: false, reason: 'the model policy never asks for approval' };
  if (p === 'always') return { required: true, reason: 'the model policy always asks for approval' };
  if (input.championVersion === undefined || input.championScore === undefined) {
    return { required: false, reason: 'no champion to compare with; approval is needed only when a candidate does not beat the champion' };
  }
  const lowerIsBetter = ['log_loss', 'rmse', 'mae'].includes(input.primaryMetric);
  const margin = input.policy.approval.margin;
  const beats = lowerIsBetter ? input.candidateScore <= input.championScore - margin : input.candidateScore >= input.championScore + margin;
  return beats
    ? { required: false, reason: `${input.primaryMetric} ${input.candidateScore} beats champion v${input.championVersion} (${input.championScore}) by the margin ${margin}` }
    : { required: true, reason: `${input.primaryMetric} ${input.candidateScore} does not beat champion v${input.championVersion} (${input.championScore}) by the margin ${margin}` };
}
