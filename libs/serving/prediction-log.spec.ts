import { PredictionLogger, safeKeyPart, serializeRecord } from './prediction-log';
import type { PredictionRecord } from './prediction-log';
import { RecordPacker, unpackRecords } from './prediction-log-encoding';

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

/** Waits for a condition the logger's thread makes true (bounded: fails the test after 5 s). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('PredictionLogger', () => {
  const open: PredictionLogger[] = [];
  const logger = (...args: ConstructorParameters<typeof PredictionLogger>) => {
    const log = new PredictionLogger(...args);
    open.push(log);
    return log;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((l) => l.close()));
  });

  it('writes JSON Lines per model and day under predictions/<model>/<day>/<replica>-<seq>.jsonl', async () => {
    const sink = new MemorySink();
    const log = logger(sink, options);
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
    const log = logger(new MemorySink(), { ...options, batchSize: 100 });
    for (let i = 0; i < 8; i++) log.log(record(i));
    expect(log.stats()).toMatchObject({ queued: 5, dropped: 3 });
  });

  it('bounds the queue by the values it holds, so a few huge requests cannot exhaust memory', () => {
    const log = logger(new MemorySink(), { ...options, batchSize: 100, maxQueuedValues: 10 });
    expect(log.log(record(1))).toBe(true); // 1 + 2 + 2 + 1 values
    expect(log.log(record(2))).toBe(false);
    expect(log.stats()).toMatchObject({ queued: 1, dropped: 1 });
  });

  it('writes large batches as several objects of about 2 MiB', async () => {
    const sink = new MemorySink();
    const log = logger(sink, { ...options, batchSize: 100, maxQueue: 100 });
    const big = (i: number): PredictionRecord => ({ ...record(i), inputs: { temp: new Float32Array(300_000).fill(1.25) } });
    for (let i = 0; i < 3; i++) log.log(big(i));
    await log.flush();
    expect(sink.objects.size).toBe(2); // two records of ~1.5 MB pass 2 MiB; the third starts a new object
    expect([...sink.objects.values()].map((o) => o.trim().split('\n').length)).toEqual([2, 1]);
    expect(log.stats()).toMatchObject({ written: 3, objects: 2 });
  });

  it('keeps a failed object, under the same key, for the next attempt', async () => {
    const sink = new MemorySink();
    const errors: string[] = [];
    const log = logger(sink, { ...options, batchSize: 100 }, (e) => errors.push(e.message));
    log.log(record(1));
    log.log(record(2));
    sink.fail = true;
    await log.flush();
    expect(log.stats()).toMatchObject({ queued: 2, failedUploads: 1, written: 0 });
    expect(errors).toEqual(['storage down']);
    sink.fail = false;
    log.log(record(3));
    await log.close();
    expect(log.stats()).toMatchObject({ queued: 0, written: 3, objects: 2 });
    // The retry wrote the first object under the key its failed attempt had; the next record went to a new one.
    expect([...sink.objects.keys()]).toEqual(['predictions/m/2026-11-23/host-1_pod_7-00000001.jsonl', 'predictions/m/2026-11-23/host-1_pod_7-00000002.jsonl']);
    expect(sink.objects.get('predictions/m/2026-11-23/host-1_pod_7-00000001.jsonl')!.trim().split('\n')).toHaveLength(2);
    expect(log.log(record(4))).toBe(false); // closed
  });

  it('drops and counts a record logged while close() writes the rest', async () => {
    const sink = new MemorySink();
    const log = logger(sink, options);
    log.log(record(1));
    const closing = log.close();
    expect(log.log(record(2))).toBe(false);
    await closing;
    expect(log.stats()).toEqual({ queued: 0, dropped: 1, written: 1, objects: 1, failedUploads: 0 });
  });

  it('writes by itself once a batch is full, without a flush', async () => {
    const sink = new MemorySink();
    const log = logger(sink, options);
    for (let i = 0; i < 3; i++) log.log(record(i));
    await until(() => sink.objects.size === 1);
    expect(log.stats()).toMatchObject({ queued: 0, written: 3 });
  });

  it('writes on the flush interval', async () => {
    const sink = new MemorySink();
    const log = logger(sink, { ...options, batchSize: 100, flushIntervalMs: 50 });
    log.start();
    log.log(record(1));
    await until(() => sink.objects.size === 1);
    expect(log.stats()).toMatchObject({ queued: 0, written: 1 });
  });

  it('copies views of a batch down to their own rows, so only the request values are logged', async () => {
    const sink = new MemorySink();
    const log = logger(sink, options);
    const batchOutput = Float32Array.of(0.1, 0.9, 0.25, 0.75, 0.5, 0.5);
    log.log({ ...record(1), outputs: { probabilities: batchOutput.subarray(2, 4) } });
    await log.flush();
    const line = JSON.parse([...sink.objects.values()][0].trim());
    expect(line.outputs).toEqual({ probabilities: [0.25, 0.75] });
  });

  it('counts what a dead thread held as dropped and carries on with a new thread', async () => {
    const sink = new MemorySink();
    const errors: string[] = [];
    const log = logger(sink, { ...options, batchSize: 100 }, (e) => errors.push(e.message));
    log.log(record(1));
    log.log(record(2));
    await log.flush(); // the first thread is running and has written both
    log.log(record(3));
    // Hand record 3 over, then stop the thread before it seals anything: what it held is lost.
    (log as unknown as { handOff(): void }).handOff();
    await (log as unknown as { thread: { terminate(): Promise<number> } }).thread.terminate();
    await until(() => log.stats().dropped === 1);
    expect(log.stats()).toMatchObject({ queued: 0, dropped: 1, written: 2 });
    log.log(record(4));
    await log.flush();
    expect(log.stats()).toMatchObject({ queued: 0, dropped: 1, written: 3 });
    expect([...sink.objects.values()].join('')).toContain('"requestId":"r4"');
  });

  it('samples at the configured rate', () => {
    let r = 0;
    const log = logger(new MemorySink(), { ...options, sampleRate: 0.25, random: () => (r = (r + 0.1) % 1) });
    const sampled = Array.from({ length: 100 }, () => log.sampled()).filter(Boolean).length;
    expect(sampled).toBeGreaterThan(15);
    expect(sampled).toBeLessThan(35);
    expect(logger(new MemorySink(), { ...options, sampleRate: 0 }).sampled()).toBe(false);
  });

  it('serializes typed arrays as JSON arrays and keeps keys safe', () => {
    expect(serializeRecord(record(4))).toContain('"temp":[4,null]');
    expect(safeKeyPart('a b/c:d')).toBe('a_b_c_d');
  });
});

describe('RecordPacker (the hand-off to the log thread)', () => {
  it('unpacks to records that serialize exactly as the originals, whatever their shape', () => {
    const batch = Float32Array.of(0.1, 0.9, 0.25, 0.75);
    const wide = new Float32Array(1100).map((_, i) => i % 7); // past the packer's first buffer
    const { ts, requestId, model, ...rest } = record(2);
    const originals: PredictionRecord[] = [
      record(1),
      // fields in the order replica.complete writes them
      { ts, requestId, model, modelId: 'id-2', ...rest, outputs: { probabilities: batch.subarray(2, 4), label: ['rain'] } },
      { ...record(3), inputs: { x: wide }, rows: 1100 },
      // a request refused before a version was chosen: no version, rows, inputs or outputs
      { ts: '2026-11-23T10:00:01.000Z', requestId: 'r4', model: 'm', modelId: 'id', endpoint: 'v1', routed: true, status: 404, latencyMs: 0.2, error: "model 'm' has no champion" },
      { ...record(5), status: 400, outputs: undefined, error: 'bad input' },
    ];
    const packer = new RecordPacker();
    for (const r of originals) packer.add(r);
    expect(packer.size).toBe(originals.length);
    const packed = packer.take();
    expect(packer.size).toBe(0);
    // what crosses to the thread: primitives, one string array and one number buffer holding only the logged values
    expect(packed.numbers.length).toBe(2 + (2 + 2) + 1100 + 2);
    // strings the records repeat (model, endpoint, column names) cross once; per record only its time and request ID
    expect(new Set(packed.names).size).toBe(packed.names.length);
    expect(packed.names.filter((n) => n === 'm' || n === 'temp' || n === 'v2')).toHaveLength(3);
    for (const meta of packed.meta) expect(meta.filter((field) => typeof field === 'string')).toHaveLength(2);
    const unpacked = unpackRecords(structuredClone(packed));
    expect(unpacked.map(serializeRecord)).toEqual(originals.map(serializeRecord));
    expect(JSON.parse(serializeRecord(unpacked[1])).outputs).toEqual({ probabilities: [0.25, 0.75], label: ['rain'] });
    // the packer starts again empty, also after a request larger than it keeps room for
    packer.add({ ...record(6), inputs: { x: new Float32Array(70_000).fill(0.5) }, rows: 70_000 });
    expect(unpackRecords(packer.take())[0].inputs!.x).toHaveLength(70_000);
    packer.add(record(7));
    expect(unpackRecords(packer.take()).map(serializeRecord)).toEqual([serializeRecord(record(7))]);
  });
});
