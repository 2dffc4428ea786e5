/**
 * One serving replica (every API process is one): keeps the model versions it should serve loaded in the inference
 * pool, routes each request to a version, mirrors shadow traffic, and reports what it does.
 *
 * - A reconcile loop reads every model's Deployment (or, without one, its champion at 100%) every
 *   `reconcileIntervalMs`, loads the versions a routing names (artifact fetched from object storage, sha256 checked
 *   against the registered one), switches to the new routing only once all of them are loaded, unloads versions
 *   nothing routes to any more, and writes a ReplicaStatus row per model — what rollouts wait on
 *   (RegistryService.deploymentConvergence).
 * - A request names a model (routed: weighted random, or sticky by a header's value) or a version (explicit,
 *   loaded on demand and unloaded after `idleUnloadMs` without use).
 * - Every answered request updates Prometheus metrics, the traffic window flushed to serving_stats every
 *   `statsFlushMs`, and the prediction log; a share of routed requests is mirrored to the shadow version after the
 *   answer has left, and the two predictions compared.
 */
import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import type { ArtifactStore } from '../artifacts';
import { readMlcycleMetadata } from '../ml/onnx/contract';
import { REPLICA_HEARTBEAT_MODEL_ID } from '../registry';
import type { Deployment, RegistryService, ReplicaReport } from '../registry';
import type { RawOutput } from './batch-queue';
import { createServingMetrics } from './metrics';
import type { ServingMetrics } from './metrics';
import type { ColumnData } from './oip';
import type { Executor, PoolOptions } from './pool';
import { InferencePool, inferenceThreads, ModelNotLoadedError, PoolOverloadedError } from './pool';
import { PredictionLogger } from './prediction-log';
import type { PredictionLogOptions, PredictionRecord } from './prediction-log';
import type { BoundCounter, BoundHistogram } from './prometheus';
import { buildRoutingTable, pickVersion, shouldMirror } from './routing';
import type { RoutingTable } from './routing';
import { modelSignature } from './signature';
import type { ModelSignature } from './signature';
import { regressionBin, StatsAccumulator } from './stats';

export interface ServingLogger {
  log(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export interface ServingOptions {
  replicaId: string;
  reconcileIntervalMs: number;
  /** a version loaded only because a request named it is unloaded after this long without requests */
  idleUnloadMs: number;
  statsFlushMs: number;
  /** serving_stats windows and stale replica reports older than this are deleted */
  statsRetentionHours: number;
  maxRowsPerRequest: number;
  pool: Omit<PoolOptions, 'onBatch' | 'onWorkerExit'>;
  predictionLog: Omit<PredictionLogOptions, 'replicaId'>;
}

/** A replica ID unique across hosts and restarts: hostname, pid and a random suffix (at most 100 characters). */
export function defaultReplicaId(): string {
  const host = os.hostname().replace(/[^A-Za-z0-9.-]/g, '-').slice(0, 80);
  return `${host}-${process.pid}-${randomBytes(3).toString('hex')}`;
}

/** A request the replica cannot serve, with the HTTP status that says why. */
export class ServingError extends Error {
  constructor(
    message: string,
    readonly status: number,
    /** for mlcycle_inference_rejected_total and Retry-After */
    readonly reason: 'unknown_model' | 'no_version' | 'not_ready' | 'overloaded' | 'unknown_version' | 'load_failed' | 'failed',
  ) {
    super(message);
    this.name = 'ServingError';
  }
}

/** Relative tolerance under which a shadow regression prediction counts as agreeing with the live one. */
export const SHADOW_REGRESSION_RTOL = 0.05;

/** How long a failed load waits before the reconcile loop tries again (doubling up to 60 s). */
const LOAD_RETRY_MS = 2_000;
const LOAD_RETRY_MAX_MS = 60_000;
const PRUNE_EVERY_MS = 10 * 60_000;

interface VersionEntry {
  version: number;
  /** pool key */
  key: string;
  state: 'loading' | 'ready' | 'failed';
  loading?: Promise<void>;
  signature?: ModelSignature;
  sha256?: string;
  error?: string;
  failures: number;
  retryAt: number;
  /** when a request last named this version explicitly (0: never); such versions stay loaded for idleUnloadMs */
  lastExplicitUse: number;
  /** requests holding this version (it is not unloaded while > 0) */
  inflight: number;
  /** the metric series its answered requests count in, by request kind (made at the first request of each) */
  series?: Partial<Record<Target['kind'], RequestSeries>>;
}

/** What a batch counts in (see onBatch). */
interface BatchSeries {
  rows: BoundHistogram;
  requests: BoundHistogram;
  batches: BoundCounter;
  run: BoundHistogram | undefined;
}

/** What complete() counts an answered request in, bound once per version and kind (see Counter.bind). */
interface RequestSeries {
  labels: { model: string; version: string; kind: Target['kind'] };
  answered: BoundCounter;
  duration: BoundHistogram;
  rows: BoundCounter;
}

interface DesiredRouting {
  /** identity of the routing: revision alone is not enough (a champion change keeps revision 0) */
  fingerprint: string;
  revision: number;
  stage: string;
  table: RoutingTable | null;
  /** why the routing cannot be applied (invalid weights), if so */
  error: string | null;
}

interface ServedModel {
  id: string;
  name: string;
  versions: Map<number, VersionEntry>;
  desired: DesiredRouting | null;
  /** the routing requests use: the last desired routing whose versions were all loaded */
  applied: { fingerprint: string; table: RoutingTable; stage: string } | null;
}

/** The version a request will run on. */
export interface Target {
  modelId: string;
  modelName: string;
  version: number;
  signature: ModelSignature;
  /** live = chosen by routing; explicit = named by the caller */
  kind: 'live' | 'explicit';
  /** the routing the choice was made with (for the shadow mirror) */
  table: RoutingTable | null;
  /** private: the entry whose inflight count this request holds */
  entry: VersionEntry;
}

export interface Completion {
  endpoint: 'v2' | 'v1';
  requestId: string;
  /** when the request arrived */
  receivedAt: Date;
  /** performance.now() when the request arrived */
  startedAt: number;
  /** performance.now() when the answer was ready (default: when complete() is called) */
  finishedAt?: number;
  status: number;
  error?: string;
  rows?: number;
  columns?: Record<string, ColumnData>;
  outputs?: Record<string, RawOutput>;
}

/** Model info for the metadata and readiness endpoints. */
export interface ModelView {
  id: string;
  name: string;
  /** versions ready to answer, ascending */
  versions: number[];
  /** the version unversioned metadata describes: the one with the most traffic in the routing */
  primary: { version: number; signature: ModelSignature } | null;
  ready: boolean;
  revision: number | null;
  stage: string | null;
}

export class ServingReplica {
  readonly metrics: ServingMetrics;
  /** onBatch's bound series, by pool key, priority and executor */
  private readonly batchSeries = new Map<string, BatchSeries>();
  readonly pool: InferencePool;
  readonly predictionLog: PredictionLogger;
  private readonly stats = new StatsAccumulator();
  private readonly models = new Map<string, ServedModel>();
  private reconcileTimer: NodeJS.Timeout | undefined;
  private statsTimer: NodeJS.Timeout | undefined;
  /** the last traffic-window write (never rejects: writeStats keeps failed windows and logs) */
  private statsWrite: Promise<void> = Promise.resolve();
  private ticking: Promise<void> | undefined;
  private stopped = false;
  private firstReconcileDone = false;
  private lastPrune = 0;
  private lastReconcileError: string | undefined;
  private logCounters = { dropped: 0, written: 0, failedUploads: 0 };
  private busyPolledMs = 0;

  constructor(
    private readonly registry: RegistryService,
    private readonly store: ArtifactStore,
    readonly options: ServingOptions,
    private readonly logger: ServingLogger,
  ) {
    this.metrics = createServingMetrics();
    this.pool = new InferencePool({
      ...options.pool,
      onBatch: (b) => {
        const series = this.batchSeriesOf(b.key, b.priority, b.executor);
        series.rows.observe(b.rows);
        series.requests.observe(b.requests);
        series.batches.inc();
        series.run?.observe(b.runMs / 1000);
      },
      onWorkerExit: (w) => {
        this.metrics.threadRestarts.inc();
        this.logger.error(`inference thread ${w.index} stopped (${w.error ?? `exit code ${w.code}`}); replacing it`);
      },
    });
    this.predictionLog = new PredictionLogger(
      {
        put: async (key, body) => {
          await this.store.client.putObject(this.store.bucket, key, body, body.length, { 'Content-Type': 'application/x-ndjson' });
        },
      },
      { ...options.predictionLog, replicaId: options.replicaId, threadNice: options.pool.threadNice },
      (err) => this.logger.warn(`prediction log upload failed (records kept for the next attempt while the queue has room): ${err.message}`),
    );
    this.metrics.registry.beforeScrape(() => this.refreshGauges());
  }

  get replicaId(): string {
    return this.options.replicaId;
  }

  start(): void {
    if (this.reconcileTimer || this.stopped) return;
    this.predictionLog.start();
    const loop = async () => {
      await this.reconcile();
      if (!this.stopped) {
        this.reconcileTimer = setTimeout(() => void loop(), this.options.reconcileIntervalMs);
        this.reconcileTimer.unref();
      }
    };
    this.reconcileTimer = setTimeout(() => void loop(), 0);
    this.reconcileTimer.unref();
    this.statsTimer = setInterval(() => void this.flushStats(), this.options.statsFlushMs);
    this.statsTimer.unref();
  }

  /**
   * First half of shutdown, while the registry is still open: stop reconciling, write the last traffic window and
   * withdraw this replica's reports (rollouts stop waiting for it).
   */
  async drain(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconcileTimer);
    clearInterval(this.statsTimer);
    await this.ticking;
    await this.flushStats();
    await this.registry.removeReplicaStatus(this.replicaId).catch((err: Error) => this.logger.warn(`could not withdraw replica status: ${err.message}`));
  }

  /** Second half: write the prediction log's remainder and stop the inference threads. */
  async close(): Promise<void> {
    if (!this.stopped) await this.drain();
    await this.predictionLog.close();
    await this.pool.close();
    this.metrics.dispose();
  }

  /** Ready once the first reconcile has run and no model is still loading its first routing. */
  isReady(): boolean {
    if (!this.firstReconcileDone || this.stopped) return false;
    for (const m of this.models.values()) {
      if (m.desired?.table && !m.applied && [...m.desired.table.versions].some((v) => m.versions.get(v)?.state === 'loading')) return false;
    }
    return true;
  }

  // ---- request path ----

  /** A request reached the server at `at` (performance.now()); the busy poll learns how soon requests follow answers. */
  arrived(at: number): void {
    this.pool.busyPoll.arrived(at);
  }

  /**
   * Chooses the version for a request: the named one (loaded on demand), or by the model's routing. Holds the
   * version until `complete()` so it is not unloaded mid-request.
   */
  async target(modelName: string, version: number | undefined, header: (name: string) => string | undefined): Promise<Target> {
    if (version === undefined) return this.route(modelName, header);
    let model = this.models.get(modelName);
    if (!model) {
      const row = await this.registry.findModelByName(modelName);
      if (!row) throw this.reject(new ServingError(`model '${modelName}' does not exist`, 404, 'unknown_model'));
      model = this.models.get(modelName) ?? this.addModel(row.id, row.name);
    }
    const entry = await this.ensureVersion(model, version);
    return this.hold(model, entry, 'explicit', model.applied?.table ?? null);
  }

  /** The routed version for a request, synchronously (the common case: no I/O, no promise). */
  route(modelName: string, header: (name: string) => string | undefined): Target {
    const model = this.models.get(modelName);
    if (!model) {
      throw this.reject(
        new ServingError(`model '${modelName}' is not served here: it does not exist, or has no champion or deployment yet`, 404, 'unknown_model'),
      );
    }
    const applied = model.applied;
    if (!applied) {
      if (model.desired?.table) {
        const loading = [...model.desired.table.versions].filter((v) => model.versions.get(v)?.state !== 'ready');
        const failed = loading.map((v) => model.versions.get(v)).find((e) => e?.state === 'failed');
        if (failed) throw this.reject(new ServingError(`model '${modelName}' version ${failed.version} failed to load: ${failed.error}`, 503, 'load_failed'));
        throw this.reject(new ServingError(`model '${modelName}' is loading (version ${loading.join(', ')}); retry shortly`, 503, 'not_ready'));
      }
      throw this.reject(new ServingError(`model '${modelName}' has no version to serve: ${model.desired?.error ?? 'no champion and no deployment'}`, 404, 'no_version'));
    }
    if (!applied.table.wheel.length) {
      throw this.reject(new ServingError(`model '${modelName}' takes no traffic: deployment revision ${applied.table.revision} routes to no version`, 404, 'no_version'));
    }
    const pick = pickVersion(applied.table, applied.table.stickyKeyHeader ? header(applied.table.stickyKeyHeader) : undefined);
    const entry = model.versions.get(pick.version);
    if (!entry || entry.state !== 'ready') throw this.reject(new ServingError(`model '${modelName}' version ${pick.version} is not loaded`, 503, 'not_ready'));
    return this.hold(model, entry, 'live', applied.table);
  }

  private hold(model: ServedModel, entry: VersionEntry, kind: Target['kind'], table: RoutingTable | null): Target {
    entry.inflight++;
    if (kind === 'explicit') entry.lastExplicitUse = Date.now();
    return { modelId: model.id, modelName: model.name, version: entry.version, signature: entry.signature!, kind, table, entry };
  }

  private reject(err: ServingError): ServingError {
    this.metrics.rejected.inc({ reason: err.reason });
    return err;
  }

  /**
   * Runs the decoded columns on the target's version; `done` gets the outputs, or a ServingError (possibly
   * synchronously). Callbacks rather than a promise: this is the request path (see InferencePool.submit).
   */
  run(target: Target, columns: Record<string, ColumnData>, rows: number, done: (err: ServingError | undefined, outputs?: Record<string, RawOutput>) => void): void {
    this.pool.submit(
      target.entry.key,
      columns,
      rows,
      target.signature.fetches,
      'live',
      (outputs) => done(undefined, outputs),
      (err) => done(this.runError(target, err)),
    );
  }

  private runError(target: Target, err: Error): ServingError {
    if (err instanceof PoolOverloadedError) return this.reject(new ServingError(err.message, 503, 'overloaded'));
    if (err instanceof ModelNotLoadedError) return new ServingError(`model '${target.modelName}' version ${target.version} was unloaded; retry`, 503, 'not_ready');
    return new ServingError(`inference failed: ${err.message}`, 500, 'failed');
  }

  /**
   * Records an answered request (metrics, traffic window, prediction log) and mirrors it to the shadow version when
   * the routing says so. Call it exactly once per `target()`, after the response is ready.
   */
  complete(target: Target, done: Completion): void {
    target.entry.inflight--;
    // the answer is written: poll for the caller's next request for a moment
    this.pool.busyPoll.answered();
    const latencyMs = (done.finishedAt ?? performance.now()) - done.startedAt;
    const series = this.seriesOf(target);
    const error = done.status >= 400;
    if (done.status === 200) series.answered.inc();
    else this.metrics.requests.inc({ ...series.labels, code: String(done.status) });
    if (error) this.metrics.errors.inc(series.labels);
    series.duration.observe(latencyMs / 1000);
    if (!error && done.rows) series.rows.inc(done.rows);
    if (target.kind === 'live') {
      this.stats.record({
        modelId: target.modelId,
        version: target.version,
        kind: 'live',
        latencyMs,
        error,
        predictions: !error && done.outputs ? predictionKeys(target.signature, done.outputs) : undefined,
      });
    }
    if (this.predictionLog.sampled()) {
      const record: PredictionRecord = {
        ts: done.receivedAt.toISOString(),
        requestId: done.requestId,
        model: target.modelName,
        modelId: target.modelId,
        version: target.version,
        endpoint: done.endpoint,
        routed: target.kind === 'live',
        status: done.status,
        latencyMs: Math.round(latencyMs * 1000) / 1000,
        rows: done.rows,
        inputs: done.columns,
        outputs: done.outputs ? outputData(done.outputs) : undefined,
        error: done.error,
      };
      this.predictionLog.log(record);
    }
    if (!error && target.kind === 'live' && target.table && done.columns && done.outputs && done.rows) {
      const shadowVersion = shouldMirror(target.table, target.version);
      if (shadowVersion !== null) this.mirror(target, shadowVersion, done.columns, done.rows, done.outputs);
    }
  }

  /** The series a batch counts in, bound at its version's first batch of each priority and executor. */
  private batchSeriesOf(key: string, priority: 'live' | 'shadow', executor: Executor): BatchSeries {
    const id = `${key}\u0001${priority}\u0001${executor}`;
    let series = this.batchSeries.get(id);
    if (!series) {
      const at = key.lastIndexOf('@');
      const model = this.modelNameById(key.slice(0, at));
      series = {
        rows: this.metrics.batchRows.bind({ priority }),
        requests: this.metrics.batchRequests.bind({ priority }),
        batches: this.metrics.batches.bind({ executor }),
        run: model ? this.metrics.sessionRun.bind({ model, version: key.slice(at + 1) }) : undefined,
      };
      // kept once the model is known (its name is what the run series is labelled with)
      if (model) this.batchSeries.set(id, series);
    }
    return series;
  }

  /** The series a request on this target counts in: labels and key are built once per version and kind, not per request. */
  private seriesOf(target: Target): RequestSeries {
    const byKind = (target.entry.series ??= {});
    let series = byKind[target.kind];
    if (!series) {
      const labels = { model: target.modelName, version: String(target.version), kind: target.kind };
      series = {
        labels,
        answered: this.metrics.requests.bind({ ...labels, code: '200' }),
        duration: this.metrics.duration.bind(labels),
        rows: this.metrics.rows.bind(labels),
      };
      byKind[target.kind] = series;
    }
    return series;
  }

  /** Records a request refused before any version was chosen (it only shows in the prediction log and metrics). */
  logRejected(modelName: string, done: Completion): void {
    const model = this.models.get(modelName);
    if (!model || !this.predictionLog.sampled()) return;
    this.predictionLog.log({
      ts: done.receivedAt.toISOString(),
      requestId: done.requestId,
      model: model.name,
      modelId: model.id,
      endpoint: done.endpoint,
      routed: true,
      status: done.status,
      latencyMs: Math.round((performance.now() - done.startedAt) * 1000) / 1000,
      error: done.error,
    });
  }

  private mirror(live: Target, version: number, columns: Record<string, ColumnData>, rows: number, liveOutputs: Record<string, RawOutput>): void {
    const model = this.models.get(live.modelName);
    const entry = model?.versions.get(version);
    const labels = { model: live.modelName, version: String(version) };
    if (!model || !entry || entry.state !== 'ready' || !entry.signature) return;
    const signature = entry.signature;
    // A shadow version with other inputs cannot take the same request: count it, it is what a rollout must see.
    const fits = signature.inputs.every((i) => {
      const col = columns[i.name];
      return col !== undefined && Array.isArray(col) === (i.datatype === 'BYTES');
    });
    const started = performance.now();
    const record = (outcome: 'agree' | 'disagree' | 'error', outputs?: Record<string, RawOutput>) => {
      const latencyMs = performance.now() - started;
      this.metrics.shadow.inc({ ...labels, outcome });
      this.metrics.requests.inc({ ...labels, kind: 'shadow', code: outcome === 'error' ? '500' : '200' });
      if (outcome === 'error') this.metrics.errors.inc({ ...labels, kind: 'shadow' });
      this.metrics.duration.observe({ ...labels, kind: 'shadow' }, latencyMs / 1000);
      this.stats.record({
        modelId: model.id,
        version,
        kind: 'shadow',
        latencyMs,
        error: outcome === 'error',
        predictions: outputs ? predictionKeys(signature, outputs) : undefined,
        agreed: outcome === 'agree',
      });
    };
    if (!fits) {
      record('error');
      return;
    }
    entry.inflight++;
    this.pool.run(entry.key, columns, rows, signature.fetches, 'shadow').then(
      (outputs) => {
        entry.inflight--;
        record(predictionsAgree(live.signature, liveOutputs, signature, outputs) ? 'agree' : 'disagree', outputs);
      },
      (err: Error) => {
        entry.inflight--;
        if (err instanceof PoolOverloadedError) this.metrics.shadow.inc({ ...labels, outcome: 'dropped' });
        else record('error');
      },
    );
  }

  // ---- model views ----

  /** What the metadata and readiness endpoints show; undefined for a model this replica does not know. */
  async view(modelName: string, version?: number): Promise<ModelView | undefined> {
    let model = this.models.get(modelName);
    if (!model && version !== undefined) {
      const row = await this.registry.findModelByName(modelName);
      if (!row) return undefined;
      model = this.models.get(modelName) ?? this.addModel(row.id, row.name);
    }
    if (!model) return undefined;
    if (version !== undefined) {
      const entry = await this.ensureVersion(model, version);
      entry.lastExplicitUse = Date.now();
    }
    const ready = [...model.versions.values()].filter((e) => e.state === 'ready').map((e) => e.version).sort((a, b) => a - b);
    const table = model.applied?.table;
    let primary: ModelView['primary'] = null;
    if (table?.wheel.length) {
      const widest = [...table.wheel].map((s, i) => ({ version: s.version, width: s.upTo - (i ? table.wheel[i - 1].upTo : 0) })).sort((a, b) => b.width - a.width || b.version - a.version)[0];
      const entry = model.versions.get(widest.version);
      if (entry?.signature) primary = { version: entry.version, signature: entry.signature };
    }
    return {
      id: model.id,
      name: model.name,
      versions: ready,
      primary,
      ready: Boolean(model.applied && model.desired && model.applied.fingerprint === model.desired.fingerprint),
      revision: model.applied?.table.revision ?? null,
      stage: model.applied?.stage ?? null,
    };
  }

  /** A ready version's signature, loading the version if needed (explicit-version metadata). */
  async versionSignature(modelName: string, version: number): Promise<ModelSignature> {
    const model = this.models.get(modelName);
    if (!model) throw new ServingError(`model '${modelName}' does not exist`, 404, 'unknown_model');
    const entry = await this.ensureVersion(model, version);
    return entry.signature!;
  }

  // ---- loading ----

  private addModel(id: string, name: string): ServedModel {
    const model: ServedModel = { id, name, versions: new Map(), desired: null, applied: null };
    this.models.set(name, model);
    return model;
  }

  private modelNameById(id: string): string | undefined {
    for (const m of this.models.values()) if (m.id === id) return m.name;
    return undefined;
  }

  /** The entry of a version, loaded (waiting for a load in progress, retrying a failed one). */
  private async ensureVersion(model: ServedModel, version: number): Promise<VersionEntry> {
    let entry = model.versions.get(version);
    if (!entry || (entry.state === 'failed' && Date.now() >= entry.retryAt)) entry = this.startLoad(model, version);
    if (entry.state === 'loading') await entry.loading;
    if (entry.state === 'failed') {
      const status = /not registered|no model artifact/.test(entry.error ?? '') ? 404 : 503;
      throw this.reject(new ServingError(`model '${model.name}' version ${version}: ${entry.error}`, status, status === 404 ? 'unknown_version' : 'load_failed'));
    }
    return entry;
  }

  private startLoad(model: ServedModel, version: number): VersionEntry {
    const previous = model.versions.get(version);
    const entry: VersionEntry = {
      version,
      key: `${model.id}@${version}`,
      state: 'loading',
      failures: previous?.failures ?? 0,
      retryAt: 0,
      lastExplicitUse: previous?.lastExplicitUse ?? 0,
      inflight: previous?.inflight ?? 0,
    };
    model.versions.set(version, entry);
    entry.loading = this.load(model, entry).then(
      () => {
        entry.state = 'ready';
        entry.failures = 0;
        this.metrics.versionLoaded.set({ model: model.name, version: String(version) }, 1);
        this.logger.log(`loaded ${model.name} version ${version} (sha256 ${entry.sha256?.slice(0, 12)}…) into ${inferenceThreads(this.options.pool.size)}`);
        this.applyIfLoaded(model);
      },
      (err: Error) => {
        entry.state = 'failed';
        entry.error = err.message;
        entry.failures++;
        entry.retryAt = Date.now() + Math.min(LOAD_RETRY_MAX_MS, LOAD_RETRY_MS * 2 ** (entry.failures - 1));
        this.metrics.loadFailures.inc({ model: model.name, version: String(version) });
        this.logger.warn(`could not load ${model.name} version ${version}: ${err.message}`);
      },
    );
    return entry;
  }

  private async load(model: ServedModel, entry: VersionEntry): Promise<void> {
    const row = await this.registry.findVersion(model.id, entry.version);
    if (!row) throw new Error(`version ${entry.version} is not registered`);
    const artifact = row.artifacts.find((a) => a.kind === 'model');
    if (!artifact) throw new Error(`version ${entry.version} has no model artifact`);
    // getBytes verifies the bytes against the sha256 recorded at registration.
    const bytes = await this.store.getBytes(artifact.key, artifact.sha256);
    const meta = readMlcycleMetadata(bytes);
    const io = await this.pool.load(entry.key, bytes);
    try {
      entry.signature = modelSignature(meta, io);
    } catch (err) {
      await this.pool.unload(entry.key);
      throw err;
    }
    entry.sha256 = artifact.sha256;
  }

  private async unloadVersion(model: ServedModel, entry: VersionEntry): Promise<void> {
    model.versions.delete(entry.version);
    this.metrics.versionLoaded.remove({ model: model.name, version: String(entry.version) });
    if (entry.state === 'ready') {
      await this.pool.unload(entry.key);
      this.logger.log(`unloaded ${model.name} version ${entry.version}`);
    }
  }

  /** Switches a model to its desired routing once every version it names is loaded. */
  private applyIfLoaded(model: ServedModel): void {
    const desired = model.desired;
    if (!desired?.table || model.applied?.fingerprint === desired.fingerprint) return;
    if (desired.table.versions.every((v) => model.versions.get(v)?.state === 'ready')) {
      const before = model.applied?.table.revision;
      model.applied = { fingerprint: desired.fingerprint, table: desired.table, stage: desired.stage };
      this.logger.log(
        `${model.name}: routing by revision ${desired.revision}${before !== undefined && before !== desired.revision ? ` (was ${before})` : ''}: ${desired.table.wheel
          .map((s) => `v${s.version}`)
          .join(', ')}${desired.table.shadow ? `, shadow v${desired.table.shadow.version} ${desired.table.shadow.share}%` : ''}`,
      );
    }
  }

  // ---- reconcile ----

  /** One reconcile pass (also callable directly, e.g. by tests that do not want to wait for the timer). */
  reconcile(): Promise<void> {
    this.ticking ??= this.tick().finally(() => {
      this.ticking = undefined;
    });
    return this.ticking;
  }

  private async tick(): Promise<void> {
    try {
      const [deployments, heads] = await Promise.all([this.registry.listDeployments(), this.registry.listModelHeads()]);
      const byModel = new Map<string, Deployment>(deployments.map((d) => [d.modelId, d]));
      const seen = new Set<string>();
      for (const head of heads) {
        const deployment = byModel.get(head.id);
        const desired = desiredRouting(head.name, deployment, head.championVersion);
        let model = this.models.get(head.name);
        if (!desired && !model) continue;
        model ??= this.addModel(head.id, head.name);
        seen.add(head.name);
        model.desired = desired;
        if (desired?.table) {
          for (const v of desired.table.versions) {
            const entry = model.versions.get(v);
            if (!entry || (entry.state === 'failed' && Date.now() >= entry.retryAt)) this.startLoad(model, v);
          }
          this.applyIfLoaded(model);
        } else if (!desired) {
          model.applied = null;
        }
      }
      await this.collectGarbage(seen);
      await this.report();
      this.firstReconcileDone = true;
      if (this.lastReconcileError) {
        this.logger.log('reconcile recovered: the registry answers again');
        this.lastReconcileError = undefined;
      }
      if (Date.now() - this.lastPrune > PRUNE_EVERY_MS) {
        this.lastPrune = Date.now();
        await this.registry.pruneServingHistory(new Date(Date.now() - this.options.statsRetentionHours * 3_600_000));
      }
    } catch (err) {
      this.metrics.reconcileErrors.inc();
      const message = (err as Error).message;
      // Once per distinct problem: the loop runs twice a second.
      if (message !== this.lastReconcileError) this.logger.warn(`reconcile failed (serving continues with the last routing): ${message}`);
      this.lastReconcileError = message;
    }
  }

  /**
   * Unloads versions nothing routes to any more (at once, once no request holds them; versions named explicitly
   * stay for idleUnloadMs after their last use), and forgets models with nothing left.
   */
  private async collectGarbage(seen: Set<string>): Promise<void> {
    const now = Date.now();
    for (const model of [...this.models.values()]) {
      if (!seen.has(model.name)) {
        model.desired = null;
        model.applied = null;
      }
      const keep = new Set<number>([...(model.applied?.table.versions ?? []), ...(model.desired?.table?.versions ?? [])]);
      for (const entry of [...model.versions.values()]) {
        if (keep.has(entry.version) || entry.inflight > 0 || entry.state === 'loading') continue;
        if (entry.state === 'ready' && now - entry.lastExplicitUse < this.options.idleUnloadMs) continue;
        // A failed entry stays until its retry time, so requests naming it do not retry the load on every call.
        if (entry.state === 'failed' && now < entry.retryAt) continue;
        await this.unloadVersion(model, entry);
      }
      if (!model.desired && !model.versions.size) {
        this.models.delete(model.name);
        for (const gauge of [this.metrics.revision, this.metrics.modelReady, this.metrics.loadedVersions]) gauge.remove({ model: model.name });
      }
    }
  }

  private async report(): Promise<void> {
    // The heartbeat: this replica is alive, whatever it serves (see deploymentConvergence).
    const reports: ReplicaReport[] = [{ modelId: REPLICA_HEARTBEAT_MODEL_ID, revision: 0, loadedVersions: [], ready: true, error: null }];
    for (const model of this.models.values()) {
      if (!model.desired) continue;
      const versions = model.desired.table?.versions ?? [];
      const failed = versions.map((v) => model.versions.get(v)).find((e) => e?.state === 'failed');
      reports.push({
        modelId: model.id,
        revision: model.applied?.table.revision ?? -1,
        loadedVersions: [...model.versions.values()].filter((e) => e.state === 'ready').map((e) => e.version).sort((a, b) => a - b),
        ready: Boolean(model.applied && model.applied.fingerprint === model.desired.fingerprint),
        error: model.desired.error ?? (failed ? `version ${failed.version}: ${failed.error}` : null),
      });
    }
    await this.registry.reportReplicaStatus(this.replicaId, reports);
  }

  // ---- stats and gauges ----

  /**
   * Writes the traffic windows recorded so far. Writes happen one at a time, in order: a caller that awaits this
   * (a test, drain() at shutdown) finds everything recorded before its call written, or kept for the next flush,
   * even when the timer's flush had already taken the earlier windows and was still writing them.
   */
  flushStats(): Promise<void> {
    this.statsWrite = this.statsWrite.then(() => this.writeStats());
    return this.statsWrite;
  }

  private async writeStats(): Promise<void> {
    const windows = this.stats.flush();
    if (!windows.length) return;
    try {
      await this.registry.recordServingStats(this.replicaId, windows);
    } catch (err) {
      this.metrics.statsFlushFailures.inc();
      this.stats.restore(windows);
      this.logger.warn(`could not write traffic windows (kept for the next flush): ${(err as Error).message}`);
    }
  }

  private refreshGauges(): void {
    const pool = this.pool.stats();
    this.metrics.poolThreads.set(undefined, pool.threads);
    this.metrics.poolBusy.set(undefined, pool.busy);
    this.metrics.eventLoopVersions.set(undefined, pool.onEventLoop);
    this.metrics.queueDepth.set({ priority: 'live' }, pool.queuedLive);
    this.metrics.queueDepth.set({ priority: 'shadow' }, pool.queuedShadow);
    const polled = this.pool.busyPoll.spunMs;
    this.metrics.busyPoll.inc(undefined, Math.max(0, polled - this.busyPolledMs) / 1000);
    this.busyPolledMs = polled;
    this.metrics.stage.remove();
    this.metrics.routeWeight.remove();
    this.metrics.shadowShare.remove();
    for (const model of this.models.values()) {
      const ready = [...model.versions.values()].filter((e) => e.state === 'ready').length;
      this.metrics.loadedVersions.set({ model: model.name }, ready);
      this.metrics.modelReady.set({ model: model.name }, model.applied && model.desired && model.applied.fingerprint === model.desired.fingerprint ? 1 : 0);
      const applied = model.applied;
      if (!applied) continue;
      this.metrics.revision.set({ model: model.name }, applied.table.revision);
      this.metrics.stage.set({ model: model.name, stage: applied.stage }, 1);
      let lower = 0;
      for (const slot of applied.table.wheel) {
        this.metrics.routeWeight.set({ model: model.name, version: String(slot.version) }, (slot.upTo - lower) / 100);
        lower = slot.upTo;
      }
      const shadow = applied.table.shadow;
      if (shadow) this.metrics.shadowShare.set({ model: model.name, version: String(shadow.version) }, shadow.share);
    }
    const log = this.predictionLog.stats();
    this.metrics.logQueue.set(undefined, log.queued);
    this.metrics.logDropped.inc(undefined, log.dropped - this.logCounters.dropped);
    this.metrics.logWritten.inc(undefined, log.written - this.logCounters.written);
    this.metrics.logUploadFailures.inc(undefined, log.failedUploads - this.logCounters.failedUploads);
    this.logCounters = { dropped: log.dropped, written: log.written, failedUploads: log.failedUploads };
  }

  /** The Prometheus exposition. */
  renderMetrics(): string {
    return this.metrics.registry.render();
  }
}

/** The routing a model should have: its Deployment row, else its champion at 100%, else none. */
export function desiredRouting(modelName: string, deployment: Deployment | undefined, championVersion: number | null): DesiredRouting | null {
  if (deployment) {
    const fingerprint = JSON.stringify([deployment.revision, deployment.routes, deployment.shadow, deployment.stickyKeyHeader, deployment.stage]);
    try {
      const table = buildRoutingTable(modelName, deployment.revision, deployment.routes, deployment.shadow, deployment.stickyKeyHeader);
      return { fingerprint, revision: deployment.revision, stage: deployment.stage, table, error: null };
    } catch (err) {
      return { fingerprint, revision: deployment.revision, stage: deployment.stage, table: null, error: `deployment revision ${deployment.revision} is invalid: ${(err as Error).message}` };
    }
  }
  if (championVersion) {
    return {
      fingerprint: JSON.stringify(['champion', championVersion]),
      revision: 0,
      stage: 'champion',
      table: buildRoutingTable(modelName, 0, [{ version: championVersion, weight: 100 }], null, null),
      error: null,
    };
  }
  return null;
}

/** The outputs' values by name, as the prediction log records them. */
function outputData(outputs: Record<string, RawOutput>): Record<string, ColumnData> {
  const data: Record<string, ColumnData> = {};
  for (const name in outputs) data[name] = outputs[name].data;
  return data;
}

/** The prediction-distribution keys of a response: labels, or binned regression values. */
export function predictionKeys(signature: ModelSignature, outputs: Record<string, RawOutput>): string[] {
  if (signature.classes) return (outputs.label?.data as string[] | undefined)?.map(String) ?? [];
  const values = outputs.variable?.data as Float32Array | undefined;
  return values ? Array.from(values, regressionBin) : [];
}

/** Whether a shadow answer agrees with the live one on every row: same label, or a value within SHADOW_REGRESSION_RTOL. */
export function predictionsAgree(liveSig: ModelSignature, live: Record<string, RawOutput>, shadowSig: ModelSignature, shadow: Record<string, RawOutput>): boolean {
  if (Boolean(liveSig.classes) !== Boolean(shadowSig.classes)) return false;
  if (liveSig.classes) {
    const a = live.label.data as string[];
    const b = shadow.label.data as string[];
    return a.length === b.length && a.every((v, i) => String(v) === String(b[i]));
  }
  const a = live.variable.data as Float32Array;
  const b = shadow.variable.data as Float32Array;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]));
    if (Math.abs(a[i] - b[i]) > SHADOW_REGRESSION_RTOL * scale && !(a[i] === b[i])) return false;
  }
  return true;
}
