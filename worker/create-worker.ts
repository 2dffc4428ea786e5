/**
 * Builds the Temporal worker(s) for a set of dependencies. Shared by the worker process and the workflow tests,
 * so tests exercise exactly the activities and workflows that production runs.
 */
import * as path from 'node:path';
import { Worker } from '@temporalio/worker';
import type { WorkerOptions , NativeConnection} from '@temporalio/worker';
import { createLifecycleActivities } from '../activities/lifecycle/lifecycle.activities';
import { createRetrainingDataActivities } from '../activities/lifecycle/retraining-data';
import { createMonitoringActivities } from '../activities/monitoring/monitoring.activities';
import { createRolloutActivities } from '../activities/rollout/rollout.activities';
import { createTrainingActivities } from '../activities/training/training.activities';
import type { TrainingActivityDeps } from '../activities/training/training.activities';

export interface CreateWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  deps: TrainingActivityDeps;
  /** reuse a prebuilt bundle (tests build it once per run) */
  workflowBundle?: WorkerOptions['workflowBundle'];
  maxConcurrentActivityTaskExecutions?: number;
}

export function workflowsPath(): string {
  // Compiled: dist/worker/create-worker.js → dist/workflows/index.js; under ts-jest: worker/ → workflows/index.ts
  return require.resolve(path.join(__dirname, '..', 'workflows'));
}

export async function createWorker(options: CreateWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(options.workflowBundle ? { workflowBundle: options.workflowBundle } : { workflowsPath: workflowsPath() }),
    activities: {
      ...createTrainingActivities(options.deps),
      ...createRolloutActivities({ registry: options.deps.registry }),
      ...createLifecycleActivities({
        registry: options.deps.registry,
        temporal: { address: options.deps.config.temporal.address, namespace: options.namespace, taskQueue: options.taskQueue },
      }),
      ...createRetrainingDataActivities({ registry: options.deps.registry, store: options.deps.store, workDir: options.deps.config.workDir }),
      ...createMonitoringActivities({ registry: options.deps.registry, store: options.deps.store, workDir: options.deps.config.workDir }),
    },
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions ?? 8,
    // Long activities stop on cancellation or shutdown through their heartbeat; give them a moment to say so.
    shutdownGraceTime: '10s',
  });
}
