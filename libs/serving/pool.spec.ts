import type { TypedTable } from '../ml/data/types';
import { runOnnxModel } from '../ml/onnx';
import { getTrainer } from '../ml/trainers/registry';
import { InferencePool, inferenceThreads, ModelNotLoadedError, PoolOverloadedError } from './pool';
import type { BatchInfo } from './pool';

/** A small real model: logistic regression on two numeric features and a categorical one. */
async function trainTinyModel(): Promise<{ bytes: Uint8Array; table: TypedTable }> {
  const n = 200;
  const x1 = Float64Array.from({ length: n }, (_, i) => Math.sin(i));
  const x2 = Float64Array.from({ length: n }, (_, i) => Math.cos(i * 0.7));
  const city = Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 'a' : i % 3 === 1 ? 'b' : null));
  const y = Array.from({ length: n }, (_, i) => (x1[i] + 0.5 * x2[i] + (city[i] === 'a' ? 0.3 : 0) > 0 ? 'yes' : 'no'));
  const table: TypedTable = {
    schema: { columns: [] },
    rowCount: n,
    numeric: { x1, x2 },
    categorical: { city, y },
  };
  const all = Uint32Array.from({ length: n }, (_, i) => i);
  const model = await getTrainer('logistic_regression').train({
    table,
    features: [
      { name: 'x1', kind: 'numeric' },
      { name: 'x2', kind: 'numeric' },
      { name: 'city', kind: 'categorical' },
    ],
    target: 'y',
    task: 'binary_classification',
    trainRows: all,
    validRows: new Uint32Array(0),
    params: {},
    seed: 1,
  });
  return { bytes: model.onnx, table };
}

const FEATURES = [
  { name: 'x1', kind: 'numeric' as const },
  { name: 'x2', kind: 'numeric' as const },
  { name: 'city', kind: 'categorical' as const },
];

function columnsFor(table: TypedTable, rows: number[]) {
  return {
    x1: Float32Array.from(rows, (r) => table.numeric.x1[r]),
    x2: Float32Array.from(rows, (r) => table.numeric.x2[r]),
    city: rows.map((r) => table.categorical.city[r] ?? ''),
  };
}

describe('InferencePool (real worker threads, real onnxruntime)', () => {
  let bytes: Uint8Array;
  let table: TypedTable;
  let pool: InferencePool;
  const batches: { rows: number; requests: number }[] = [];

  beforeAll(async () => {
    ({ bytes, table } = await trainTinyModel());
    pool = new InferencePool({
      size: 2,
      batching: true,
      maxBatchRows: 64,
      maxWaitMs: 0,
      maxQueued: 50,
      maxShadowQueued: 1,
      onBatch: (b) => batches.push(b),
    });
  }, 60_000);

  afterAll(async () => {
    await pool.close();
  });

  it('loads a model into every thread and reports its inputs and outputs', async () => {
    const io = await pool.load('m@1', bytes);
    expect(io.inputs.map((i) => [i.name, i.type])).toEqual([
      ['x1', 'float32'],
      ['x2', 'float32'],
      ['city', 'string'],
    ]);
    expect(io.outputs.map((o) => o.name)).toEqual(expect.arrayContaining(['label', 'probabilities']));
    expect(pool.stats()).toMatchObject({ threads: 2, loaded: 1 });
  }, 60_000);

  it('answers exactly what onnxruntime answers, for concurrent requests merged into batches', async () => {
    const expected = await runOnnxModel(bytes, table, Array.from({ length: 200 }, (_, i) => i), FEATURES);
    batches.length = 0;
    const requests = Array.from({ length: 40 }, (_, k) => [k * 5, k * 5 + 1, k * 5 + 2, k * 5 + 3, k * 5 + 4]);
    const answers = await Promise.all(requests.map((rows) => pool.run('m@1', columnsFor(table, rows), rows.length, ['label', 'probabilities'])));
    answers.forEach((out, k) => {
      const rows = requests[k];
      expect(out.label.dims).toEqual([5]);
      expect(out.label.data).toEqual(rows.map((r) => expected.labels![r]));
      expect(out.probabilities.dims).toEqual([5, 2]);
      expect(Array.from(out.probabilities.data as Float32Array)).toEqual(rows.flatMap((r) => [expected.probabilities![r * 2], expected.probabilities![r * 2 + 1]]));
    });
    // 40 requests at once on 2 threads: most wait, and waiting requests of one version share a session.run.
    await batchesReported();
    expect(batches.length).toBeLessThan(40);
    expect(Math.max(...batches.map((b) => b.requests))).toBeGreaterThan(1);
    expect(Math.max(...batches.map((b) => b.rows))).toBeLessThanOrEqual(64);
  });

  it('refuses work beyond the queue limit and for versions it does not hold', async () => {
    const burst = Array.from({ length: 120 }, (_, i) => pool.run('m@1', columnsFor(table, [i % 200]), 1, ['label']).then(() => 'ok', (e: Error) => e));
    const results = await Promise.all(burst);
    expect(results.filter((r) => r instanceof PoolOverloadedError).length).toBeGreaterThan(0);
    expect(results.filter((r) => r === 'ok').length).toBeGreaterThanOrEqual(50);
    await expect(pool.run('other@1', columnsFor(table, [0]), 1, ['label'])).rejects.toBeInstanceOf(ModelNotLoadedError);
  });

  it('replaces a thread that dies and reloads its models', async () => {
    const exits: number[] = [];
    const crashy = new InferencePool({ size: 1, batching: true, maxBatchRows: 64, maxWaitMs: 0, maxQueued: 10, maxShadowQueued: 1, onWorkerExit: (w) => exits.push(w.index) });
    try {
      await crashy.load('m@1', bytes);
      // Reach in to kill the thread as a native crash would.
      await (crashy as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0].worker.terminate();
      const deadline = Date.now() + 20_000;
      let out;
      while (!out && Date.now() < deadline) {
        out = await crashy.run('m@1', columnsFor(table, [1]), 1, ['label']).catch(() => undefined);
        if (!out) await new Promise((r) => setTimeout(r, 100));
      }
      expect(exits).toEqual([0]);
      expect(out?.label.dims).toEqual([1]);
    } finally {
      await crashy.close();
    }
  }, 60_000);

  it('unloads a version from every thread', async () => {
    await pool.unload('m@1');
    expect(pool.isLoaded('m@1')).toBe(false);
    await expect(pool.run('m@1', columnsFor(table, [0]), 1, ['label'])).rejects.toBeInstanceOf(ModelNotLoadedError);
  });
});

/** A batch is reported (onBatch) after its answers: once the answers' continuations have run. */
const batchesReported = () => new Promise((resolve) => setImmediate(resolve));

async function waitUntil(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('InferencePool with an event-loop budget (real onnxruntime on this thread and in a worker)', () => {
  let bytes: Uint8Array;
  let table: TypedTable;
  let pool: InferencePool;
  const batches: BatchInfo[] = [];
  // the load figures the pool decides by, set by each test (a saturated loop cannot be staged reliably)
  const load = { sample: { loopBusy: 0, cores: 0 }, start: () => undefined, stop: () => undefined };

  beforeAll(async () => {
    ({ bytes, table } = await trainTinyModel());
    pool = new InferencePool({
      size: 1,
      batching: true,
      maxBatchRows: 512,
      maxWaitMs: 0,
      maxQueued: 1000,
      maxShadowQueued: 10,
      // generous, so a loaded CI machine's slow runs still fit: the tiny model runs ~1 µs a row plus ~0.3 ms
      inlineBudgetMs: 25,
      coreShare: 4,
      loopLoad: load,
      onBatch: (b) => batches.push(b),
    });
    await pool.load('m@1', bytes);
  }, 60_000);

  afterAll(async () => {
    await pool.close();
  });

  // ~0.1-0.3 s: ten times the budget or more, however fast the machine (50,000 rows took 20-90 ms)
  const OVER_BUDGET_ROWS = 250_000;
  const run = async (rows: number[], priority: 'live' | 'shadow' = 'live') => {
    const out = await pool.run('m@1', columnsFor(table, rows), rows.length, ['label'], priority);
    await batchesReported();
    return out;
  };

  it('runs a version on a thread until its runs are measured cheap, then on the event loop, with the same answers', async () => {
    expect(pool.executorOf('m@1')).toBe('thread');
    // one at a time, in a few sizes: what a run costs, fixed and per row, is measured on the thread
    for (let i = 0; i < 12; i++) await run(Array.from({ length: 1 + (i % 4) * 5 }, (_, r) => r));
    expect(batches.slice(0, 8).every((b) => b.executor === 'thread')).toBe(true);
    await waitUntil('the version runs on the event loop', () => pool.executorOf('m@1') === 'event_loop');
    expect(pool.stats().onEventLoop).toBe(1);

    const expected = await runOnnxModel(bytes, table, Array.from({ length: 200 }, (_, i) => i), FEATURES);
    batches.length = 0;
    const requests = Array.from({ length: 20 }, (_, k) => [k * 3, k * 3 + 1, k * 3 + 2]);
    const answers = await Promise.all(requests.map((rows) => run(rows)));
    answers.forEach((out, k) => expect(out.label.data).toEqual(requests[k].map((r) => expected.labels![r])));
    // requests made in one loop turn share a session.run on the event loop
    expect(batches[0]).toMatchObject({ executor: 'event_loop' });
    expect(batches[0].requests).toBeGreaterThan(1);
    expect(batches.length).toBeLessThan(requests.length);
  });

  it('sends a batch expected to take longer than the budget to a thread', async () => {
    batches.length = 0;
    const rows = Array.from({ length: OVER_BUDGET_ROWS }, (_, i) => i % 200);
    const out = await run(rows);
    expect(out.label.dims).toEqual([OVER_BUDGET_ROWS]);
    expect(batches).toEqual([expect.objectContaining({ rows: OVER_BUDGET_ROWS, executor: 'thread' })]);
  });

  it('reports a batch (metrics) only after its answers have gone on, on the event loop and from a thread', async () => {
    for (const rows of [[4], Array.from({ length: OVER_BUDGET_ROWS }, (_, i) => i % 200)]) {
      batches.length = 0;
      let reportedBeforeAnswer = true;
      await pool.run('m@1', columnsFor(table, rows), rows.length, ['label']).then(() => {
        reportedBeforeAnswer = batches.length > 0;
      });
      expect(reportedBeforeAnswer).toBe(false);
      await batchesReported();
      expect(batches).toEqual([expect.objectContaining({ rows: rows.length, executor: rows.length === 1 ? 'event_loop' : 'thread' })]);
    }
  });

  it('mirrors shadow requests on a thread', async () => {
    batches.length = 0;
    await run([5], 'shadow');
    expect(batches).toEqual([expect.objectContaining({ priority: 'shadow', executor: 'thread' })]);
  });

  it('hands cheap batches to a thread while the loop is saturated and the process has cores to spare, not otherwise', async () => {
    try {
      load.sample = { loopBusy: 0.95, cores: 1 }; // 3 of its 4 cores unused
      batches.length = 0;
      await Promise.all([run([7]), run([8])]);
      expect(batches.map((b) => b.executor)).toEqual(['thread']);
      // a lone request stays: a thread would only add its hand-off to that one answer
      batches.length = 0;
      await run([7]);
      expect(batches.map((b) => b.executor)).toEqual(['event_loop']);
      load.sample = { loopBusy: 0.95, cores: 3.8 }; // every core it may use is busy: a thread would only queue
      batches.length = 0;
      await Promise.all([run([7]), run([8])]);
      expect(batches.map((b) => b.executor)).toEqual(['event_loop']);
    } finally {
      load.sample = { loopBusy: 0, cores: 0 };
    }
  });

  it('fails only the request whose columns do not fit, when it shares a batch with others', async () => {
    const bad = { ...columnsFor(table, [2]), x1: Float32Array.of(1, 2, 3) }; // one row, three values
    const results = await Promise.all([run([1]), pool.run('m@1', bad, 1, ['label']), run([3])].map((p) => p.then(() => 'ok', (e: Error) => e)));
    expect(results[0]).toBe('ok');
    expect(results[1]).toBeInstanceOf(Error);
    expect((results[1] as Error).message).toMatch(/^inference failed: /);
    expect(results[2]).toBe('ok');
  });

  it('keeps a version whose requests are all large on the threads (no event-loop session it would never use)', async () => {
    // 20,000 rows: ~30 ms a run, far over half of a 2 ms budget
    const big = new InferencePool({ size: 1, batching: true, maxBatchRows: 100_000, maxWaitMs: 0, maxQueued: 10, maxShadowQueued: 1, inlineBudgetMs: 2, loopLoad: load });
    try {
      await big.load('big@1', bytes);
      const rows = Array.from({ length: 20_000 }, (_, i) => i % 200);
      for (let i = 0; i < 12; i++) await big.run('big@1', columnsFor(table, rows), rows.length, ['label']);
      await new Promise((r) => setTimeout(r, 200)); // an event-loop session, had one been started, would be ready
      expect(big.executorOf('big@1')).toBe('thread');
    } finally {
      await big.close();
    }
  }, 60_000);

  it('unloads a version that runs on the event loop: what waits fails, later requests are refused', async () => {
    expect(pool.executorOf('m@1')).toBe('event_loop');
    const waiting = run([4]).then(
      () => 'answered',
      (err: Error) => err,
    );
    await pool.unload('m@1');
    expect(await waiting).toBeInstanceOf(ModelNotLoadedError);
    await expect(run([4])).rejects.toBeInstanceOf(ModelNotLoadedError);
    expect(pool.executorOf('m@1')).toBeUndefined();
    expect(pool.stats().onEventLoop).toBe(0);
  });
});

test('log lines count inference threads in good grammar', () => {
  expect(inferenceThreads(1)).toBe('1 inference thread');
  expect(inferenceThreads(2)).toBe('2 inference threads');
});
