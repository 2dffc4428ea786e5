/** What the monitoring API returns, and the OpenAPI classes describing it. */
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Alert, MonitoringReport, WebhookDelivery } from '../../libs/registry';

export class FeedbackConflictView {
  @ApiProperty()
  requestId!: string;

  @ApiProperty({ description: 'the answer stored first, which stands', example: { label: 'seattle', value: null } })
  existing!: { label: string | null; value: number | null };
}

export class FeedbackResult {
  @ApiProperty({ description: 'labels stored now' })
  accepted!: number;

  @ApiProperty({ description: 'labels identical to one stored before: nothing changed' })
  duplicates!: number;

  @ApiProperty({ type: [FeedbackConflictView], description: 'requests that already had a different answer: the first one stands' })
  conflicts!: FeedbackConflictView[];
}

export class ReportLinks {
  @ApiProperty({ example: '/v1/models/penguins/monitoring/3f2b8c1e-7d4a-5b6f-9e0a-1c2d3e4f5a6b' })
  self!: string;

  @ApiProperty({ example: '/v1/models/penguins/monitoring/3f2b8c1e-7d4a-5b6f-9e0a-1c2d3e4f5a6b/html' })
  html!: string;
}

export class MonitoringReportSummaryView {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty({ description: 'ISO 8601' })
  windowStart!: string;

  @ApiProperty({ description: 'ISO 8601 (exclusive)' })
  windowEnd!: string;

  @ApiProperty({ nullable: true, type: Number })
  championVersion!: number | null;

  @ApiProperty({ description: 'logged prediction rows in the window' })
  samples!: number;

  @ApiProperty({ enum: ['ok', 'drift', 'quality_drop', 'insufficient_data'], description: 'insufficient_data is never "no drift": the window was not tested' })
  status!: string;

  @ApiProperty({ nullable: true, type: Boolean })
  datasetDrift!: boolean | null;

  @ApiProperty({ type: [String] })
  driftedColumns!: string[];

  @ApiProperty({ type: 'object', additionalProperties: true, description: 'the MonitoringSummary and headline numbers (error rate, p99 latency, online quality)' })
  summary!: Record<string, unknown>;

  @ApiProperty()
  createdAt!: string;

  @ApiProperty({ type: ReportLinks })
  links!: ReportLinks;
}

export class WebhookDeliveryView {
  @ApiProperty()
  url!: string;

  @ApiProperty()
  attempts!: number;

  @ApiProperty({ nullable: true, type: Number })
  lastStatus!: number | null;

  @ApiProperty({ nullable: true, type: String })
  lastError!: string | null;

  @ApiProperty({ nullable: true, type: String })
  lastAttemptAt!: string | null;

  @ApiProperty({ nullable: true, type: String })
  deliveredAt!: string | null;
}

export class AlertView {
  @ApiProperty()
  id!: string;

  @ApiProperty()
  model!: string;

  @ApiProperty()
  reportId!: string;

  @ApiProperty({ enum: ['drift', 'prediction_drift', 'quality_drop', 'data_quality'] })
  kind!: string;

  @ApiProperty()
  reason!: string;

  @ApiProperty()
  createdAt!: string;

  @ApiProperty({ type: [WebhookDeliveryView] })
  deliveries!: WebhookDeliveryView[];

  @ApiProperty({ example: '/v1/models/penguins/monitoring/3f2b8c1e-7d4a-5b6f-9e0a-1c2d3e4f5a6b' })
  report!: string;
}

export class MonitoringReportView extends MonitoringReportSummaryView {
  @ApiProperty({ type: [AlertView] })
  alerts!: AlertView[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, description: 'the full report artifact: verdict, drift per column with histograms, data quality, operations, online quality' })
  report!: Record<string, unknown>;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());

export function reportSummaryView(model: string, r: MonitoringReport): MonitoringReportSummaryView {
  const self = `/v1/models/${model}/monitoring/${r.id}`;
  return {
    id: r.id,
    model,
    windowStart: iso(r.windowStart)!,
    windowEnd: iso(r.windowEnd)!,
    championVersion: r.championVersion,
    samples: r.samples,
    status: r.status,
    datasetDrift: r.datasetDrift === null ? null : Boolean(r.datasetDrift),
    driftedColumns: r.driftedColumns,
    summary: r.summary,
    createdAt: iso(r.createdAt)!,
    links: { self, html: `${self}/html` },
  };
}

export function alertView(model: string, a: Alert, deliveries: WebhookDelivery[]): AlertView {
  return {
    id: a.id,
    model,
    reportId: a.reportId,
    kind: a.kind,
    reason: a.reason,
    createdAt: iso(a.createdAt)!,
    deliveries: deliveries
      .filter((d) => d.alertId === a.id)
      .map((d) => ({ url: d.url, attempts: d.attempts, lastStatus: d.lastStatus, lastError: d.lastError, lastAttemptAt: iso(d.lastAttemptAt), deliveredAt: iso(d.deliveredAt) })),
    report: `/v1/models/${model}/monitoring/${a.reportId}`,
  };
}
