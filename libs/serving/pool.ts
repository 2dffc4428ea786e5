/**
 * A pool of worker_threads that run onnxruntime sessions, so inference never blocks the API's event loop (health
 * probes, metrics and other requests stay fast while every core is busy predicting). Every thread loads every
 * served model version; a request goes to the least busy thread, through the batching queue (batch-queue.ts).
 * A thread that dies is replaced and its sessions reloaded; the requests it held fail with PoolWorkerError.
 *
 * Threads start through libs/core/threads.ts, from compiled output and TypeScript sources alike.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleThread } from '../core/threads';
import type { BatchPolicy, QueuedJob, RawOutput } from './batch-queue';
import { BatchQueue, concatColumns, splitOutputs } from './batch-queue';
import type { PoolReply, PoolRequest } from './pool-protocol';
import type { SessionValueInfo } from './signature';

export type Columns = Record<string, Float32Array | string[]>;

export interface PoolOptions extends BatchPolicy {
  /** number of threads */
  size: number;
  /** batches a thread may hold at once (1 keeps batches largest; 2 hides the message round trip) */
  inflightPerWorker?: number;
  /** nice value of the inference threads (Linux): above 0 lets the event-loop thread go first when cores are scarce */
  threadNice?: number;
  onBatch?: (info: { key: string; rows: number; requests: number; runMs: number; priority: 'live' | 'shadow' }) => void;
  onWorkerExit?: (info: { index: number; code: number; error?: string }) => void;
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

export class InferencePool {
  private readonly queue: BatchQueue<Job>;
  private readonly slots: Slot[] = [];
  /** model bytes by key, kept to reload a respawned thread */
  private readonly models = new Map<string, Uint8Array>();
  private nextId = 1;
  private waitTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private started = false;
  private readonly inflightPerWorker: number;

  constructor(private readonly options: PoolOptions) {
    if (!(options.size >= 1)) throw new Error('the inference pool needs at least one thread');
    this.queue = new BatchQueue<Job>(options);
    this.inflightPerWorker = Math.max(1, options.inflightPerWorker ?? 1);
  }

  /** Threads start with the first model, so a process that serves nothing pays nothing. */
  private ensureStarted(): void {
    if (this.started || this.closed) return;
    this.started = true;
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawn(i, true));
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
      for (const [key, bytes] of this.models) {
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
    if (reply.t === 'result') {
      try {
        const parts = splitOutputs(reply.outputs, jobs.map((j) => j.rows));
        this.options.onBatch?.({ key: p.key, rows: jobs.reduce((s, j) => s + j.rows, 0), requests: jobs.length, runMs: reply.runMs, priority: p.priority });
        jobs.forEach((j, i) => j.resolve(parts[i]));
      } catch (err) {
        for (const j of jobs) j.reject(err as Error);
      }
    } else if (reply.t === 'error') {
      if (jobs.length > 1) {
        // One request's values can fail a whole batch; run each alone so only that one fails.
        for (const j of jobs) this.dispatch(slot, j.key, [j], j.priority);
      } else jobs[0].reject(new Error(`inference failed: ${reply.message}`));
    }
    this.pump();
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
    this.models.set(key, bytes);
    const first = replies[0] as Extract<PoolReply, { t: 'loaded' }>;
    return { inputs: first.inputs, outputs: first.outputs };
  }

  /** Unloads a version from every thread; requests for it still queued fail with ModelNotLoadedError. */
  async unload(key: string): Promise<void> {
    this.models.delete(key);
    for (const j of this.queue.drain(key)) j.reject(new ModelNotLoadedError(key));
    await Promise.all(this.slots.map((slot) => this.control(slot, { t: 'unload', id: 0, key })));
  }

  isLoaded(key: string): boolean {
    return this.models.has(key);
  }

  /**
   * Runs `rows` rows of `columns` on version `key`. Live requests beyond the queue limit are refused with
   * PoolOverloadedError; shadow requests beyond theirs resolve to null (dropped).
   */
  run(key: string, columns: Columns, rows: number, fetches: string[], priority: 'live' | 'shadow' = 'live'): Promise<Record<string, RawOutput>> {
    if (!this.models.has(key)) return Promise.reject(new ModelNotLoadedError(key));
    return new Promise((resolve, reject) => {
      const job: Job = { key, rows, columns, fetches, enqueuedAt: performance.now(), priority, resolve, reject };
      if (!this.queue.push(job)) {
        reject(new PoolOverloadedError(priority === 'live' ? this.queue.depth.live : this.queue.depth.shadow));
        return;
      }
      this.pump();
    });
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
  stats(): { threads: number; busy: number; queuedLive: number; queuedShadow: number; loaded: number } {
    const depth = this.queue.depth;
    return {
      threads: this.slots.length,
      busy: this.slots.filter((s) => s.inflight > 0).length,
      queuedLive: depth.live,
      queuedShadow: depth.shadow,
      loaded: this.models.size,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.waitTimer);
    const err = new PoolWorkerError('the inference pool is shutting down');
    for (const j of this.queue.clear()) j.reject(err);
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
