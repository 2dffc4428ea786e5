import type { ArtifactStore } from '../artifacts';
import type { RegistryService } from '../registry';
import { ServingReplica } from './replica';
import type { StatsWindow } from './stats';

/** A registry whose traffic-window writes wait until the test lets each one finish. */
function slowRegistry() {
  const writes: Array<{ windows: StatsWindow[]; finish: () => void; done: boolean }> = [];
  const registry = {
    recordServingStats: (_replicaId: string, windows: StatsWindow[]) =>
      new Promise<void>((resolve) => {
        const write = { windows, done: false, finish: () => ((write.done = true), resolve()) };
        writes.push(write);
      }),
  };
  return { registry: registry as unknown as RegistryService, writes };
}

function replicaWith(registry: RegistryService): ServingReplica {
  return new ServingReplica(
    registry,
    {} as ArtifactStore,
    {
      replicaId: 'unit',
      reconcileIntervalMs: 1000,
      idleUnloadMs: 1000,
      statsFlushMs: 1000,
      statsRetentionHours: 1,
      maxRowsPerRequest: 10,
      pool: { size: 1, batching: false, maxBatchRows: 1, maxWaitMs: 0, maxQueued: 1, maxShadowQueued: 1 },
      predictionLog: { sampleRate: 0, batchSize: 1, flushIntervalMs: 1000, maxQueue: 1 },
    },
    { log: () => undefined, warn: () => undefined, error: () => undefined },
  );
}

const record = (replica: ServingReplica, kind: 'live' | 'shadow') =>
  (replica as unknown as { stats: { record(e: object): void } }).stats.record({ modelId: 'm', version: 1, kind, latencyMs: 2, error: false });

describe('ServingReplica.flushStats', () => {
  it('resolves only once everything recorded before the call is written, even behind a write already under way', async () => {
    const { registry, writes } = slowRegistry();
    const replica = replicaWith(registry);
    record(replica, 'live');
    const timerFlush = replica.flushStats(); // as the stats timer would: it takes the live window and writes slowly
    await Promise.resolve();
    record(replica, 'shadow');
    let callerDone = false;
    const callerFlush = replica.flushStats().then(() => (callerDone = true));

    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(1); // the second write waits for the first
    expect(callerDone).toBe(false);
    writes[0].finish();
    await timerFlush;
    await new Promise((resolve) => setImmediate(resolve));
    expect(writes).toHaveLength(2);
    expect(writes[1].windows.map((w) => w.kind)).toEqual(['shadow']);
    expect(callerDone).toBe(false);
    writes[1].finish();
    await callerFlush;
    expect(callerDone).toBe(true);
    await replica.pool.close();
    replica.metrics.dispose();
  });
});
