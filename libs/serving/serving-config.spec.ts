import * as os from 'node:os';
import { loadConfig } from '../config';
import type { ConfigError } from '../config';

describe('serving configuration', () => {
  it('has defaults that serve with one inference thread per core', () => {
    expect(loadConfig({ MLCYCLE_API_PROCESSES: '1' }).serving).toEqual({
      enabled: true,
      replicaId: undefined,
      reconcileIntervalMs: 500,
      idleUnloadMs: 60_000,
      statsFlushMs: 2_000,
      statsRetentionHours: 168,
      threads: Math.max(1, os.availableParallelism()),
      batching: true,
      fastPath: true,
      threadNice: 10,
      inlineBudgetMs: 2,
      busyPollUs: 200,
      coreShare: os.availableParallelism(),
      maxBatchRows: 512,
      batchWaitMs: 0,
      queueLimit: 4_096,
      maxRowsPerRequest: 100_000,
      predictionLog: { sampleRate: 1, batchSize: 1_000, flushIntervalMs: 5_000, maxQueue: 20_000 },
    });
  });

  it('reads every variable', () => {
    const s = loadConfig({
      MLCYCLE_SERVING_ENABLED: 'false',
      MLCYCLE_SERVING_REPLICA_ID: 'api-7f9c',
      MLCYCLE_INFERENCE_THREADS: '3',
      MLCYCLE_INFERENCE_BATCHING: 'no',
      MLCYCLE_INFERENCE_FAST_PATH: '0',
      MLCYCLE_INFERENCE_THREAD_NICE: '0',
      MLCYCLE_INFERENCE_BATCH_WAIT_MS: '0.5',
      MLCYCLE_INFERENCE_INLINE_BUDGET_MS: '0',
      MLCYCLE_INFERENCE_BUSY_POLL_US: '0',
      MLCYCLE_PREDICTION_LOG_SAMPLE: '0.1',
      MLCYCLE_API_PROCESSES: '4',
    }).serving;
    expect(s).toMatchObject({
      enabled: false,
      replicaId: 'api-7f9c',
      threads: 3,
      batching: false,
      fastPath: false,
      threadNice: 0,
      batchWaitMs: 0.5,
      inlineBudgetMs: 0,
      busyPollUs: 0,
      coreShare: os.availableParallelism() / 4,
      predictionLog: { sampleRate: 0.1 },
    });
  });

  it('names the variable and what is expected when a value is wrong', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig(env);
      } catch (err) {
        return (err as ConfigError).problems.join('\n');
      }
      return '';
    };
    expect(problems({ MLCYCLE_PREDICTION_LOG_SAMPLE: '1.5' })).toMatch(/MLCYCLE_PREDICTION_LOG_SAMPLE="1.5": must be between 0 and 1/);
    expect(problems({ MLCYCLE_INFERENCE_THREADS: '0' })).toMatch(/MLCYCLE_INFERENCE_THREADS="0"/);
    expect(problems({ MLCYCLE_SERVING_REPLICA_ID: 'has spaces' })).toMatch(/MLCYCLE_SERVING_REPLICA_ID="has spaces": 1-100 letters/);
    expect(problems({ MLCYCLE_SERVING_RECONCILE_MS: '10' })).toMatch(/MLCYCLE_SERVING_RECONCILE_MS/);
    expect(problems({ MLCYCLE_INFERENCE_BATCHING: 'maybe' })).toMatch(/MLCYCLE_INFERENCE_BATCHING/);
    expect(problems({ MLCYCLE_INFERENCE_BUSY_POLL_US: '20000' })).toMatch(/MLCYCLE_INFERENCE_BUSY_POLL_US="20000"/);
  });
});
