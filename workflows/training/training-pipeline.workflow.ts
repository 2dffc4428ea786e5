/**
 * trainingPipelineWorkflow: ingest → validate → profile → split → train (candidates in parallel) → evaluate →
 * register. The workflow only orchestrates and keeps the run's live state for the query; every side effect is an
 * idempotent activity, and blobs travel as storage keys, never through history.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setHandler,
  startChild,
  upsertSearchAttributes,
  uuid4,
  workflowInfo,
} from '@temporalio/workflow';
import type { Duration, RetryPolicy } from '@temporalio/common';
import type * as activities from '../../activities/training/training.activities';
import {
  NON_RETRYABLE_FAILURES,
  PIPELINE_STEPS,
  rolloutWorkflowId,
  SEARCH_ATTRIBUTE_KEYS,
  trainingRunStateQuery,
} from '../../libs/contracts';
import { rolloutWorkflow } from '../rollout/rollout.workflow';
import type {
  CandidateSummary,
  PipelineStep,
  RolloutInput,
  RunStatus,
  TrainingPipelineInput,
  TrainingPipelineResult,
  TrainingRunState,
} from '../../libs/contracts';

type TrainingActivities = ReturnType<typeof activities.createTrainingActivities>;

const retry: RetryPolicy = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: NON_RETRYABLE_FAILURES };

/** Registry bookkeeping: quick, retried until the database answers. */
const bookkeeping = proxyActivities<TrainingActivities>({
  startToCloseTimeout: '30s',
  retry: { ...retry, maximumAttempts: 20 },
});

export async function trainingPipelineWorkflow(input: TrainingPipelineInput): Promise<TrainingPipelineResult> {
  const heartbeatTimeout = (input.heartbeatTimeout ?? '2m') as Duration;
  const dataSteps = proxyActivities<TrainingActivities>({
    startToCloseTimeout: '2h',
    heartbeatTimeout,
    retry: { ...retry, maximumAttempts: 5 },
  });
  // Data steps stream whole data sets and heartbeat, so a dead worker is noticed within the heartbeat timeout.
  // Heavy compute may run on its own task queue (e.g. bigger machines); by default it stays on ours.
  const compute = proxyActivities<TrainingActivities>({
    taskQueue: input.trainingTaskQueue ?? workflowInfo().taskQueue,
    startToCloseTimeout: '6h',
    heartbeatTimeout,
    retry: { ...retry, maximumAttempts: 3 },
  });

  const state: TrainingRunState = {
    runId: input.runId,
    modelName: input.modelName,
    status: 'running',
    steps: PIPELINE_STEPS.map((step) => ({ step, status: 'pending' as const })),
  };
  setHandler(trainingRunStateQuery, () => state);

  const setStatus = (status: RunStatus): void => {
    state.status = status;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.status, value: status }]);
  };

  /** Runs one step: live state, search attribute and registry row all say what is happening. */
  async function step<T>(name: PipelineStep, body: () => Promise<T>): Promise<T> {
    const entry = state.steps.find((s) => s.step === name)!;
    entry.status = 'running';
    entry.startedAt = new Date().toISOString(); // workflow time: deterministic under replay
    state.currentStep = name;
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTE_KEYS.step, value: name }]);
    await bookkeeping.recordRunProgress({ runId: input.runId, steps: state.steps, status: state.status });
    try {
      const result = await body();
      entry.status = 'succeeded';
      return result;
    } catch (err) {
      entry.status = 'failed';
      entry.message = failureMessage(err);
      throw err;
    } finally {
      entry.finishedAt = new Date().toISOString();
    }
  }

  upsertSearchAttributes([
    { key: SEARCH_ATTRIBUTE_KEYS.model, value: input.modelName },
    { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'running' },
  ]);
  await bookkeeping.markRunStarted({ runId: input.runId, workflowRunId: workflowInfo().runId });

  try {
    const dataset = await step('ingest', () =>
      dataSteps.ingestDataset({ runId: input.runId, modelId: input.modelId, source: input.source, formatHint: input.spec.data.format }),
    );
    state.datasetId = dataset.datasetId;

    const validation = await step('validate', () =>
      dataSteps.validateDataset({ datasetId: dataset.datasetId, modelId: input.modelId, spec: input.spec }),
    );
    const profile = await step('profile', () => dataSteps.profileDataset({ datasetId: dataset.datasetId, spec: input.spec }));
    const split = await step('split', () => dataSteps.splitDataset({ datasetId: dataset.datasetId, spec: input.spec }));

    const candidates = await step('train', async () => {
      const grid = input.spec.trainer.grid?.length ? input.spec.trainer.grid : [{}];
      // Candidates train in parallel; each is its own activity, so a crash retries only the one that was lost.
      const trained = await Promise.all(
        grid.map((overrides, index) =>
          compute.trainCandidate({
            runId: input.runId,
            candidateIndex: index,
            datasetId: dataset.datasetId,
            splitKey: split.splitKey,
            spec: input.spec,
            params: { ...input.spec.trainer.params, ...overrides },
          }),
        ),
      );
      state.candidates = trained;
      return trained;
    });
    const best = pickBest(candidates);

    const evaluation = await step('evaluate', () =>
      compute.evaluateCandidate({
        runId: input.runId,
        modelId: input.modelId,
        datasetId: dataset.datasetId,
        splitKey: split.splitKey,
        spec: input.spec,
        candidate: best,
      }),
    );
    state.evaluation = evaluation.summary;

    if (!evaluation.summary.passed) {
      const skipped = state.steps.find((s) => s.step === 'register')!;
      skipped.status = 'skipped';
      skipped.message = `evaluation did not pass: ${evaluation.summary.reasons.join('; ')}`;
      setStatus('rejected');
      await bookkeeping.finishRun({ runId: input.runId, status: 'rejected', steps: state.steps, evaluation: evaluation.summary });
      return { runId: input.runId, status: 'rejected', datasetId: dataset.datasetId, evaluation: evaluation.summary };
    }

    // Since the rollout workflow exists, registration no longer promotes: approval and the staged rollout do.
    const handsOverToRollout = patched('rollout-after-register');
    const registered = await step('register', () =>
      bookkeeping.registerVersion({
        runId: input.runId,
        modelId: input.modelId,
        requestedBy: input.requestedBy,
        specHash: input.specHash,
        dataset,
        validationReportKey: validation.reportKey,
        profileKey: profile.profileKey,
        split,
        candidate: best,
        evaluation,
        workflowId: workflowInfo().workflowId,
        workflowRunId: workflowInfo().runId,
        ...(handsOverToRollout ? { promote: false } : {}),
      }),
    );
    state.version = registered.version;
    let rolloutForCaller: RolloutInput | undefined;
    if (handsOverToRollout) {
      const rolloutId = rolloutWorkflowId(input.modelName, registered.version);
      const rolloutInput: RolloutInput = {
        modelId: input.modelId,
        modelName: input.modelName,
        version: registered.version,
        runId: input.runId,
        requestedBy: input.requestedBy,
        primaryMetric: evaluation.summary.primaryMetric,
        candidateScore: evaluation.summary.candidate,
        championVersion: evaluation.championVersion,
        championScore: evaluation.summary.champion,
        policy: { approval: input.spec.approval, rollout: input.spec.rollout },
        approvalId: uuid4(),
      };
      if (input.rolloutBy === 'caller') {
        // The model's lifecycle runs the rollout itself, as its own child, so that it learns the outcome.
        rolloutForCaller = rolloutInput;
      } else {
        // The rollout outlives this run (an approval may take days): a child that is abandoned, not terminated,
        // when the pipeline completes.
        await startChild(rolloutWorkflow, { workflowId: rolloutId, parentClosePolicy: ParentClosePolicy.ABANDON, args: [rolloutInput] });
        state.rolloutWorkflowId = rolloutId;
      }
    }
    state.currentStep = undefined;
    setStatus('succeeded');
    await bookkeeping.finishRun({
      runId: input.runId,
      status: 'succeeded',
      steps: state.steps,
      evaluation: evaluation.summary,
      version: registered.version,
    });
    return {
      runId: input.runId,
      status: 'succeeded',
      datasetId: dataset.datasetId,
      version: registered.version,
      versionId: registered.versionId,
      evaluation: evaluation.summary,
      rolloutWorkflowId: state.rolloutWorkflowId,
      ...(rolloutForCaller ? { rollout: rolloutForCaller } : {}),
    };
  } catch (err) {
    state.error = failureMessage(err);
    setStatus('failed');
    await bookkeeping.finishRun({ runId: input.runId, status: 'failed', steps: state.steps, error: state.error });
    throw toWorkflowFailure(err);
  }
}

/** Highest validation score wins; ties go to the earlier candidate so the choice is stable. */
function pickBest(candidates: CandidateSummary[]): CandidateSummary {
  return candidates.reduce((best, c) => (c.validationScore > best.validationScore ? c : best));
}

function failureMessage(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

/**
 * Re-raises a user-fixable activity failure as the workflow's own non-retryable failure, with the same type and
 * details (e.g. the validation report), so callers see the reason at the top level.
 */
function toWorkflowFailure(err: unknown): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure) {
    const cause = err.cause;
    if (cause.type && NON_RETRYABLE_FAILURES.includes(cause.type)) {
      return ApplicationFailure.create({
        type: cause.type,
        message: cause.message,
        details: cause.details as unknown[] | undefined,
        nonRetryable: true,
      });
    }
  }
  return err;
}
