/**
 * The serving replica's Prometheus metrics, defined in one place so /metrics, the README and the dashboards agree
 * on names. Label values are model names and version numbers the replica serves, never raw request input, so
 * cardinality stays bounded: requests for unknown models only count in `mlcycle_inference_rejected_total`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { IntervalHistogram } from 'node:perf_hooks';
import { MetricsRegistry } from './prometheus';

const LATENCY_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_ROWS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384, 65536];
const BATCH_REQUESTS = [1, 2, 4, 8, 16, 32, 64, 128];

export function createServingMetrics() {
  const r = new MetricsRegistry();
  const m = {
    registry: r,
    requests: r.counter('mlcycle_inference_requests_total', 'Inference requests answered, by model, version, kind (live = routed, explicit = version named in the path, shadow = mirrored) and HTTP status', ['model', 'version', 'kind', 'code']),
    errors: r.counter('mlcycle_inference_errors_total', 'Inference requests that failed after a version was chosen (bad input for that version included)', ['model', 'version', 'kind']),
    duration: r.histogram('mlcycle_inference_request_duration_seconds', 'Time from the request reaching the handler to the response being ready (shadow: the mirrored inference)', ['model', 'version', 'kind'], LATENCY_SECONDS),
    rows: r.counter('mlcycle_inference_rows_total', 'Rows predicted', ['model', 'version', 'kind']),
    rejected: r.counter('mlcycle_inference_rejected_total', 'Requests refused before a version was chosen: unknown_model, not_ready, no_version, overloaded', ['reason']),
    batchRows: r.histogram('mlcycle_inference_batch_rows', 'Rows per onnxruntime session.run (above the request size when micro-batching merges requests)', ['priority'], BATCH_ROWS),
    batchRequests: r.histogram('mlcycle_inference_batch_requests', 'Requests merged into one session.run', ['priority'], BATCH_REQUESTS),
    sessionRun: r.histogram('mlcycle_inference_session_run_seconds', 'Time onnxruntime spent in session.run, per batch', ['model', 'version'], LATENCY_SECONDS),
    batches: r.counter('mlcycle_inference_batches_total', 'session.run calls by where they ran: event_loop (cheap live batches) or thread', ['executor']),
    eventLoopVersions: r.gauge('mlcycle_inference_event_loop_versions', 'Loaded model versions cheap enough to run live batches on the event loop'),
    poolThreads: r.gauge('mlcycle_inference_pool_threads', 'Inference worker threads'),
    poolBusy: r.gauge('mlcycle_inference_pool_busy_threads', 'Inference worker threads running a batch right now'),
    queueDepth: r.gauge('mlcycle_inference_queue_depth', 'Requests waiting for a free inference thread', ['priority']),
    busyPoll: r.counter('mlcycle_inference_busy_poll_seconds_total', 'Time the event loop spent polling for the next request right after an answer (MLCYCLE_INFERENCE_BUSY_POLL_US): CPU spent to save a wake-up'),
    threadRestarts: r.counter('mlcycle_inference_pool_thread_restarts_total', 'Inference threads that died and were replaced'),
    versionLoaded: r.gauge('mlcycle_serving_model_version_loaded', '1 for every model version this replica has loaded', ['model', 'version']),
    loadedVersions: r.gauge('mlcycle_serving_loaded_versions', 'Model versions loaded, per model', ['model']),
    loadFailures: r.counter('mlcycle_serving_model_load_failures_total', 'Failed attempts to load a model version (missing or corrupt artifact, broken graph contract)', ['model', 'version']),
    modelReady: r.gauge('mlcycle_serving_model_ready', '1 when the model routes by its latest deployment with every version loaded', ['model']),
    revision: r.gauge('mlcycle_serving_deployment_revision', 'Deployment revision this replica routes by (0: champion only)', ['model']),
    stage: r.gauge('mlcycle_serving_deployment_stage', '1 for the current rollout stage of the model', ['model', 'stage']),
    routeWeight: r.gauge('mlcycle_serving_route_weight', 'Share of live traffic (percent) routed to a version', ['model', 'version']),
    shadowShare: r.gauge('mlcycle_serving_shadow_share', 'Share of requests (percent) mirrored to the shadow version', ['model', 'version']),
    shadow: r.counter('mlcycle_shadow_requests_total', 'Mirrored requests by outcome: agree, disagree, error, dropped', ['model', 'version', 'outcome']),
    reconcileErrors: r.counter('mlcycle_serving_reconcile_errors_total', 'Reconcile ticks that could not read the registry or report status'),
    statsFlushFailures: r.counter('mlcycle_serving_stats_flush_failures_total', 'Traffic-window writes to the registry that failed (retried with the next window)'),
    logQueue: r.gauge('mlcycle_prediction_log_queue_depth', 'Prediction records waiting to be written to object storage'),
    logDropped: r.counter('mlcycle_prediction_log_dropped_total', 'Prediction records dropped because the queue was full or storage failed'),
    logWritten: r.counter('mlcycle_prediction_log_records_written_total', 'Prediction records written to object storage'),
    logUploadFailures: r.counter('mlcycle_prediction_log_upload_failures_total', 'Failed uploads of prediction log objects'),
    startTime: r.gauge('process_start_time_seconds', 'Start time of the process since unix epoch in seconds'),
    residentMemory: r.gauge('process_resident_memory_bytes', 'Resident memory size in bytes'),
    cpuSeconds: r.counter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds'),
    eventLoopP99: r.gauge('nodejs_eventloop_delay_p99_seconds', 'p99 event-loop delay of the API thread since the previous scrape'),
    eventLoopMax: r.gauge('nodejs_eventloop_delay_max_seconds', 'Largest event-loop delay of the API thread since the previous scrape'),
  };
  m.startTime.set(undefined, Math.round(Date.now() / 1000 - process.uptime()));
  let loopDelay: IntervalHistogram | undefined;
  let lastCpu = 0;
  r.beforeScrape(() => {
    m.residentMemory.set(undefined, process.memoryUsage.rss());
    const cpu = process.cpuUsage();
    const seconds = (cpu.user + cpu.system) / 1e6;
    m.cpuSeconds.inc(undefined, Math.max(0, seconds - lastCpu));
    lastCpu = seconds;
    if (!loopDelay) {
      loopDelay = monitorEventLoopDelay({ resolution: 10 });
      loopDelay.enable();
    } else {
      m.eventLoopP99.set(undefined, loopDelay.percentile(99) / 1e9);
      m.eventLoopMax.set(undefined, loopDelay.max / 1e9);
      loopDelay.reset();
    }
  });
  return {
    ...m,
    /** stops the event-loop monitor */
    dispose(): void {
      loopDelay?.disable();
    },
  };
}

export type ServingMetrics = ReturnType<typeof createServingMetrics>;
