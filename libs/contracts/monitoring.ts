/**
 * monitoringWorkflow's contract: one workflow per serving model (`monitor/<model>`), started by the model's
 * lifecycle, that closes one window of the prediction logs after another and reports each one to its parent.
 * The window's computation and its side effects (report artifact, registry row, alerts, webhooks) are activities.
 */

export interface MonitoringInput {
  modelId: string;
  modelName: string;
  /** the lifecycle workflow to tell about findings that call for a retraining */
  lifecycleWorkflowId: string;
  /** window length (the spec's monitoring.window unless a test shortens it) */
  window: string;
  /** windows closed so far, carried across continue-as-new */
  windowsClosed?: number;
  /** where the next window starts (ISO time); the first starts when monitoring starts */
  nextWindowStart?: string;
}

export interface MonitoringWindowInput {
  modelId: string;
  modelName: string;
  /** ISO times, [start, end) */
  windowStart: string;
  windowEnd: string;
}

export type ColumnDriftStatus = 'drift' | 'no_drift' | 'insufficient_data';

export interface ColumnDriftSummary {
  column: string;
  kind: 'numeric' | 'categorical';
  method: string;
  statistic: number | null;
  /** the p-value for tests, the distance for distances */
  threshold: number;
  pValue?: number | null;
  psi?: number | null;
  status: ColumnDriftStatus;
}

/** What one window found: the registry row and the report artifact hold the whole report. */
export interface MonitoringSummary {
  reportId: string;
  modelName: string;
  windowStart: string;
  windowEnd: string;
  /** the champion the window was compared against; null when nothing served */
  championVersion: number | null;
  /** logged prediction rows in the window */
  samples: number;
  status: 'ok' | 'drift' | 'quality_drop' | 'insufficient_data';
  /** null when the window had too few samples to say */
  datasetDrift: boolean | null;
  driftedColumns: string[];
  /** share of feature columns that drifted */
  driftShare: number | null;
  predictionDrift: boolean | null;
  /** with feedback: whether the mix of true labels drifted from the training labels; null when too few labels */
  labelDrift?: boolean | null;
  quality?: { metric: string; online: number; evaluation: number; labelled: number; dropped: boolean };
  /** alert reasons raised by this window (also in the registry and sent to the webhook) */
  alerts: string[];
  /** set when a finding calls for a retraining under the spec's monitoring.retrainOn */
  retrain: { kind: 'drift' | 'prediction_drift' | 'label_drift' | 'quality_drop'; reason: string } | null;
}

/** Failure types of the monitoring activities (retryable unless said otherwise). */
export const MONITORING_FAILURES = {
  /** the webhook answered non-2xx or not at all: retried with backoff */
  webhookDeliveryFailed: 'WebhookDeliveryFailed',
  /** the secret's environment variable is not set on the worker: non-retryable, fix the deployment */
  webhookSecretMissing: 'WebhookSecretMissing',
  /** the model, its champion's artifacts or the alert are gone: non-retryable */
  notFound: 'MonitoringNotFound',
  /** an empty or inverted window: non-retryable */
  invalidWindow: 'InvalidMonitoringWindow',
} as const;

export const NON_RETRYABLE_MONITORING_FAILURES: string[] = [MONITORING_FAILURES.webhookSecretMissing, MONITORING_FAILURES.notFound, MONITORING_FAILURES.invalidWindow];

export function monitoringWorkflowId(modelName: string): string {
  return `monitor/${modelName}`;
}
