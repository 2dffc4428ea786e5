import { PredictionLogger, safeKeyPart, serializeRecord } from './prediction-log';
import type { PredictionRecord } from './prediction-log';

function record(i: number, model = 'm', ts = '2026-11-23T10:00:00.000Z'): PredictionRecord {
  return {
    ts,
    requestId: `r${i}`,
    model,
    version: 1,
    endpoint: 'v2',
    routed: true,
    status: 200,
    latencyMs: 1.5,
    rows: 1,
    inputs: { temp: Float32Array.of(i, NaN), city: ['a', ''] },
    outputs: { label: ['sun'] },
  };
}

class MemorySink {
  objects = new Map<string, string>();
  fail = false;
  async put(key: string, body: Buffer): Promise<void> {
    if (this.fail) throw new Error('storage down');
    this.objects.set(key, body.toString('utf8'));
  }
}

const options = { replicaId: 'host-1/pod 7', sampleRate: 1, batchSize: 3, flushIntervalMs: 60_000, maxQueue: 5 };

describe('PredictionLogger', () => {
  it('writes JSON Lines per model and day under predictions/<model>/<day>/<replica>-<seq>.jsonl', async () => {
    const sink = new MemorySink();
    const log = new PredictionLogger(sink, options);
    log.log(record(1));
    log.log(record(2, 'other'));
    log.log(record(3, 'm', '2026-11-24T00:00:01.000Z'));
    await log.flush();
    expect([...sink.objects.keys()]).toEqual([
      'predictions/m/2026-11-23/host-1_pod_7-00000001.jsonl',
      'predictions/other/2026-11-23/host-1_pod_7-00000002.jsonl',
      'predictions/m/2026-11-24/host-1_pod_7-00000003.jsonl',
    ]);
    const line = JSON.parse(sink.objects.get('predictions/m/2026-11-23/host-1_pod_7-00000001.jsonl')!.trim());
    expect(line).toMatchObject({ requestId: 'r1', inputs: { temp: [1, null], city: ['a', ''] }, outputs: { label: ['sun'] } });
    expect(log.stats()).toEqual({ queued: 0, dropped: 0, written: 3, objects: 3, failedUploads: 0 });
  });

  it('drops and counts records when the queue is full, never blocking', () => {
    const log = new PredictionLogger(new MemorySink(), { ...options, batchSize: 100 });
    for (let i = 0; i < 8; i++) log.log(record(i));
    expect(log.stats()).toMatchObject({ queued: 5, dropped: 3 });
  });

  it('bounds the queue by the values it holds, so a few huge requests cannot exhaust memory', () => {
    const log = new PredictionLogger(new MemorySink(), { ...options, batchSize: 100, maxQueuedValues: 10 });
    expect(log.log(record(1))).toBe(true); // 1 + 2 + 2 + 1 values
    expect(log.log(record(2))).toBe(false);
    expect(log.stats()).toMatchObject({ queued: 1, dropped: 1 });
  });

  it('writes large batches as several objects of about 2 MiB', async () => {
    const sink = new MemorySink();
    const log = new PredictionLogger(sink, { ...options, batchSize: 100, maxQueue: 100 });
    const big = (i: number): PredictionRecord => ({ ...record(i), inputs: { temp: new Float32Array(300_000).fill(1.25) } });
    for (let i = 0; i < 3; i++) log.log(big(i));
    await log.flush();
    expect(sink.objects.size).toBe(2); // two records of ~1.5 MB pass 2 MiB; the third starts a new object
    expect([...sink.objects.values()].map((o) => o.trim().split('\n').length)).toEqual([2, 1]);
    expect(log.stats()).toMatchObject({ written: 3, objects: 2 });
  });

  it('keeps records for the next attempt when storage fails', async () => {
    const sink = new MemorySink();
    const errors: string[] = [];
    const log = new PredictionLogger(sink, { ...options, batchSize: 100 }, (e) => errors.push(e.message));
    log.log(record(1));
    log.log(record(2));
    sink.fail = true;
    await log.flush();
    expect(log.stats()).toMatchObject({ queued: 2, failedUploads: 1, written: 0 });
    expect(errors).toEqual(['storage down']);
    sink.fail = false;
    await log.close();
    expect(log.stats()).toMatchObject({ queued: 0, written: 2 });
    expect(log.log(record(3))).toBe(false); // closed
  });

  it('flushes by itself once a batch is full', async () => {
    const sink = new MemorySink();
    const log = new PredictionLogger(sink, options);
    for (let i = 0; i < 3; i++) log.log(record(i));
    await new Promise((resolve) => setImmediate(resolve));
    await log.flush();
    expect(sink.objects.size).toBe(1);
  });

  it('samples at the configured rate', () => {
    let r = 0;
    const log = new PredictionLogger(new MemorySink(), { ...options, sampleRate: 0.25, random: () => (r = (r + 0.1) % 1) });
    const sampled = Array.from({ length: 100 }, () => log.sampled()).filter(Boolean).length;
    expect(sampled).toBeGreaterThan(15);
    expect(sampled).toBeLessThan(35);
    expect(new PredictionLogger(new MemorySink(), { ...options, sampleRate: 0 }).sampled()).toBe(false);
  });

  it('serializes typed arrays as JSON arrays and keeps keys safe', () => {
    expect(serializeRecord(record(4))).toContain('"temp":[4,null]');
    expect(safeKeyPart('a b/c:d')).toBe('a_b_c_d');
  });
});
