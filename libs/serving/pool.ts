/**
 * Where inference runs: a pool of worker_threads with onnxruntime sessions, so a long session.run never blocks the
 * API's event loop (health probes, metrics and other requests stay fast while every core is busy predicting).
 * Every thread loads every served model version; a request goes to the least busy thread, through the batching
 * queue (batch-queue.ts). A thread that dies is replaced and its sessions reloaded; the requests it held fail with
 * PoolWorkerError.
 *
 * Cheap batches run on the event loop instead (`inlineBudgetMs`). For a small model the hand-off to a thread and
 * back costs several times the session.run itself, and an idle thread's wake-up adds its latency to every request.
 * So each version's run cost is measured (run-cost.ts) and, once a version is known to run a row well within the
 * budget, it gets a session on the event loop too. Live requests for it then gather in a queue that is run once per
 * loop turn, as one batch of everything that arrived meanwhile: at most one budget of blocking per turn, whatever
 * the load. What does not fit the budget goes to the threads, as do shadow mirrors, and so do cheap batches while
 * the event loop is saturated and the process has cores to spare (loop-load.ts). With `inlineBudgetMs` 0 every
 * batch runs on a thread.
 *
 * Threads start through libs/core/threads.ts, from compiled output and TypeScript sources alike.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleThread } from '../core/threads';
import { createSyncOnnxSession } from '../ml/onnx/runner';
import type { SyncSession } from '../ml/onnx/ort';
import type { BatchPolicy, QueuedJob, RawOutput } from './batch-queue';
import { BatchQueue, concatColumns, splitOutputs } from './batch-queue';
import { BusyPoll } from './busy-poll';
import { LoopLoad } from './loop-load';
import type { PoolReply, PoolRequest } from './pool-protocol';
import { RunCostModel } from './run-cost';
import { feedsOf, outputsOf } from './session-io';
import type { SessionValueInfo } from './signature';

export type Columns = Record<string, Float32Array | string[]>;

export interface PoolOptions extends BatchPolicy {
  /** number of threads */
  size: number;
  /** batches a thread may hold at once (1 keeps batches largest; 2 hides the message round trip) */
  inflightPerWorker?: number;
  /** nice value of the inference threads (Linux): above 0 lets the event-loop thread go first when cores are scarce */
  threadNice?: number;
  /**
   * live batches expected to spend at most this long in session.run (ms) run on the event loop; 0 (the default)
   * runs every batch on a thread
   */
  inlineBudgetMs?: number;
  /** cores this process may use (its share of the machine): cheap batches go to threads only while some are spare */
  coreShare?: number;
  /** busy-poll window after each answer (ms, busy-poll.ts); 0 (the default) never busy-polls */
  busyPollMs?: number;
  /** where the load figures come from (default: this process's, sampled every 100 ms) */
  loopLoad?: Pick<LoopLoad, 'start' | 'stop' | 'sample'>;
  onBatch?: (info: BatchInfo) => void;
  onWorkerExit?: (info: { index: number; code: number; error?: string }) => void;
}

export type Executor = 'event_loop' | 'thread';

export interface BatchInfo {
  key: string;
  rows: number;
  requests: number;
  runMs: number;
  priority: 'live' | 'shadow';
  executor: Executor;
}

/**
 * A version whose session took a thread longer than this to create never gets one on the event loop, where creating
 * it would stall every request that long, once. (The seattle-weather gbdt, 0.9 MB, takes 25-50 ms.)
 */
const MAX_INLINE_LOAD_MS = 100;
/** Runs of a version measured before it may go on the event loop. */
const MIN_COST_SAMPLES = 8;
/** The event loop counts as saturated above this busy share; threads then take cheap batches if cores are spare. */
const LOOP_SATURATED = 0.85;
/** Cores left unused (of the process's share) for the threads to count as having room. */
const SPARE_CORES = 0.5;

/** A loaded model version. */
interface Version {
  /** the model file, kept to reload a respawned thread and to create the event-loop session */
  bytes: Uint8Array;
  /** how long a thread took to create its session */
  loadMs: number;
  cost: RunCostModel;
  /** the fewest rows of any run seen: a version whose requests are all large never needs the event loop */
  smallestRun: number;
  /** the event-loop session; synchronous, so a batch runs within the drain's callback and none is left running */
  inline?: SyncSession;
  /** creating the event-loop session failed (then the version stays on threads); timing another thread load */
  inlineState?: 'failed' | 'timing';
  /** thread loads timed again after the first was too slow */
  loadRetimes: number;
}

export class PoolOverloadedError extends Error {
  constructor(readonly queued: number) {
    super(`the inference queue is full (${queued} requests waiting); retry shortly`);
    this.name = 'PoolOverloadedError';
  }
}

export class PoolWorkerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PoolWorkerError';
  }
}

export class ModelNotLoadedError extends Error {
  constructor(readonly key: string) {
    super(`model ${key} is not loaded`);
    this.name = 'ModelNotLoadedError';
  }
}

interface Job extends QueuedJob {
  columns: Columns;
  fetches: string[];
  resolve: (outputs: Record<string, RawOutput>) => void;
  reject: (err: Error) => void;
}

interface Slot {
  index: number;
  worker: Worker;
  /** run batches in flight */
  inflight: number;
  /** false until the thread has loaded every model (after a respawn) */
  ready: boolean;
  pending: Map<number, { kind: 'run'; jobs: Job[]; key: string; priority: 'live' | 'shadow' } | { kind: 'control'; resolve: (r: PoolReply) => void }>;
}

function spawnThread(nice: number): Worker {
  return spawnModuleThread({ dirname: __dirname, filename: __filename }, 'pool-worker', { nice });
}

/** "1 inference thread", "2 inference threads": for log lines. */
export function inferenceThreads(count: number): string {
  return `${count} inference thread${count === 1 ? '' : 's'}`;
}

export class InferencePool {
  private readonly queue: BatchQueue<Job>;
  private readonly slots: Slot[] = [];
  private readonly versions = new Map<string, Version>();
  private nextId = 1;
  private waitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private readonly inflightPerWorker: number;
  /** live requests for versions that run on the event loop, taken once per loop turn (drainInline) */
  private readonly inlineQueue: BatchQueue<Job>;
  private inlineScheduled = false;
  private readonly inlineBudgetMs: number;
  private readonly loopLoad: Pick<LoopLoad, 'start' | 'stop' | 'sample'>;
  /** the event loop's busy polling between answers and requests (the replica reports both to it) */
  readonly busyPoll: BusyPoll;

  constructor(private readonly options: PoolOptions) {
    if (!(options.size >= 1)) throw new Error('the inference pool needs at least one thread');
    this.queue = new BatchQueue<Job>(options);
    // What waited during one loop turn is one batch: there is no thread to wait for, so never hold a batch back.
    this.inlineQueue = new BatchQueue<Job>({ ...options, maxWaitMs: 0 });
    this.inflightPerWorker = Math.max(1, options.inflightPerWorker ?? 1);
    this.inlineBudgetMs = Math.max(0, options.inlineBudgetMs ?? 0);
    this.busyPoll = new BusyPoll(Math.max(0, options.busyPollMs ?? 0));
    this.loopLoad = options.loopLoad ?? new LoopLoad(100, this.busyPoll);
  }

  /** Threads start with the first model, so a process that serves nothing pays nothing. */
  private ensureStarted(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn(i, true));
    if (this.inlineBudgetMs > 0) this.loopLoad.start();
  }

  private spawn(index: number, ready: boolean): Slot {
    const slot: Slot = { index, worker: spawnThread(this.options.threadNice ?? 0), inflight: 0, ready, pending: new Map() };
    slot.worker.on('message', (reply: PoolReply) => this.onReply(slot, reply));
    slot.worker.on('error', (err) => this.onExit(slot, 1, err.message));
    slot.worker.on('exit', (code) => this.onExit(slot, code));
    // An idle pool must not keep the process alive; a thread holding work must (see track()).
    slot.worker.unref();
    return slot;
  }

  private onExit(slot: Slot, code: number, error?: string): void {
    if (this.slots[slot.index] !== slot) return; // already replaced ('error' is followed by 'exit')
    const failure = new PoolWorkerError(`an inference thread stopped (${error ?? `exit code ${code}`}) while running this request`);
    for (const p of slot.pending.values()) {
      if (p.kind === 'run') for (const j of p.jobs) j.reject(failure);
      else p.resolve({ t: 'error', id: 0, message: failure.message });
    }
    slot.pending.clear();
    if (this.closed) return;
    this.options.onWorkerExit?.({ index: slot.index, code, error });
    const replacement = this.spawn(slot.index, false);
    this.slots[slot.index] = replacement;
    void (async () => {
      for (const [key, { bytes }] of this.versions) {
        const reply = await this.control(replacement, { t: 'load', id: 0, key, bytes: bytes.slice() });
        if (reply.t === 'error' && this.slots[slot.index] === replacement) this.options.onWorkerExit?.({ index: slot.index, code: -1, error: `reloading ${key}: ${reply.message}` });
      }
      replacement.ready = true;
      this.pump();
    })();
  }

  /** Keeps the process alive exactly while a thread holds work. */
  private track(slot: Slot): void {
    if (slot.pending.size === 1) slot.worker.ref();
    else if (slot.pending.size === 0) slot.worker.unref();
  }

  private control(slot: Slot, msg: PoolRequest): Promise<PoolReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      slot.pending.set(id, { kind: 'control', resolve });
      this.track(slot);
      // Each thread gets its own copy of the model bytes (a transfer would hand one buffer to one thread only).
      slot.worker.postMessage({ ...msg, id });
    });
  }

  private onReply(slot: Slot, reply: PoolReply): void {
    const p = slot.pending.get(reply.id);
    if (!p) return;
    slot.pending.delete(reply.id);
    this.track(slot);
    if (p.kind === 'control') {
      p.resolve(reply);
      return;
    }
    slot.inflight--;
    const { jobs } = p;
    if (reply.t === 'result') this.settle(p.key, jobs, reply.outputs, reply.runMs, 'thread');
    else if (reply.t === 'error') {
      if (jobs.length > 1) {
        // One request's values can fail a whole batch; run each alone so only that one fails.
        for (const j of jobs) this.dispatch(slot, j.key, [j], j.priority);
      } else jobs[0].reject(new Error(`inference failed: ${reply.message}`));
    }
    this.pump();
  }

  /**
   * Hands each request its rows of a batch's outputs, and learns from the run's time. The batch is reported
   * (onBatch: metrics) after the answers: resolving runs each request on to its response, which the microtasks
   * queued so far write, so the report is queued behind them.
   */
  private settle(key: string, jobs: Job[], outputs: Record<string, RawOutput>, runMs: number, executor: Executor): void {
    const rows = jobs.reduce((s, j) => s + j.rows, 0);
    const version = this.versions.get(key);
    if (version) {
      version.cost.observe(rows, runMs);
      version.smallestRun = Math.min(version.smallestRun, rows);
      this.considerInline(key, version);
    }
    let parts: Record<string, RawOutput>[];
    try {
      parts = splitOutputs(outputs, jobs.map((j) => j.rows));
    } catch (err) {
      for (const j of jobs) j.reject(err as Error);
      return;
    }
    for (let i = 0; i < jobs.length; i++) jobs[i].resolve(parts[i]);
    const onBatch = this.options.onBatch;
    if (onBatch) queueMicrotask(() => onBatch({ key, rows, requests: jobs.length, runMs, priority: jobs[0].priority, executor }));
  }

  /**
   * Gives a version a session on the event loop once runs like those it gets are known to be cheap: the smallest it
   * has run, within half the budget. Creating the session blocks the loop (onnxruntime-node loads synchronously),
   * so only versions whose thread loaded them quickly qualify.
   */
  private considerInline(key: string, version: Version): void {
    if (this.inlineBudgetMs <= 0 || version.inline || version.inlineState || this.closed) return;
    if (version.cost.samples < MIN_COST_SAMPLES || version.cost.predict(version.smallestRun) > this.inlineBudgetMs / 2) return;
    if (version.loadMs > MAX_INLINE_LOAD_MS) {
      // Loads that ran beside others (every thread at once, at start-up) can look slow: time a few more, one at a time.
      if (version.loadRetimes < 3 && version.loadMs < 4 * MAX_INLINE_LOAD_MS) void this.retimeLoad(key, version);
      return;
    }
    try {
      version.inline = createSyncOnnxSession(version.bytes, { intraOpNumThreads: 1 });
    } catch {
      version.inlineState = 'failed';
    }
  }

  /** Times one more session creation of `version` on a thread (a throwaway session), keeping the fastest time. */
  private async retimeLoad(key: string, version: Version): Promise<void> {
    const slot = this.slots.find((s) => s.ready);
    if (!slot) return;
    version.inlineState = 'timing';
    version.loadRetimes++;
    const probeKey = `${key}#load-timing`;
    const reply = await this.control(slot, { t: 'load', id: 0, key: probeKey, bytes: version.bytes.slice() });
    await this.control(slot, { t: 'unload', id: 0, key: probeKey });
    if (reply.t === 'loaded') version.loadMs = Math.min(version.loadMs, reply.loadMs);
    if (version.inlineState === 'timing') version.inlineState = undefined;
  }

  /** Loads a model version into every thread; resolves with the session's inputs and outputs. */
  async load(key: string, bytes: Uint8Array): Promise<{ inputs: SessionValueInfo[]; outputs: SessionValueInfo[] }> {
    if (this.closed) throw new Error('the inference pool is closed');
    this.ensureStarted();
    const replies = await Promise.all(this.slots.map((slot) => this.control(slot, { t: 'load', id: 0, key, bytes: bytes.slice() })));
    const failed = replies.find((r) => r.t === 'error');
    if (failed && failed.t === 'error') {
      await this.unload(key);
      throw new Error(failed.message);
    }
    const loaded = replies as Extract<PoolReply, { t: 'loaded' }>[];
    this.versions.set(key, { bytes, loadMs: Math.min(...loaded.map((r) => r.loadMs)), cost: new RunCostModel(), smallestRun: Infinity, loadRetimes: 0 });
    const first = loaded[0];
    return { inputs: first.inputs, outputs: first.outputs };
  }

  /** Unloads a version from every thread; requests for it still queued fail with ModelNotLoadedError. */
  async unload(key: string): Promise<void> {
    const version = this.versions.get(key);
    this.versions.delete(key);
    version?.inline?.release();
    for (const j of [...this.queue.drain(key), ...this.inlineQueue.drain(key)]) j.reject(new ModelNotLoadedError(key));
    await Promise.all(this.slots.map((slot) => this.control(slot, { t: 'unload', id: 0, key })));
  }

  isLoaded(key: string): boolean {
    return this.versions.has(key);
  }

  /** Where live batches of a version run now: on the event loop once it has a session there. */
  executorOf(key: string): Executor | undefined {
    const version = this.versions.get(key);
    return version ? (version.inline ? 'event_loop' : 'thread') : undefined;
  }

  /**
   * Runs `rows` rows of `columns` on version `key`. Live requests beyond the queue limit are refused with
   * PoolOverloadedError; shadow requests beyond theirs resolve to null (dropped).
   */
  run(key: string, columns: Columns, rows: number, fetches: string[], priority: 'live' | 'shadow' = 'live'): Promise<Record<string, RawOutput>> {
    return new Promise((resolve, reject) => this.submit(key, columns, rows, fetches, priority, resolve, reject));
  }

  /**
   * run() with callbacks, for the request path, where each promise between the socket and the answer costs time
   * (with AsyncLocalStorage in use, every promise also runs an async hook). `reject` may be called synchronously.
   * Neither callback may throw: they run inside the pool's own dispatch, with other requests' answers after them.
   */
  submit(
    key: string,
    columns: Columns,
    rows: number,
    fetches: string[],
    priority: 'live' | 'shadow',
    resolve: (outputs: Record<string, RawOutput>) => void,
    reject: (err: Error) => void,
  ): void {
    const version = this.versions.get(key);
    if (!version) {
      reject(new ModelNotLoadedError(key));
      return;
    }
    const job: Job = { key, rows, columns, fetches, enqueuedAt: performance.now(), priority, resolve, reject };
    if (version.inline && priority === 'live') {
      if (!this.inlineQueue.push(job)) {
        reject(new PoolOverloadedError(this.inlineQueue.depth.live));
        return;
      }
      if (!this.inlineScheduled) {
        this.inlineScheduled = true;
        // after the poll phase: every request that arrived in this loop turn is queued by then
        setImmediate(this.drainInline);
      }
      return;
    }
    if (!this.queue.push(job)) {
      reject(new PoolOverloadedError(priority === 'live' ? this.queue.depth.live : this.queue.depth.shadow));
      return;
    }
    this.pump();
  }

  /**
   * One loop turn's share of event-loop inference: batches of what waits, each within the budget, until the budget
   * is spent; the rest goes to the threads. So a turn blocks for about one budget at most, however much arrived.
   */
  private readonly drainInline = (): void => {
    this.inlineScheduled = false;
    if (this.closed) return;
    const budget = this.inlineBudgetMs;
    // A lone request is latency-bound: a thread would add its hand-off to the answer and free the loop for no one.
    const toThreads = this.inlineQueue.depth.live > 1 && this.threadsHaveRoom();
    let spent = 0;
    const rowCap = (key: string) => Math.max(1, this.versions.get(key)?.cost.rowsWithin(budget) ?? 1);
    for (;;) {
      const next = this.inlineQueue.take(performance.now(), rowCap);
      if (!next || 'waitMs' in next) break;
      const version = this.versions.get(next.key);
      const cost = version ? version.cost.predict(next.jobs.reduce((s, j) => s + j.rows, 0)) : Infinity;
      if (version?.inline && !toThreads && spent + cost <= budget) {
        spent += cost;
        this.runInline(next.key, version.inline, next.jobs);
      } else {
        for (const job of next.jobs) {
          if (!this.queue.push(job)) job.reject(new PoolOverloadedError(this.queue.depth.live));
        }
      }
    }
    this.pump();
  };

  /**
   * The event loop is the bottleneck and the process has cores it is not using: let a thread run the batch. (Wall
   * time in callbacks also grows when the machine steals the CPU, which is why a lone request never counts.)
   */
  private threadsHaveRoom(): boolean {
    const { loopBusy, cores } = this.loopLoad.sample;
    const share = this.options.coreShare ?? this.options.size + 1;
    return loopBusy >= LOOP_SATURATED && share - cores >= SPARE_CORES && this.freeSlot() !== undefined;
  }

  private runInline(key: string, inline: SyncSession, jobs: Job[]): void {
    const columns = concatColumns(
      jobs.map((j) => j.columns),
      Object.keys(jobs[0].columns),
    );
    const rows = jobs.reduce((s, j) => s + j.rows, 0);
    const fetches = jobs[0].fetches;
    let outputs: Record<string, RawOutput>;
    const startedAt = performance.now();
    try {
      outputs = outputsOf(inline.run(feedsOf(columns, rows), fetches), fetches, false);
    } catch (err) {
      // One request's values can fail a whole batch; run each alone so only that one fails.
      if (jobs.length > 1) for (const job of jobs) this.runInline(key, inline, [job]);
      else jobs[0].reject(new Error(`inference failed: ${(err as Error).message}`));
      return;
    }
    this.settle(key, jobs, outputs, performance.now() - startedAt, 'event_loop');
  }

  private freeSlot(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.ready && s.inflight < this.inflightPerWorker && (!best || s.inflight < best.inflight)) best = s;
    }
    return best;
  }

  private pump(): void {
    for (;;) {
      const slot = this.freeSlot();
      if (!slot) return;
      const next = this.queue.take(performance.now());
      if (!next) return;
      if ('waitMs' in next) {
        if (!this.waitTimer) {
          this.waitTimer = setTimeout(() => {
            this.waitTimer = undefined;
            this.pump();
          }, Math.max(1, Math.ceil(next.waitMs)));
        }
        return;
      }
      this.dispatch(slot, next.key, next.jobs, next.jobs[0].priority);
    }
  }

  private dispatch(slot: Slot, key: string, jobs: Job[], priority: 'live' | 'shadow'): void {
    const id = this.nextId++;
    const names = Object.keys(jobs[0].columns);
    const columns = concatColumns(
      jobs.map((j) => j.columns),
      names,
    );
    const rows = jobs.reduce((s, j) => s + j.rows, 0);
    slot.inflight++;
    slot.pending.set(id, { kind: 'run', jobs, key, priority });
    this.track(slot);
    // Merged columns are ours to give away; a lone request's columns are still read afterwards (prediction log).
    const transfer = jobs.length > 1 ? Object.values(columns).filter((c): c is Float32Array => !Array.isArray(c)).map((c) => c.buffer as ArrayBuffer) : [];
    const msg: PoolRequest = { t: 'run', id, key, rows, columns, fetches: jobs[0].fetches };
    slot.worker.postMessage(msg, transfer);
  }

  /** Threads, how many hold work, and what waits: for /metrics and the saturation test. */
  stats(): { threads: number; busy: number; queuedLive: number; queuedShadow: number; loaded: number; onEventLoop: number } {
    const depth = this.queue.depth;
    return {
      threads: this.slots.length,
      busy: this.slots.filter((s) => s.inflight > 0).length,
      queuedLive: depth.live,
      queuedShadow: depth.shadow,
      loaded: this.versions.size,
      onEventLoop: [...this.versions.values()].filter((v) => v.inline).length,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.waitTimer);
    this.loopLoad.stop();
    const err = new PoolWorkerError('the inference pool is shutting down');
    for (const j of [...this.queue.clear(), ...this.inlineQueue.clear()]) j.reject(err);
    for (const version of this.versions.values()) {
      version.inline?.release();
      version.inline = undefined;
    }
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    for (const s of this.slots) {
      for (const p of s.pending.values()) {
        if (p.kind === 'run') for (const j of p.jobs) j.reject(err);
        else p.resolve({ t: 'error', id: 0, message: err.message });
      }
      s.pending.clear();
    }
  }
}
