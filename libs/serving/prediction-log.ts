/**
 * The prediction log: every (sampled) prediction's inputs, outputs, version, latency and status, written to object
 * storage as JSON Lines under `predictions/<model>/<yyyy-mm-dd>/<replica>-<seq>.jsonl` for drift monitoring and
 * audits.
 *
 * The request path only hands the record to the log's own thread and counts it against a bounded queue (a full
 * queue drops the record and counts it, never slows the request). The thread serializes records into objects of at
 * most about 2 MiB (prediction-log-encoding.ts) and seals them every `batchSize` records, every `flushIntervalMs`
 * and on shutdown; this thread names each sealed object and uploads it. A failed upload keeps its object, under
 * the same key, for the next attempt, so a retry never writes a record twice.
 */
import type { Worker } from 'node:worker_threads';
import { spawnModuleThread } from '../core/threads';
import { RecordPacker, valuesOf } from './prediction-log-encoding';
import type { PackedRecords, PredictionRecord, SealedObject } from './prediction-log-encoding';

export type { PredictionRecord } from './prediction-log-encoding';
export { serializeRecord } from './prediction-log-encoding';

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
  /** nice value of the log's thread (Linux), as for the inference threads */
  threadNice?: number;
  random?: () => number;
}

export interface PredictionLogStats {
  /** records logged and not yet written */
  queued: number;
  dropped: number;
  written: number;
  objects: number;
  failedUploads: number;
}

/** Messages between the logger and its thread. */
export type LogThreadRequest = { t: 'add'; packed: PackedRecords } | { t: 'seal'; id: number };
export type LogThreadReply = { t: 'object'; object: SealedObject } | { t: 'sealed'; id: number };

/** Replica ids name objects: keep them to characters that need no escaping in a key. */
export function safeKeyPart(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * Records go to the log's thread in groups: every message wakes the thread and costs this thread a fixed overhead,
 * which one message per request would pay at every request. A record waits here at most HANDOFF_MS.
 */
const HANDOFF_RECORDS = 64;
const HANDOFF_MS = 20;

/** Default bound on the values queued: ~10^7 numbers and strings, some hundreds of MB at most. */
const DEFAULT_MAX_QUEUED_VALUES = 10_000_000;

interface PendingObject extends SealedObject {
  /** assigned at the first upload attempt and kept for the retries */
  key?: string;
}

export class PredictionLogger {
  private thread: Worker | undefined;
  /** records logged since the last hand-off to the thread (one message per few records, not one per record) */
  private readonly outbox = new RecordPacker();
  private outboxValues = 0;
  private handOffTimer: NodeJS.Timeout | undefined;
  /** records and values handed to the thread and not yet sealed */
  private readonly inThread = { records: 0, values: 0 };
  /** sealed objects waiting for their upload, in order */
  private readonly uploads: PendingObject[] = [];
  private queuedRecords = 0;
  private queuedValues = 0;
  private seq = 0;
  private nextSealId = 1;
  private readonly sealWaiters = new Map<number, () => void>();
  private uploading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
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

  /** Hands a record to the log's thread; false when the queue is full and the record was dropped. */
  log(record: PredictionRecord): boolean {
    const values = valuesOf(record);
    if (this.closed || this.queuedRecords >= this.options.maxQueue || this.queuedValues + values > (this.options.maxQueuedValues ?? DEFAULT_MAX_QUEUED_VALUES)) {
      this.counters.dropped++;
      return false;
    }
    this.outbox.add(record);
    this.outboxValues += values;
    if (this.outbox.size >= HANDOFF_RECORDS) this.handOff();
    else this.handOffTimer ??= setTimeout(() => this.handOff(), HANDOFF_MS).unref();
    this.queuedRecords++;
    this.queuedValues += values;
    return true;
  }

  stats(): PredictionLogStats {
    return { queued: this.queuedRecords, ...this.counters };
  }

  /** Posts the records waiting on this thread to the log's thread, in one message. */
  private handOff(): void {
    clearTimeout(this.handOffTimer);
    this.handOffTimer = undefined;
    if (!this.outbox.size) return;
    const records = this.outbox.size;
    const packed = this.outbox.take();
    this.ensureThread().postMessage({ t: 'add', packed } satisfies LogThreadRequest, [packed.numbers.buffer as ArrayBuffer]);
    this.inThread.records += records;
    this.inThread.values += this.outboxValues;
    this.outboxValues = 0;
  }

  /** Seals what the thread holds and writes every sealed object (retrying failed ones once). */
  async flush(): Promise<void> {
    this.handOff();
    if (this.thread && this.inThread.records > 0) {
      const id = this.nextSealId++;
      const sealed = new Promise<void>((resolve) => this.sealWaiters.set(id, resolve));
      this.thread.postMessage({ t: 'seal', id } satisfies LogThreadRequest);
      await sealed;
    }
    await this.upload();
  }

  /** Stops the timer, writes what is left (one attempt) and stops the thread. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    // First: a record logged while the last flush runs is dropped and counted, never left behind unwritten.
    this.closed = true;
    await this.flush();
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate();
  }

  private ensureThread(): Worker {
    if (this.thread) return this.thread;
    const thread = spawnModuleThread({ dirname: __dirname, filename: __filename }, 'prediction-log-thread', {
      batchSize: this.options.batchSize,
      nice: this.options.threadNice ?? 0,
    });
    // The thread holds no state worth waiting for at exit: close() seals and writes it first.
    thread.unref();
    thread.on('message', (msg: LogThreadReply) => {
      if (msg.t === 'object') {
        this.inThread.records -= msg.object.records;
        this.inThread.values -= msg.object.values;
        this.uploads.push(msg.object);
        // Objects a flush seals are uploaded by that flush; one waiting behind a failed object (which has its key
        // already) waits for the next flush, which retries them in order.
        if (!this.uploads[0].key && this.sealWaiters.size === 0) void this.upload();
      } else {
        this.sealWaiters.get(msg.id)?.();
        this.sealWaiters.delete(msg.id);
      }
    });
    thread.on('error', (err) => this.onError(err));
    thread.on('exit', () => {
      if (this.thread !== thread) return; // terminated by close()
      // What the thread held is lost: count it as dropped. The next record starts a new thread.
      this.thread = undefined;
      this.counters.dropped += this.inThread.records;
      this.queuedRecords -= this.inThread.records;
      this.queuedValues -= this.inThread.values;
      this.inThread.records = 0;
      this.inThread.values = 0;
      for (const resolve of this.sealWaiters.values()) resolve();
      this.sealWaiters.clear();
    });
    this.thread = thread;
    return thread;
  }

  /** Uploads sealed objects in order until none is left or one fails; a call during an upload joins it. */
  private upload(): Promise<void> {
    this.uploading ??= this.uploadAll().finally(() => {
      this.uploading = undefined;
    });
    return this.uploading;
  }

  private async uploadAll(): Promise<void> {
    while (this.uploads.length) {
      const o = this.uploads[0];
      o.key ??= `${o.prefix}/${safeKeyPart(this.options.replicaId)}-${String(++this.seq).padStart(8, '0')}.jsonl`;
      try {
        await this.sink.put(o.key, Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength));
      } catch (err) {
        this.counters.failedUploads++;
        this.onError(err as Error);
        return; // kept, under its key, for the next flush
      }
      this.uploads.shift();
      this.counters.written += o.records;
      this.counters.objects++;
      this.queuedRecords -= o.records;
      this.queuedValues -= o.values;
    }
  }
}
