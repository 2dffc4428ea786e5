/**
 * The prediction log: every (sampled) prediction's inputs, outputs, version, latency and status, written to object
 * storage as JSON Lines under `predictions/<model>/<yyyy-mm-dd>/<replica>-<seq>.jsonl` for drift monitoring and
 * audits. The request path only appends to a bounded in-memory queue (a full queue drops the record and counts
 * it, never slows the request); serialization and uploads happen in batches every `batchSize` records or
 * `flushIntervalMs`, and once more on shutdown — serialized a few milliseconds at a time, into objects of at most
 * 2 MiB, so that a flush never holds the event loop for long either.
 */

export interface PredictionRecord {
  /** ISO time the request arrived */
  ts: string;
  requestId: string;
  model: string;
  modelId?: string;
  version?: number;
  /** 'v2' (Open Inference Protocol) or 'v1' (records) */
  endpoint: 'v2' | 'v1';
  /** true when routing chose the version, false when the caller named it */
  routed: boolean;
  status: number;
  latencyMs: number;
  rows?: number;
  /** column name → values (Float32Array or strings; NaN and '' are missing values) */
  inputs?: Record<string, ArrayLike<number> | string[]>;
  /** output name → values, row-major */
  outputs?: Record<string, ArrayLike<number> | string[]>;
  error?: string;
}

export interface PredictionLogSink {
  put(key: string, body: Buffer): Promise<void>;
}

export interface PredictionLogOptions {
  replicaId: string;
  /** share of requests logged, 0..1 */
  sampleRate: number;
  batchSize: number;
  flushIntervalMs: number;
  maxQueue: number;
  /** values (inputs and outputs, all rows) the queue may hold, so a few huge requests cannot exhaust memory */
  maxQueuedValues?: number;
  random?: () => number;
}

export interface PredictionLogStats {
  queued: number;
  dropped: number;
  written: number;
  objects: number;
  failedUploads: number;
}

/** Replica ids name objects: keep them to characters that need no escaping in a key. */
export function safeKeyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

function plain(values: ArrayLike<number> | string[]): unknown[] {
  // Float32Array → numbers (JSON.stringify writes NaN as null, the protocol's missing value).
  return Array.isArray(values) ? values : Array.from(values as ArrayLike<number>);
}

export function serializeRecord(r: PredictionRecord): string {
  const convert = (cols?: Record<string, ArrayLike<number> | string[]>) => {
    if (!cols) return undefined;
    const out: Record<string, unknown[]> = {};
    for (const [k, v] of Object.entries(cols)) out[k] = plain(v);
    return out;
  };
  return JSON.stringify({ ...r, inputs: convert(r.inputs), outputs: convert(r.outputs) });
}

/** Serializing a batch is main-thread work: give the event loop a turn every few milliseconds of it. */
const SLICE_MS = 4;

/** Default bound on the values queued: ~10^7 numbers and strings, some hundreds of MB at most. */
const DEFAULT_MAX_QUEUED_VALUES = 10_000_000;

/** Largest object written (before the next record starts a new one). */
const MAX_OBJECT_BYTES = 2 * 1024 * 1024;

/** The weight of a record in the queue: how many values it carries. */
function valuesOf(r: PredictionRecord): number {
  let n = 1;
  for (const v of Object.values(r.inputs ?? {})) n += v.length;
  for (const v of Object.values(r.outputs ?? {})) n += v.length;
  return n;
}

export class PredictionLogger {
  private queue: PredictionRecord[] = [];
  private queuedValues = 0;
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private flushSoon = false;
  private closed = false;
  private readonly counters = { dropped: 0, written: 0, objects: 0, failedUploads: 0 };
  private readonly random: () => number;

  constructor(
    private readonly sink: PredictionLogSink,
    private readonly options: PredictionLogOptions,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.random = options.random ?? Math.random;
  }

  start(): void {
    if (this.timer || this.closed) return;
    this.timer = setInterval(() => void this.flush(), this.options.flushIntervalMs);
    this.timer.unref();
  }

  /** Whether to log this request (decided before building the record, so unsampled requests cost nothing). */
  sampled(): boolean {
    const rate = this.options.sampleRate;
    return rate >= 1 || (rate > 0 && this.random() < rate);
  }

  /** Appends a record; false when the queue is full and the record was dropped. */
  log(record: PredictionRecord): boolean {
    const values = valuesOf(record);
    if (this.closed || this.queue.length >= this.options.maxQueue || this.queuedValues + values > (this.options.maxQueuedValues ?? DEFAULT_MAX_QUEUED_VALUES)) {
      this.counters.dropped++;
      return false;
    }
    this.queue.push(record);
    this.queuedValues += values;
    if (this.queue.length >= this.options.batchSize && !this.flushSoon) {
      this.flushSoon = true;
      // Not in the request's own tick: serializing a batch is the logger's cost, not the caller's.
      setImmediate(() => {
        this.flushSoon = false;
        void this.flush();
      });
    }
    return true;
  }

  stats(): PredictionLogStats {
    return { queued: this.queue.length, ...this.counters };
  }

  /** Writes everything queued; a call during a flush joins it. A failed upload leaves its records for the next. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    if (!this.queue.length) return Promise.resolve();
    this.flushing = this.writeAll().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async writeAll(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue.splice(0, this.options.batchSize);
      for (const r of batch) this.queuedValues -= valuesOf(r);
      const groups = new Map<string, PredictionRecord[]>();
      for (const r of batch) {
        const prefix = `predictions/${r.model}/${r.ts.slice(0, 10)}`;
        let g = groups.get(prefix);
        if (!g) groups.set(prefix, (g = []));
        g.push(r);
      }
      // Objects of at most MAX_OBJECT_BYTES: the S3 client hashes each body on this thread before sending it.
      const pending = [...groups].flatMap(([prefix, records]) => records.map((r) => ({ prefix, r })));
      let i = 0;
      while (i < pending.length) {
        const prefix = pending[i].prefix;
        const lines: string[] = [];
        let bytes = 0;
        let sliceStart = performance.now();
        let j = i;
        while (j < pending.length && pending[j].prefix === prefix && (bytes < MAX_OBJECT_BYTES || j === i)) {
          const line = serializeRecord(pending[j].r);
          lines.push(line);
          bytes += line.length + 1;
          j++;
          if (performance.now() - sliceStart > SLICE_MS) {
            await new Promise((resolve) => setImmediate(resolve));
            sliceStart = performance.now();
          }
        }
        const key = `${prefix}/${safeKeyPart(this.options.replicaId)}-${String(++this.seq).padStart(8, '0')}.jsonl`;
        try {
          await this.sink.put(key, Buffer.from(lines.join('\n') + '\n', 'utf8'));
          this.counters.written += j - i;
          this.counters.objects++;
          i = j;
        } catch (err) {
          this.counters.failedUploads++;
          this.onError(err as Error);
          // Keep what fits for the next attempt; the rest is dropped and counted.
          const unwritten = pending.slice(i).map((p) => p.r);
          const room = Math.max(0, this.options.maxQueue - this.queue.length);
          const kept = unwritten.slice(0, room);
          this.counters.dropped += unwritten.length - kept.length;
          this.queue.unshift(...kept);
          for (const r of kept) this.queuedValues += valuesOf(r);
          return;
        }
      }
    }
  }

  /** Stops the timer and writes what is left (one attempt). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flushing;
    await this.flush();
    this.closed = true;
  }
}
