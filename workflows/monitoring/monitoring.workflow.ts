/**
 * monitoringWorkflow: one per serving model (`monitor/<model>`), a child of the model's lifecycle. It closes one
 * window of the prediction logs after another (a durable timer per window: no polling), has an activity compare
 * the window with the champion's training data and store the report, delivers the window's alerts to the
 * webhook, and tells the lifecycle what it found; the lifecycle decides whether to retrain. It continues as new
 * every WINDOWS_PER_RUN windows, so an hourly monitor's history stays small for years.
 */
import { continueAsNew, getExternalWorkflowHandle, proxyActivities, sleep } from '@temporalio/workflow';
import { durationMs, monitoringReportSignal, NON_RETRYABLE_FAILURES, NON_RETRYABLE_MONITORING_FAILURES } from '../../libs/contracts';
import type { MonitoringInput, MonitoringSummary, MonitoringWindowInput } from '../../libs/contracts';

/** The activities this workflow calls (activities/monitoring implements them). */
export interface MonitoringActivities {
  computeMonitoringWindow(input: MonitoringWindowInput): Promise<MonitoringSummary & { alertIds?: string[] }>;
  deliverAlertWebhook(input: { alertId: string }): Promise<unknown>;
}

export const WINDOWS_PER_RUN = 48;

const compute = proxyActivities<MonitoringActivities>({
  // Reads a window of logs and the reference sample: minutes at most, retried while storage or the database is down.
  startToCloseTimeout: '30m',
  heartbeatTimeout: '2m',
  retry: {
    initialInterval: '5s',
    backoffCoefficient: 2,
    maximumInterval: '5m',
    maximumAttempts: 10,
    nonRetryableErrorTypes: [...NON_RETRYABLE_FAILURES, ...NON_RETRYABLE_MONITORING_FAILURES],
  },
});

const webhooks = proxyActivities<MonitoringActivities>({
  startToCloseTimeout: '30s',
  // A receiver that is down gets the alert later, with backoff; each attempt is recorded by the activity.
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '10m', maximumAttempts: 12, nonRetryableErrorTypes: NON_RETRYABLE_MONITORING_FAILURES },
});

export async function monitoringWorkflow(input: MonitoringInput): Promise<void> {
  const windowMs = durationMs(input.window);
  let start = input.nextWindowStart ? Date.parse(input.nextWindowStart) : new Date().getTime();
  let closed = input.windowsClosed ?? 0;
  const deliveries: Promise<void>[] = [];
  for (let i = 0; i < WINDOWS_PER_RUN; i++) {
    const end = start + windowMs;
    await sleep(Math.max(0, end - new Date().getTime()));
    const summary = await compute.computeMonitoringWindow({
      modelId: input.modelId,
      modelName: input.modelName,
      windowStart: new Date(start).toISOString(),
      windowEnd: new Date(end).toISOString(),
    });
    closed++;
    // Delivery runs beside the next windows: a receiver that is down must not hold monitoring up.
    for (const alertId of summary.alertIds ?? []) deliveries.push(webhooks.deliverAlertWebhook({ alertId }).then(() => undefined, () => undefined));
    const { alertIds: _alertIds, ...report } = summary;
    await getExternalWorkflowHandle(input.lifecycleWorkflowId)
      .signal(monitoringReportSignal, { summary: report })
      .catch(() => undefined); // a lifecycle that has ended has nobody to tell; the report is in the registry
    start = end;
  }
  await Promise.all(deliveries);
  await continueAsNew<typeof monitoringWorkflow>({ ...input, windowsClosed: closed, nextWindowStart: new Date(start).toISOString() });
}
